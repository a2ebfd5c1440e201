#pragma once
// A table of the names a config or command line gives an enum (divergences, training
// methods): lookup ignoring case, the name of a value, and the list for messages.

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vgrow {

template <class T>
struct Named {
  const char* name;
  T value;
};

template <class T, size_t N>
std::optional<T> find_named(const Named<T> (&table)[N], std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& entry : table) {
    if (lower == entry.name) return entry.value;
  }
  return std::nullopt;
}

template <class T, size_t N>
std::string name_of(const Named<T> (&table)[N], T value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

template <class T, size_t N>
std::vector<std::string> names_of(const Named<T> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& entry : table) out.emplace_back(entry.name);
  return out;
}

// "a, b, c", for "unknown X 'y' (known: a, b, c)".
template <class T, size_t N>
std::string known_names(const Named<T> (&table)[N]) {
  std::string out;
  for (const auto& entry : table) out += std::string(out.empty() ? "" : ", ") + entry.name;
  return out;
}

}  // namespace vgrow
