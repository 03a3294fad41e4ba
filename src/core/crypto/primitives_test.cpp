#include "core/crypto/primitives.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ms::crypto {
namespace {

std::string repeat(char c, std::size_t n) { return std::string(n, c); }

struct HmacVector {
  std::string key;
  std::string data;
  std::string sha256;
  std::string sha512;
};

// RFC 4231 test cases 1, 2, 3, 6 and 7 (4 uses a counting key, 5 a truncated tag).
std::vector<HmacVector> rfc4231() {
  return {
      {repeat('\x0b', 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1"
       "702e696c203a126854"},
      {"Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b"
       "4b636e070a38bce737"},
      {repeat('\xaa', 20), repeat('\xdd', 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
       "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee894"
       "2674278859e13292fb"},
      {repeat('\xaa', 131), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0a"
       "ec8b915a985d786598"},
      {repeat('\xaa', 131),
       "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be "
       "hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
       "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de044"
       "6065c97440fa8c6a58"},
  };
}

TEST(Hmac, MatchesRfc4231Vectors) {
  for (const auto& v : rfc4231()) {
    EXPECT_EQ(hmac_sha256_hex(v.key, v.data), v.sha256) << v.data;
    EXPECT_EQ(hmac_sha512_hex(v.key, v.data), v.sha512) << v.data;
    EXPECT_EQ(hmac_sha256(v.key, v.data).size(), 32u);
    EXPECT_EQ(hmac_sha512(v.key, v.data).size(), 64u);
  }
}

TEST(Hmac, DifferentKeyGivesDifferentTag) {
  EXPECT_NE(hmac_sha256("key-a", "message"), hmac_sha256("key-b", "message"));
  EXPECT_NE(hmac_sha512("key", "message-a"), hmac_sha512("key", "message-b"));
}

TEST(Sha, KnownDigests) {
  // FIPS 180-2 "abc" examples.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      sha512_hex("abc"),
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643c"
      "e80e2a9ac94fa54ca49f");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Encoding, HexRoundTripAndRejectsBadInput) {
  std::string bytes("\x00\x01\xfe\xff", 4);
  EXPECT_EQ(to_hex(bytes), "0001feff");
  EXPECT_EQ(from_hex("0001FEff").value(), bytes);
  EXPECT_EQ(from_hex("abc").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(from_hex("zz").error().code, ErrorCode::kInvalidArgument);
}

TEST(Encoding, Base64BothVariants) {
  std::string bytes("\xfb\xff\x00hello", 8);
  std::string standard = base64_encode(bytes);
  std::string url = base64_encode(bytes, Base64Variant::kUrlSafeNoPadding);
  EXPECT_EQ(standard, "+/8AaGVsbG8=");
  EXPECT_EQ(url, "-_8AaGVsbG8");
  EXPECT_EQ(base64_decode(standard).value(), bytes);
  EXPECT_EQ(base64_decode(url, Base64Variant::kUrlSafeNoPadding).value(), bytes);
  EXPECT_FALSE(base64_decode("not base64!"));
  EXPECT_FALSE(base64_decode(url));  // '-' is not in the standard alphabet
}

TEST(RandomToken, UrlSafeUnpaddedAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string t = random_token(32);
    EXPECT_EQ(t.size(), 43u);  // ceil(32 * 4 / 3) without padding
    EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_EQ(base64_decode(t, Base64Variant::kUrlSafeNoPadding).value().size(), 32u);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(random_token(3).size(), 4u);
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equals("signature", "signature"));
  EXPECT_FALSE(constant_time_equals("signature", "signaturf"));
  EXPECT_FALSE(constant_time_equals("sig", "signature"));
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_FALSE(constant_time_equals("", "x"));
}

}  // namespace
}  // namespace ms::crypto
