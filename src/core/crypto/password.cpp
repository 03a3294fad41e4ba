#include "core/crypto/password.hpp"

#include <sodium.h>

#include "core/crypto/primitives.hpp"

namespace ms::crypto {

PasswordLimits PasswordLimits::interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

PasswordLimits PasswordLimits::minimum() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

Result<std::string> hash_password(std::string_view password, PasswordLimits limits) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), limits.ops, limits.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return fail(ErrorCode::kInternal, "password hashing failed (out of memory or limits out of range)");
  }
  return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
  ensure_sodium();
  // libsodium wants a NUL-terminated hash that fits its buffer size.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string stored(hash);
  return crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(std::string_view hash, PasswordLimits limits) {
  ensure_sodium();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return true;
  std::string stored(hash);
  // crypto_pwhash_str_needs_rehash checks the limits, not the algorithm; argon2i hashes
  // still verify but should move to argon2id.
  if (stored.rfind("$argon2id$", 0) != 0) return true;
  return crypto_pwhash_str_needs_rehash(stored.c_str(), limits.ops, limits.mem) != 0;
}

}  // namespace ms::crypto
