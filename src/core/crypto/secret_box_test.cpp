#include "core/crypto/secret_box.hpp"

#include <gtest/gtest.h>

#include "core/crypto/primitives.hpp"

namespace ms::crypto {
namespace {

TEST(SecretBox, RoundTripsAndLooksLikeAnEnvelope) {
  SecretBox box{Keyring(generate_key())};
  for (const std::string& plain :
       {std::string(), std::string("123456:ABC-bot-token"), std::string(5000, 'x'), std::string("bin\0ary", 7)}) {
    std::string env = box.encrypt(plain);
    EXPECT_EQ(env.rfind("ms1:" + box.keyring().primary_id() + ":", 0), 0u) << env;
    EXPECT_EQ(env.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=:"),
              std::string::npos);
    auto back = box.decrypt(env);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, plain);
  }
}

TEST(SecretBox, RandomNonceMakesEqualPlaintextsDiffer) {
  SecretBox box{Keyring(generate_key())};
  EXPECT_NE(box.encrypt("same"), box.encrypt("same"));
  EXPECT_EQ(box.encrypt("same").find("same"), std::string::npos);
}

TEST(SecretBox, WrongKeyIsRejectedWithAnExplanation) {
  SecretBox writer{Keyring(generate_key())};
  SecretBox reader{Keyring(generate_key())};
  auto r = reader.decrypt(writer.encrypt("panel password"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupted);
  EXPECT_NE(r.error().message.find("secret key does not match"), std::string::npos) << r.error().message;
}

TEST(SecretBox, TamperedCiphertextIsRejected) {
  SecretBox box{Keyring(generate_key())};
  std::string env = box.encrypt("a secret that matters");
  std::size_t header = std::string("ms1:").size() + 16 + 1;
  auto payload = base64_decode(env.substr(header)).value();
  for (std::size_t i : {std::size_t{0}, std::size_t{30}, payload.size() - 1}) {  // nonce, MAC, body
    std::string altered = payload;
    altered[i] ^= 0x01;
    auto r = box.decrypt(env.substr(0, header) + base64_encode(altered));
    ASSERT_FALSE(r) << "flip at " << i;
    EXPECT_EQ(r.error().code, ErrorCode::kCorrupted);
  }
  // Cutting bytes off the end is tampering too.
  auto r = box.decrypt(env.substr(0, header) + base64_encode(payload.substr(0, payload.size() - 1)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupted);
}

TEST(SecretBox, MalformedEnvelopesAreInvalidArgument) {
  SecretBox box{Keyring(generate_key())};
  std::string id = box.keyring().primary_id();
  for (const std::string& bad :
       {std::string(), std::string("plain text"), std::string("ms1:") + id, "ms2:" + id + ":AAAA",
        "ms1:" + id.substr(1) + ":AAAA", std::string("ms1:XYZXYZXYZXYZXYZX:AAAA"), "ms1:" + id + ":!!!!",
        "ms1:" + id + ":" + base64_encode("too short")}) {
    auto r = box.decrypt(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(SecretBox, RotationFlow) {
  Key old_key = generate_key();
  Keyring ring(old_key);
  std::string old_env = encrypt(ring, "bot token");

  // 1. A new primary: old data still opens but needs rotation.
  Key new_key = generate_key();
  ring.add_primary(new_key);
  SecretBox during(ring);
  EXPECT_TRUE(during.needs_rotation(old_env));
  EXPECT_EQ(during.decrypt(old_env).value(), "bot token");

  // 2. Re-encrypt with the primary.
  auto new_env = during.reencrypt(old_env);
  ASSERT_TRUE(new_env);
  EXPECT_FALSE(during.needs_rotation(*new_env));
  EXPECT_EQ(envelope_key_id(*new_env).value(), key_id(new_key));
  EXPECT_EQ(during.decrypt(*new_env).value(), "bot token");

  // 3. Remove the old key: re-encrypted data opens, old envelopes are refused.
  ASSERT_TRUE(ring.remove(key_id(old_key)));
  SecretBox after(ring);
  EXPECT_EQ(after.decrypt(*new_env).value(), "bot token");
  auto stale = after.decrypt(old_env);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kCorrupted);
  EXPECT_FALSE(after.reencrypt(old_env));
  EXPECT_TRUE(after.needs_rotation("not an envelope"));
}

TEST(KeyCheck, AcceptsSameKeyringAndRefusesAnother) {
  Keyring ring(generate_key());
  std::string check = make_key_check(ring);
  EXPECT_TRUE(verify_key_check(ring, check));

  // After rotation the old key is still in the ring, so the old check still passes.
  Keyring rotated = ring;
  rotated.add_primary(generate_key());
  EXPECT_TRUE(verify_key_check(rotated, check));

  auto wrong = verify_key_check(Keyring(generate_key()), check);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kCorrupted);
  EXPECT_NE(wrong.error().message.find("refusing to start"), std::string::npos);

  // An envelope of something else is not a key check.
  auto other = verify_key_check(ring, encrypt(ring, "not the marker"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(verify_key_check(ring, "garbage"));
}

}  // namespace
}  // namespace ms::crypto
