#include "core/crypto/password.hpp"

#include <gtest/gtest.h>

namespace ms::crypto {
namespace {

const PasswordLimits kCheap = PasswordLimits::minimum();

TEST(Password, HashVerifiesOnlyTheRightPassword) {
  auto hash = hash_password("correct horse battery staple", kCheap);
  ASSERT_TRUE(hash) << hash.error().to_string();
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);
  EXPECT_TRUE(verify_password(*hash, "correct horse battery staple"));
  EXPECT_FALSE(verify_password(*hash, "correct horse battery stapl"));
  EXPECT_FALSE(verify_password(*hash, ""));
}

TEST(Password, SaltMakesEqualPasswordsHashDifferently) {
  auto a = hash_password("same", kCheap);
  auto b = hash_password("same", kCheap);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(verify_password(*a, "same"));
  EXPECT_TRUE(verify_password(*b, "same"));
}

TEST(Password, MalformedHashNeverVerifies) {
  EXPECT_FALSE(verify_password("", "x"));
  EXPECT_FALSE(verify_password("$argon2id$garbage", "x"));
  EXPECT_FALSE(verify_password(std::string(500, 'a'), "x"));
  EXPECT_TRUE(password_needs_rehash("$argon2id$garbage"));
}

TEST(Password, NeedsRehashWhenLimitsDiffer) {
  auto cheap = hash_password("pw", kCheap);
  ASSERT_TRUE(cheap);
  EXPECT_FALSE(password_needs_rehash(*cheap, kCheap));
  EXPECT_TRUE(password_needs_rehash(*cheap, PasswordLimits::interactive()));
}

TEST(Password, InteractiveDefaultRoundTrip) {
  // One real-cost hash (~150 ms) to prove the production defaults work.
  auto hash = hash_password("production password");
  ASSERT_TRUE(hash);
  EXPECT_TRUE(verify_password(*hash, "production password"));
  EXPECT_FALSE(password_needs_rehash(*hash));
  EXPECT_TRUE(password_needs_rehash(*hash, kCheap));
}

}  // namespace
}  // namespace ms::crypto
