// Password hashing with Argon2id (libsodium crypto_pwhash_str). A hash is a
// self-describing ASCII string ("$argon2id$v=19$m=...,t=...,p=1$salt$hash") that carries
// its own salt and cost, so it can be stored as is and re-hashed when costs change.
//
// Threads: all functions are stateless and safe to call concurrently. Hashing with the
// interactive limits takes ~150 ms and 64 MiB: call it off the event loop.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ms::crypto {

struct PasswordLimits {
  unsigned long long ops = 0;
  std::size_t mem = 0;

  // OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE: the production default.
  static PasswordLimits interactive();
  // The lowest costs libsodium accepts; for tests only, never for real passwords.
  static PasswordLimits minimum();
};

// Fails with kInternal when memory for the hash cannot be allocated.
Result<std::string> hash_password(std::string_view password, PasswordLimits limits = PasswordLimits::interactive());
// True only when `hash` is a valid Argon2 hash of `password`; a malformed hash is false.
bool verify_password(std::string_view hash, std::string_view password);
// True when `hash` was made with other limits or another algorithm (or is malformed):
// after a successful login, hash the password again and store the new hash.
bool password_needs_rehash(std::string_view hash, PasswordLimits limits = PasswordLimits::interactive());

}  // namespace ms::crypto
