// Encrypted backup files. Format:
//
//   "MSBK1" | key id (16 ASCII hex chars) | secretstream header (24 bytes)
//   | chunk* where each chunk is up to 64 KiB of plaintext + 17 bytes of overhead
//
// Chunks use crypto_secretstream_xchacha20poly1305 and authenticate the magic and key id
// as additional data. The last chunk carries TAG_FINAL (an empty input still has one), so
// a truncated, reordered or altered stream is detected.
//
// The destination is written to a temporary file (mode 0600) and renamed only on complete
// success: a failure (full disk, bad input) leaves no partial file and never touches an
// existing destination.
//
// Threads: functions are independent; concurrent calls on distinct paths are safe.
#pragma once

#include <string>
#include <string_view>

#include "core/crypto/atomic_file.hpp"
#include "core/crypto/keyring.hpp"
#include "core/result.hpp"

namespace ms::crypto {

inline constexpr std::string_view kBackupMagic = "MSBK1";
inline constexpr std::size_t kBackupChunkSize = 64 * 1024;

// Encrypts src into dst with `key`.
// kNotFound/kUnavailable: src cannot be opened/read; kUnavailable: dst cannot be written
// (message carries the errno text, e.g. "No space left on device").
Result<void> encrypt_file(const std::string& src_path, const std::string& dst_path, const Key& key,
                          const AtomicFileOptions& options = {});

// Decrypts src into dst with the keyring key named in the header.
// kCorrupted: not a backup, key not in the keyring, truncated, or tampered.
// kNotFound/kUnavailable as for encrypt_file.
Result<void> decrypt_file(const std::string& src_path, const std::string& dst_path, const Keyring& keyring,
                          const AtomicFileOptions& options = {});

// The same format in memory, for small payloads and tests.
std::string encrypt_bytes(std::string_view plaintext, const Key& key);
Result<std::string> decrypt_bytes(std::string_view data, const Keyring& keyring);

}  // namespace ms::crypto
