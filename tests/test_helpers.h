#pragma once
// Small helpers shared by the unit tests.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <c10/util/Exception.h>
#include <gtest/gtest.h>

namespace vgrow::testing {

// The message of the c10::Error that f() throws; a test failure if it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  ADD_FAILURE() << "expected an error, none was thrown";
  return {};
}

// A whole file's bytes ("" when it cannot be read).
inline std::string file_contents(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace vgrow::testing
