#pragma once
// The CLI's end of the library's one warning path: the library warns with TORCH_WARN and
// the CLI prints each distinct message once on stderr as "vgrow: warning: ...".

namespace vgrow::cli {

void install_console_warnings();

}  // namespace vgrow::cli
