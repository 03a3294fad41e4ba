#include "core/crypto/keyring.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include "core/crypto/primitives.hpp"
#include "core/crypto/test_temp_dir.hpp"

namespace ms::crypto {
namespace {

mode_t file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

Key key_of(char fill) {
  Key k;
  k.fill(static_cast<std::uint8_t>(fill));
  return k;
}

TEST(KeyId, IsFirstEightBytesOfBlake2bAsHex) {
  Key key = key_of('\x01');
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, key.data(), key.size(), nullptr, 0);
  std::string expected = to_hex(std::string_view(reinterpret_cast<char*>(digest), 8));
  EXPECT_EQ(key_id(key), expected);
  EXPECT_EQ(key_id(key).size(), 16u);
  EXPECT_NE(key_id(key), key_id(key_of('\x02')));
}

TEST(KeyCodec, RoundTripsAndRejectsWrongLength) {
  Key key = generate_key();
  std::string text = encode_key(key);
  EXPECT_EQ(text.size(), 44u);
  EXPECT_EQ(decode_key(text).value(), key);
  EXPECT_EQ(decode_key("  " + text + "\n").value(), key);
  // URL-safe alphabet without padding is accepted too.
  std::string url = base64_encode(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()),
                                  Base64Variant::kUrlSafeNoPadding);
  EXPECT_EQ(decode_key(url).value(), key);

  auto short_key = decode_key(base64_encode("sixteen bytes!!!"));
  ASSERT_FALSE(short_key);
  EXPECT_EQ(short_key.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(short_key.error().message.find("32 bytes"), std::string::npos);
  EXPECT_FALSE(decode_key("%%%not-base64%%%"));
  EXPECT_NE(generate_key(), generate_key());
}

TEST(Keyring, FromBase64EnvValue) {
  Key key = generate_key();
  auto ring = Keyring::from_base64(encode_key(key));
  ASSERT_TRUE(ring);
  EXPECT_EQ(ring->size(), 1u);
  EXPECT_EQ(ring->primary_key(), key);
  EXPECT_EQ(ring->primary_id(), key_id(key));

  auto bad = Keyring::from_base64("c2hvcnQ=");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message.find("c2hvcnQ"), std::string::npos) << "error must not echo the key";
}

TEST(Keyring, ParsesFileTextWithCommentsPrimaryFirst) {
  Key a = generate_key(), b = generate_key();
  std::string text = "# keys\n\n" + encode_key(a) + "\n  # old key below\n" + encode_key(b) + "\r\n";
  auto ring = Keyring::parse(text);
  ASSERT_TRUE(ring) << ring.error().to_string();
  EXPECT_EQ(ring->key_ids(), (std::vector<std::string>{key_id(a), key_id(b)}));
  EXPECT_EQ(ring->primary_id(), key_id(a));
  ASSERT_NE(ring->find(key_id(b)), nullptr);
  EXPECT_EQ(*ring->find(key_id(b)), b);
  EXPECT_EQ(ring->find("0000000000000000"), nullptr);

  auto again = Keyring::parse(ring->serialize());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->key_ids(), ring->key_ids());
}

TEST(Keyring, ParseErrorsNameTheLine) {
  auto bad = Keyring::parse("# header\n" + encode_key(generate_key()) + "\nnot a key\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kCorrupted);
  EXPECT_NE(bad.error().message.find("line 3"), std::string::npos) << bad.error().message;

  auto empty = Keyring::parse("# only comments\n\n");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kCorrupted);
}

TEST(Keyring, AddPrimaryAndRemove) {
  Key old_key = generate_key(), new_key = generate_key();
  Keyring ring(old_key);
  ring.add_primary(new_key);
  EXPECT_EQ(ring.primary_id(), key_id(new_key));
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_TRUE(ring.contains(key_id(old_key)));

  // Re-adding an existing key promotes it rather than duplicating it.
  ring.add_primary(old_key);
  EXPECT_EQ(ring.primary_id(), key_id(old_key));
  EXPECT_EQ(ring.size(), 2u);
  ring.add_primary(new_key);

  auto remove_primary = ring.remove(key_id(new_key));
  ASSERT_FALSE(remove_primary);
  EXPECT_EQ(remove_primary.error().code, ErrorCode::kConflict);
  auto remove_missing = ring.remove("ffffffffffffffff");
  ASSERT_FALSE(remove_missing);
  EXPECT_EQ(remove_missing.error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(ring.remove(key_id(old_key)));
  EXPECT_EQ(ring.size(), 1u);
  EXPECT_FALSE(ring.contains(key_id(old_key)));
}

TEST(KeyFile, CreatesWithMode0600AndLoadsTheSameKeyAgain) {
  TestTempDir dir;
  std::string path = dir.file("secret.key");
  ::umask(022);  // a typical umask must not widen the file
  auto created = load_or_create_key_file(path);
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_EQ(file_mode(path), 0600);
  EXPECT_EQ(dir.entry_count(), 1u) << "no temporary file left behind";

  auto loaded = load_or_create_key_file(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->primary_id(), created->primary_id());
  EXPECT_EQ(loaded->primary_key(), created->primary_key());
}

TEST(KeyFile, RefusesGroupOrOtherReadableFile) {
  TestTempDir dir;
  std::string path = dir.file("secret.key");
  ASSERT_TRUE(save_key_file(path, Keyring(generate_key())));
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  auto r = load_or_create_key_file(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find(path), std::string::npos);
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos);

  ASSERT_EQ(::chmod(path.c_str(), 0604), 0);
  EXPECT_FALSE(load_key_file(path));
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(load_key_file(path));
}

TEST(KeyFile, MalformedFileIsReportedAndNeverOverwritten) {
  TestTempDir dir;
  std::string path = dir.file("secret.key");
  const std::string kGarbage = "this is not a key\n";
  write_test_file(path, kGarbage);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto r = load_or_create_key_file(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupted);
  EXPECT_NE(r.error().message.find(path), std::string::npos);
  EXPECT_EQ(read_test_file(path), kGarbage);
}

TEST(KeyFile, SaveReplacesAtomicallyWithMode0600) {
  TestTempDir dir;
  std::string path = dir.file("secret.key");
  Keyring ring(generate_key());
  ASSERT_TRUE(save_key_file(path, ring));
  ring.add_primary(generate_key());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);  // the replacement must not inherit this
  ASSERT_TRUE(save_key_file(path, ring));
  EXPECT_EQ(file_mode(path), 0600);
  EXPECT_EQ(dir.entry_count(), 1u);
  auto loaded = load_key_file(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->key_ids(), ring.key_ids());
}

TEST(KeyFile, MissingFileAndMissingDirectory) {
  TestTempDir dir;
  auto missing = load_key_file(dir.file("absent.key"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  auto no_dir = save_key_file(dir.file("no/such/dir/secret.key"), Keyring(generate_key()));
  ASSERT_FALSE(no_dir);
  EXPECT_EQ(no_dir.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace ms::crypto
