#pragma once
// `vgrow eval` and `vgrow bench` end with one JSON line on stdout for scripts to read.

#include <iostream>

#include <nlohmann/json.hpp>

namespace vgrow::cli {

// Keys in insertion order; NaN and Inf print as null; bytes that are not UTF-8 (an odd file
// name) are replaced rather than thrown about.
inline void print_json_line(const nlohmann::ordered_json& line) {
  std::cout << line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
            << std::endl;
}

}  // namespace vgrow::cli
