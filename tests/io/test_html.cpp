// Pieces of the self-contained report page: escaping and embedding.
#include <gtest/gtest.h>

#include "vgrow/io/html.h"

namespace {

TEST(Html, EscapingLeavesNoMarkup) {
  EXPECT_EQ(vgrow::io::html_escape("<script>alert('x & \"y\"')</script>"),
            "&lt;script&gt;alert(&#39;x &amp; &quot;y&quot;&#39;)&lt;/script&gt;");
  EXPECT_EQ(vgrow::io::html_escape("runs/00003-fashion-mnist-kl"), "runs/00003-fashion-mnist-kl");
}

TEST(Html, Base64MatchesRfc4648) {
  // RFC 4648, section 10.
  const char* vectors[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                              {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                              {"foobar", "Zm9vYmFy"}};
  for (const auto& v : vectors) EXPECT_EQ(vgrow::io::base64(v[0]), v[1]) << v[0];
  // Bytes above 127 are bytes, not signed chars.
  EXPECT_EQ(vgrow::io::base64(std::string("\xff\xfe\x00\x80", 4)), "//4AgA==");
  EXPECT_EQ(vgrow::io::data_uri("image/png", "foo"), "data:image/png;base64,Zm9v");
}

}  // namespace
