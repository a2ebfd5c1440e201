#include "run/toml_parse.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <c10/util/Exception.h>

namespace vgrow {
namespace {

bool is_ascii(char c) { return static_cast<unsigned char>(c) < 0x80; }

// Knows of TOML only strings and comments: enough to put each non-ASCII character in its
// place. Where it errs on broken TOML the output is still ASCII, and toml++ reports the error.
class Escaper {
 public:
  Escaper(std::string_view text, const std::string& origin) : in_(text), origin_(origin) {
    if (in_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;  // a UTF-8 byte-order mark
  }

  std::string run() {
    while (i_ < in_.size()) {
      const char c = in_[i_];
      if (c == '#') {
        comment();
      } else if (c == '"' || c == '\'') {
        string(c);
      } else {
        if (!is_ascii(c)) fail("outside a string or comment (TOML allows them only there)");
        copy();
      }
    }
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    const std::string description = std::string("non-ASCII character ") + what;
    throw toml::parse_error(description.c_str(),
                            toml::source_position{static_cast<toml::source_index>(line_), 1},
                            std::make_shared<const std::string>(origin_));
  }

  void copy() {
    if (in_[i_] == '\n') ++line_;
    out_ += in_[i_++];
  }
  size_t run_of(char quote) const {
    size_t n = 0;
    while (i_ + n < in_.size() && in_[i_ + n] == quote) ++n;
    return n;
  }

  // The UTF-8 sequence at i_ as \uXXXX or \UXXXXXXXX onto `out`.
  void escape_code_point(std::string& out) {
    const auto lead = static_cast<unsigned char>(in_[i_]);
    const size_t n = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (n == 0 || lead > 0xF4 || i_ + n > in_.size()) fail("that is not valid UTF-8");
    uint32_t cp = lead & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto next = static_cast<unsigned char>(in_[i_ + k]);
      if ((next & 0xC0) != 0x80) fail("that is not valid UTF-8");
      cp = cp << 6 | (next & 0x3F);
    }
    const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      fail("that is not valid UTF-8");
    }
    char buf[16];
    std::snprintf(buf, sizeof(buf), cp > 0xFFFF ? "\\U%08X" : "\\u%04X", cp);
    out += buf;
    i_ += n;
  }

  void comment() {
    while (i_ < in_.size() && in_[i_] != '\n') {
      if (is_ascii(in_[i_])) {
        copy();
      } else {
        ++i_;
      }
    }
  }

  // At the opening quote(s); leaves i_ after the closing ones.
  void string(char quote) {
    const size_t opening = run_of(quote);
    if (opening == 2) {  // an empty string
      out_.append(2, quote);
      i_ += 2;
      return;
    }
    const bool multi_line = opening >= 3;
    const size_t start = i_;
    const std::string delimiter(multi_line ? 3 : 1, quote);
    i_ += delimiter.size();
    std::string body;  // the content, as a "basic" string's content
    bool converted = false;
    while (i_ < in_.size()) {
      const char c = in_[i_];
      if (c == quote) {
        const size_t n = run_of(quote);
        if (!multi_line || n >= 3) {  // a """ string ends at the last quote of 3 to 5
          const size_t content_quotes = multi_line ? n - 3 : 0;
          for (size_t k = 0; k < content_quotes; ++k) body += quote == '"' ? "\\\"" : "'";
          i_ += content_quotes + delimiter.size();
          emit(multi_line, start, body, converted);
          return;
        }
        for (size_t k = 0; k < n; ++k) body += quote == '"' ? "\\\"" : "'";
        i_ += n;
      } else if (!is_ascii(c)) {
        escape_code_point(body);
        converted = true;
      } else if (c == '\n' && !multi_line) {
        break;  // unterminated: toml++ says so
      } else if (quote == '\'' && (c == '\\' || c == '"')) {
        body += '\\';
        body += c;
        ++i_;
      } else if (c == '\\') {
        body += c;
        ++i_;
        if (i_ < in_.size() && !is_ascii(in_[i_])) fail("after a backslash");
        if (i_ < in_.size() && (multi_line || in_[i_] != '\n')) {
          if (in_[i_] == '\n') ++line_;
          body += in_[i_++];
        }
      } else {
        if (c == '\n') ++line_;
        body += c;
        ++i_;
      }
    }
    // Unterminated: as it stood, unless it must be escaped.
    if (converted) fail("in an unterminated string");
    out_.append(in_.substr(start, i_ - start));
  }

  // A string without non-ASCII characters is copied as it stood; one with them is written as
  // a "basic" string of the same kind (one line or multi-line) holding `body`.
  void emit(bool multi_line, size_t start, const std::string& body, bool converted) {
    if (!converted) {
      out_.append(in_.substr(start, i_ - start));
      return;
    }
    const std::string delimiter(multi_line ? 3 : 1, '"');
    out_ += delimiter + body + delimiter;
  }

  std::string_view in_;
  const std::string& origin_;
  std::string out_;
  size_t i_ = 0;
  int line_ = 1;
};

}  // namespace

std::string toml_ascii(std::string_view text, const std::string& origin) {
  return Escaper(text, origin).run();
}

toml::table parse_toml(std::string_view text, const std::string& origin) {
  return toml::parse(toml_ascii(text, origin), origin);
}

toml::table parse_toml_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  TORCH_CHECK(in.is_open(), "cannot open '", file.string(), "'");
  std::stringstream text;
  text << in.rdbuf();
  TORCH_CHECK(!in.bad(), "cannot read '", file.string(), "'");
  return parse_toml(text.str(), file.string());
}

}  // namespace vgrow
