// parse_toml: toml++ 3.3.0 gets only ASCII, invalid TOML is a parse error and never an abort
// or undefined behaviour, and a config means what it meant.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "vgrow/run/config.h"
#include "run/toml_parse.h"

namespace {

using ::testing::HasSubstr;
using vgrow::toml_ascii;

// "line: description" of the parse error.
std::string error_of(const std::string& text) {
  try {
    vgrow::parse_toml(text, "t.toml");
  } catch (const toml::parse_error& e) {
    return std::to_string(e.source().begin.line) + ": " + std::string(e.description());
  }
  ADD_FAILURE() << "expected an error for: " << text;
  return {};
}

bool is_ascii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// The string value of key `s`.
std::string value_of(const std::string& text) {
  EXPECT_TRUE(is_ascii(toml_ascii(text, "t.toml"))) << toml_ascii(text, "t.toml");
  return vgrow::parse_toml(text, "t.toml")["s"].value<std::string>().value_or("<none>");
}

TEST(TomlParse, AsciiTextIsUnchanged) {
  const std::string text = "# a\n[run]\nname = 'x\\y' # z\nloops = 3\n[eval]\nmetrics = [\"fid\"]\n";
  EXPECT_EQ(toml_ascii(text, "t.toml"), text);
}

TEST(TomlParse, EveryKindOfStringKeepsItsValue) {
  EXPECT_EQ(value_of("s = \"/home/j\xC3\xBCrgen\""), "/home/j\xC3\xBCrgen");
  EXPECT_EQ(value_of("s = '/d\\\"\xE2\x82\xAC'"), "/d\\\"\xE2\x82\xAC");  // literal: \ and " kept
  EXPECT_EQ(value_of("s = \"\"\"\na\"\"\xF0\x9F\x98\x80\n\"\"\"\""), "a\"\"\xF0\x9F\x98\x80\n\"");
  EXPECT_EQ(value_of("s = '''\n'q' \\ \xC3\xA9'''''"), "'q' \\ \xC3\xA9''");
  EXPECT_EQ(value_of("\"\xC3\xBC\" = 1\ns = \"\\\\\xC3\xBC\""), "\\\xC3\xBC");
}

TEST(TomlParse, LineEndingBackslashBeforeNonAscii) {
  EXPECT_EQ(value_of("s = \"\"\"a\\\n   \xC2\xA7\"\"\""), "a\xC2\xA7");
}

TEST(TomlParse, CommentsLoseTheirNonAsciiCharacters) {
  EXPECT_EQ(toml_ascii("\xEF\xBB\xBF# na\xC3\xAFve\na = 1 # \xC3\xBC\n", "t.toml"),
            "# nave\na = 1 # \n");
}

TEST(TomlParse, NonAsciiElsewhereIsAnErrorNamingTheLine) {
  EXPECT_EQ(error_of("a = 1\n\xC3\xBC = 2\n"),
            "2: non-ASCII character outside a string or comment (TOML allows them only there)");
  EXPECT_THAT(error_of("a = b\xC3\xBC\n"), HasSubstr("outside a string"));
  EXPECT_FALSE(error_of("a = [b'\xC3\xBC']\n").empty());  // a quote inside a bare word
  EXPECT_THAT(error_of("s = \"\\\xC3\xBC\"\n"), HasSubstr("after a backslash"));
  EXPECT_THAT(error_of("s = \"\xC3\"\n"), HasSubstr("not valid UTF-8"));
  EXPECT_THAT(error_of("s = \"\xED\xA0\x80\"\n"), HasSubstr("not valid UTF-8"));  // a surrogate
  EXPECT_THAT(error_of("s = \"\xC3\xBC\n"), HasSubstr("unterminated"));
}

// Preconditions toml++ asserts but its parser breaks on invalid input: an error, no abort.
TEST(TomlParse, InputThatBrokeTomlppAssertionsIsAParseError) {
  for (const std::string text :
       {"[=]\n", "a = 1\n  [ # ]\n", "[[.a]]\n", "[\n", "a = [}]\n", "a = [1,}2]\n"}) {
    EXPECT_FALSE(error_of(text).empty()) << text;
  }
}

TEST(TomlParse, ConfigsAndOverridesTakeNonAsciiPaths) {
  vgrow::Config c;
  vgrow::apply_toml(c, "[data]\npath = '/data/caf\xC3\xA9'\n", "t.toml");
  EXPECT_EQ(c.data.path, "/data/caf\xC3\xA9");
  vgrow::apply_override(c, "data.path=/data/\xC3\xBC");
  EXPECT_EQ(c.data.path, "/data/\xC3\xBC");
  vgrow::apply_override(c, "run.name=\"r\xC3\xA9sum\xC3\xA9\"");
  EXPECT_EQ(c.run.name, "r\xC3\xA9sum\xC3\xA9");
}

}  // namespace
