#include "core/crypto/secret.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace ms::crypto {
namespace {

TEST(Secret, NeverPrintsItsValue) {
  Secret s(std::string("hunter2-very-secret"));
  std::ostringstream os;
  os << "token=" << s;
  EXPECT_EQ(os.str(), "token=[redacted]");
  EXPECT_EQ(fmt::format("token={}", s), "token=[redacted]");
  EXPECT_EQ(fmt::format("[{:>12}]", s), "[  [redacted]]");  // format specs still apply
  EXPECT_EQ(to_string(s), "[redacted]");
  EXPECT_EQ(s.reveal(), "hunter2-very-secret");
}

TEST(Secret, CopyMoveAndCompare) {
  Secret a(std::string("abc"));
  Secret b = a;
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == Secret(std::string("abd")));
  Secret c = std::move(b);
  EXPECT_EQ(c.reveal(), "abc");
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is wiped on purpose
  Secret d;
  EXPECT_TRUE(d.empty());
  d = c;
  EXPECT_EQ(d.reveal(), "abc");
  d = Secret(std::string("xyz"));
  EXPECT_EQ(d.reveal(), "xyz");
}

TEST(Redact, MasksEveryKnownSecret) {
  std::vector<std::string> secrets = {"s3cr3t", "tok", ""};
  EXPECT_EQ(redact("a s3cr3t and tok and s3cr3ts3cr3t", secrets),
            "a [redacted] and [redacted] and [redacted][redacted]");
  EXPECT_EQ(redact("nothing here", secrets), "nothing here");
  EXPECT_EQ(redact("", secrets), "");
  EXPECT_EQ(redact("tok", {}), "tok");
}

TEST(Redact, LongestSecretWinsWhenTheyOverlap) {
  std::vector<std::string> secrets = {"abc", "abcdef"};
  EXPECT_EQ(redact("xabcdefx abcx", secrets), "x[redacted]x [redacted]x");
}

TEST(MaskBotToken, KeepsOnlyTheBotId) {
  EXPECT_EQ(mask_bot_token("123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"), "123456:***");
  EXPECT_EQ(mask_bot_token("nocolon"), "***");
  EXPECT_EQ(mask_bot_token(""), "***");
}

}  // namespace
}  // namespace ms::crypto
