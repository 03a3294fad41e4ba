// Keyring: the secret keys that encrypt data at rest. Each key is 32 random bytes for
// libsodium's secretbox; its id is derived from the key (the first 8 bytes of
// BLAKE2b(key) as 16 hex chars), so an id can never disagree with its key. One key is
// primary: new data is encrypted with it; the others only decrypt older data until it has
// been re-encrypted (rotation: add_primary(new), reencrypt everything, remove(old)).
//
// Key file format (text): one base64 key per line, the first key is primary; blank lines
// and lines starting with '#' are ignored. The file must be mode 0600.
//
// Threads: a Keyring is a value. Const methods may run concurrently; mutation needs the
// caller's synchronisation (in practice a keyring is built at start-up and then shared
// read-only). Key bytes are wiped from memory when a Keyring is destroyed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace ms::crypto {

inline constexpr std::size_t kKeySize = 32;
using Key = std::array<std::uint8_t, kKeySize>;

// A fresh random key.
Key generate_key();
// The derived id: 16 lower-case hex chars.
std::string key_id(const Key& key);
// Standard base64 with padding (44 chars).
std::string encode_key(const Key& key);
// Accepts standard or URL-safe base64, with or without padding, surrounding whitespace
// ignored. Fails with kInvalidArgument when the text is not base64 of exactly 32 bytes.
Result<Key> decode_key(std::string_view text);

class Keyring {
 public:
  explicit Keyring(const Key& primary);
  Keyring(const Keyring& other) = default;
  Keyring& operator=(const Keyring& other) = default;
  Keyring(Keyring&&) noexcept = default;
  Keyring& operator=(Keyring&&) noexcept = default;
  ~Keyring();

  // A keyring holding the single key in `base64_key` (the MOTHERSHIP_SECRET_KEY value).
  // Fails with kInvalidArgument; the message never contains the key text.
  static Result<Keyring> from_base64(std::string_view base64_key);
  // Parses key file contents. Fails with kCorrupted naming the bad line, or when no key.
  static Result<Keyring> parse(std::string_view text);
  // Key file contents: a comment line, then the primary key, then the others.
  std::string serialize() const;

  // Makes `key` primary. A key already present moves to the front instead of repeating.
  void add_primary(const Key& key);
  // Removes a non-primary key. kNotFound if absent; kConflict for the primary key.
  Result<void> remove(std::string_view key_id);

  const std::string& primary_id() const { return entries_.front().id; }
  const Key& primary_key() const { return entries_.front().key; }
  // The key with this id, or nullptr.
  const Key* find(std::string_view key_id) const;
  bool contains(std::string_view key_id) const { return find(key_id) != nullptr; }
  // Primary first.
  std::vector<std::string> key_ids() const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string id;
    Key key;
  };
  std::vector<Entry> entries_;  // never empty; entries_[0] is primary
};

// Reads a key file. Fails with kNotFound when absent, kPermissionDenied when group or
// other users have any access to it (the message names the path and `chmod 600`),
// kCorrupted when malformed, kUnavailable on read errors.
Result<Keyring> load_key_file(const std::string& path);

// Loads the key file, or when it does not exist creates it with one new key, mode 0600,
// atomically (never visible half-written or with a wider mode). An existing file is never
// overwritten, also not when it is malformed. Errors as for load_key_file.
Result<Keyring> load_or_create_key_file(const std::string& path);

// Writes the keyring atomically with mode 0600, replacing any existing file.
// Fails with kUnavailable (errno text).
Result<void> save_key_file(const std::string& path, const Keyring& keyring);

}  // namespace ms::crypto
