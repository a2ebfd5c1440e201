#pragma once
// The one way into toml++ (config files, best.toml): include it through this header only, so
// that every translation unit sees the same toml++.
//
// Debian 12's toml++ (3.3.0) misbehaves on some invalid or unusual input (found by
// fuzz/fuzz_config):
// - It asserts preconditions that its own parser breaks on input such as "[=]" or "a = [}]"
//   (marzer/tomlplusplus#301). The code after each assertion reports a proper parse_error,
//   which is what builds with NDEBUG give; TOML_ASSERT is defined away so that debug and
//   sanitizer builds give it too. (clang with NDEBUG turns those assertions into
//   __builtin_assume, undefined behaviour on such input: build releases with gcc.)
// - Asked whether certain non-ASCII characters are whitespace, it reaches
//   __builtin_unreachable(), i.e. undefined behaviour in every build: wherever one stands
//   outside a string or comment, and after a backslash in a """multi-line""" string
//   (marzer/tomlplusplus#190, #295). parse_toml therefore hands it only ASCII.

#include <filesystem>
#include <string>
#include <string_view>

#define TOML_ASSERT(expr) static_cast<void>(0)
#include <toml++/toml.h>

namespace vgrow {

// `text` with every non-ASCII character in a string written as a \u or \U escape (a 'literal'
// string holding one becomes the equivalent "basic" string) and dropped from comments. One
// anywhere else throws toml::parse_error, as it is an error in TOML.
std::string toml_ascii(std::string_view text, const std::string& origin);

// toml::parse of toml_ascii(text); `origin` names the source in errors.
toml::table parse_toml(std::string_view text, const std::string& origin);
// The same for a file's contents; a file that cannot be read is a c10::Error.
toml::table parse_toml_file(const std::filesystem::path& file);

}  // namespace vgrow
