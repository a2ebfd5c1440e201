#pragma once
// Pieces of self-contained HTML pages (vgrow report): text made safe to place in a page, and
// files embedded as data: URIs so that the page needs nothing beside it.

#include <string>
#include <string_view>

namespace vgrow::io {

// `text` with & < > " ' replaced by entities: safe as element text and inside quoted
// attribute values, so no string from a config or a file name can become markup.
std::string html_escape(std::string_view text);
// RFC 4648 base64 with padding.
std::string base64(std::string_view bytes);
// "data:<mime>;base64,<bytes in base64>".
std::string data_uri(std::string_view mime, std::string_view bytes);

}  // namespace vgrow::io
