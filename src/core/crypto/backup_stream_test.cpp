#include "core/crypto/backup_stream.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/crypto/primitives.hpp"
#include "core/crypto/test_temp_dir.hpp"

namespace ms::crypto {
namespace {

constexpr std::size_t kHeader = 5 + 16 + 24;
constexpr std::size_t kCipherChunk = kBackupChunkSize + 17;

class BackupStreamTest : public ::testing::Test {
 protected:
  Key key_ = generate_key();
  Keyring ring_{key_};
  TestTempDir dir_;
};

TEST_F(BackupStreamTest, FileRoundTripAtChunkBoundaries) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, kBackupChunkSize - 1, kBackupChunkSize, kBackupChunkSize + 1,
                           3 * kBackupChunkSize + 4321}) {
    std::string plain = random_bytes(size);
    write_test_file(dir_.file("db.sqlite"), plain);
    ASSERT_TRUE(encrypt_file(dir_.file("db.sqlite"), dir_.file("db.msbk"), key_)) << size;
    std::string enc = read_test_file(dir_.file("db.msbk"));
    EXPECT_EQ(enc.substr(0, 5), "MSBK1");
    EXPECT_EQ(enc.substr(5, 16), key_id(key_));
    // Full chunks, then a final chunk that may be empty.
    EXPECT_EQ(enc.size(), kHeader + (size / kBackupChunkSize + 1) * 17 + size) << size;

    auto restored = decrypt_file(dir_.file("db.msbk"), dir_.file("restored"), ring_);
    ASSERT_TRUE(restored) << size << ": " << restored.error().to_string();
    EXPECT_EQ(read_test_file(dir_.file("restored")), plain) << size;
  }
}

TEST_F(BackupStreamTest, OutputHasMode0600AndNoTemporaryFilesRemain) {
  write_test_file(dir_.file("src"), "payload");
  ::umask(022);
  ASSERT_TRUE(encrypt_file(dir_.file("src"), dir_.file("out"), key_));
  struct stat st {};
  ASSERT_EQ(::stat(dir_.file("out").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(dir_.entry_count(), 2u);
}

TEST_F(BackupStreamTest, BytesRoundTripAndKeyringChoosesKeyById) {
  std::string plain = random_bytes(100'000);
  std::string enc = encrypt_bytes(plain, key_);
  Keyring rotated = ring_;
  rotated.add_primary(generate_key());  // the old key is no longer primary but still opens it
  EXPECT_EQ(decrypt_bytes(enc, rotated).value(), plain);
  EXPECT_EQ(decrypt_bytes(encrypt_bytes("", key_), ring_).value(), "");
}

TEST_F(BackupStreamTest, WrongKeyIsRejected) {
  std::string enc = encrypt_bytes("backup", key_);
  auto r = decrypt_bytes(enc, Keyring(generate_key()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupted);
  EXPECT_NE(r.error().message.find("secret key does not match"), std::string::npos);
}

TEST_F(BackupStreamTest, TruncationIsDetectedEverywhere) {
  std::string plain = random_bytes(2 * kBackupChunkSize);  // exact multiple: final chunk is empty
  std::string enc = encrypt_bytes(plain, key_);
  ASSERT_EQ(enc.size(), kHeader + 2 * kCipherChunk + 17);
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, kHeader - 1, kHeader, kHeader + 10, kHeader + kCipherChunk,
                          kHeader + 2 * kCipherChunk, enc.size() - 1}) {
    auto r = decrypt_bytes(enc.substr(0, cut), ring_);
    ASSERT_FALSE(r) << "cut at " << cut;
    EXPECT_EQ(r.error().code, ErrorCode::kCorrupted) << "cut at " << cut;
  }
}

TEST_F(BackupStreamTest, TamperingAndTrailingDataAreDetected) {
  std::string enc = encrypt_bytes(random_bytes(kBackupChunkSize + 500), key_);
  for (std::size_t pos :
       {std::size_t{2}, std::size_t{21 + 3}, kHeader + 5, kHeader + kCipherChunk + 7, enc.size() - 1}) {
    std::string altered = enc;
    altered[pos] ^= 0x40;
    auto r = decrypt_bytes(altered, ring_);
    ASSERT_FALSE(r) << "flip at " << pos;
    EXPECT_EQ(r.error().code, ErrorCode::kCorrupted);
  }
  // Swapping the two chunks breaks the stream order.
  std::string swapped = enc.substr(0, kHeader) + enc.substr(kHeader + kCipherChunk) + enc.substr(kHeader, kCipherChunk);
  EXPECT_FALSE(decrypt_bytes(swapped, ring_));

  auto trailing = decrypt_bytes(enc + "x", ring_);
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().code, ErrorCode::kCorrupted);
}

TEST_F(BackupStreamTest, FailedDecryptLeavesExistingDestinationUntouched) {
  std::string enc = encrypt_bytes(random_bytes(3 * kBackupChunkSize), key_);
  enc.resize(enc.size() - 100);  // the first chunks are valid and get written before the failure
  write_test_file(dir_.file("broken.msbk"), enc);
  write_test_file(dir_.file("dst"), "previous good restore");
  auto r = decrypt_file(dir_.file("broken.msbk"), dir_.file("dst"), ring_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupted);
  EXPECT_EQ(read_test_file(dir_.file("dst")), "previous good restore");
  EXPECT_EQ(dir_.entry_count(), 2u) << "temporary file removed";
}

TEST_F(BackupStreamTest, FullDiskIsUnavailableAndLeavesOldBackupInPlace) {
  write_test_file(dir_.file("db"), random_bytes(10'000));
  write_test_file(dir_.file("db.msbk"), "yesterday's backup");
  AtomicFileOptions full_disk;
  full_disk.temp_path_override = "/dev/full";  // every write fails with ENOSPC
  auto r = encrypt_file(dir_.file("db"), dir_.file("db.msbk"), key_, full_disk);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("No space left on device"), std::string::npos) << r.error().message;
  EXPECT_EQ(read_test_file(dir_.file("db.msbk")), "yesterday's backup");
  struct stat st {};
  ASSERT_EQ(::stat("/dev/full", &st), 0) << "the writer must never remove a path it did not create";
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(BackupStreamTest, MissingSourceAndNonBackupInput) {
  auto missing = encrypt_file(dir_.file("absent"), dir_.file("out"), key_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(dir_.entry_count(), 0u);

  write_test_file(dir_.file("plain.txt"), "just a text file that is long enough to have a header's size");
  auto not_backup = decrypt_file(dir_.file("plain.txt"), dir_.file("out"), ring_);
  ASSERT_FALSE(not_backup);
  EXPECT_EQ(not_backup.error().code, ErrorCode::kCorrupted);
  EXPECT_NE(not_backup.error().message.find("MSBK1"), std::string::npos);
}

}  // namespace
}  // namespace ms::crypto
