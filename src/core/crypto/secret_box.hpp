// SecretBox: encrypts short secrets (bot tokens, panel passwords, API keys) for storage
// in a TEXT column. An envelope is printable ASCII:
//
//   ms1:<key id>:<base64(nonce || secretbox ciphertext)>
//
// XSalsa20-Poly1305 (crypto_secretbox_easy) with a random 24-byte nonce per message, so
// equal plaintexts give different envelopes. The key id says which keyring key opens it;
// rotation is: keyring.add_primary(new) -> reencrypt() every envelope for which
// needs_rotation() is true -> keyring.remove(old).
//
// Threads: a SecretBox holds its own copy of the keyring and never changes it, so all
// methods may run concurrently. To rotate, build a new SecretBox.
#pragma once

#include <string>
#include <string_view>

#include "core/crypto/keyring.hpp"
#include "core/result.hpp"

namespace ms::crypto {

inline constexpr std::string_view kEnvelopePrefix = "ms1";

class SecretBox {
 public:
  explicit SecretBox(Keyring keyring) : keyring_(std::move(keyring)) {}

  // Always succeeds; encrypts with the primary key.
  std::string encrypt(std::string_view plaintext) const;
  // kInvalidArgument: not an ms1 envelope (bad shape, bad base64, too short).
  // kCorrupted: the key id is not in the keyring (the secret key does not match the one
  // the data was encrypted with), or the ciphertext was altered.
  Result<std::string> decrypt(std::string_view envelope) const;
  // True when the envelope is not encrypted with the primary key (including values that
  // are not envelopes at all, which reencrypt() will then refuse).
  bool needs_rotation(std::string_view envelope) const;
  // Decrypts and encrypts again with the primary key. Errors as for decrypt().
  Result<std::string> reencrypt(std::string_view envelope) const;

  const Keyring& keyring() const { return keyring_; }

 private:
  Keyring keyring_;
};

// Free-function forms for callers that hold a Keyring.
std::string encrypt(const Keyring& keyring, std::string_view plaintext);
Result<std::string> decrypt(const Keyring& keyring, std::string_view envelope);

// The key id named by an envelope, or kInvalidArgument when it is not an envelope.
Result<std::string> envelope_key_id(std::string_view envelope);

// Key check: at first start the application stores make_key_check(keyring); at every
// later start verify_key_check() tells whether the configured keyring can open data
// written before, so a wrong key is refused before anything is overwritten.
std::string make_key_check(const Keyring& keyring);
// Success when the keyring opens `envelope` and it holds the marker. Otherwise an error
// (kCorrupted for a wrong key, kInvalidArgument for a value that is not a key check)
// whose message says what to do.
Result<void> verify_key_check(const Keyring& keyring, std::string_view envelope);

}  // namespace ms::crypto
