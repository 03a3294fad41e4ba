#include "core/crypto/primitives.hpp"

#include <sodium.h>

#include <stdexcept>

namespace ms::crypto {
namespace {

int sodium_variant(Base64Variant variant) {
  return variant == Base64Variant::kStandard ? sodium_base64_VARIANT_ORIGINAL
                                             : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
}

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

void ensure_sodium() {
  // A function-local static is initialised once even under concurrent first calls.
  static const bool kSodiumReady = sodium_init() >= 0;
  if (!kSodiumReady) throw std::runtime_error("libsodium failed to initialise");
}

std::string base64_encode(std::string_view bytes, Base64Variant variant) {
  int v = sodium_variant(variant);
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), v), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes_of(bytes), bytes.size(), v);
  out.resize(out.size() - 1);  // drop the terminating NUL sodium writes
  return out;
}

Result<std::string> base64_decode(std::string_view text, Base64Variant variant) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_variant(variant)) != 0 ||
      end != text.data() + text.size()) {
    return fail(ErrorCode::kInvalidArgument, "not valid base64");
  }
  out.resize(len);
  return out;
}

std::string to_hex(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes_of(bytes), bytes.size());
  out.resize(out.size() - 1);
  return out;
}

Result<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return fail(ErrorCode::kInvalidArgument, "hex string has odd length");
  std::string out(hex.size() / 2, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(), hex.size(), nullptr, &len,
                     &end) != 0 ||
      end != hex.data() + hex.size() || len != out.size()) {
    return fail(ErrorCode::kInvalidArgument, "not a valid hex string");
  }
  return out;
}

std::string random_bytes(std::size_t count) {
  ensure_sodium();
  std::string out(count, '\0');
  randombytes_buf(out.data(), out.size());
  return out;
}

std::string random_token(std::size_t bytes) {
  std::string raw = random_bytes(bytes);
  std::string token = base64_encode(raw, Base64Variant::kUrlSafeNoPadding);
  sodium_memzero(raw.data(), raw.size());
  return token;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sha256(std::string_view data) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), bytes_of(data), data.size());
  return out;
}

std::string sha512(std::string_view data) {
  std::string out(crypto_hash_sha512_BYTES, '\0');
  crypto_hash_sha512(reinterpret_cast<unsigned char*>(out.data()), bytes_of(data), data.size());
  return out;
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }
std::string sha512_hex(std::string_view data) { return to_hex(sha512(data)); }

std::string hmac_sha256(std::string_view key, std::string_view message) {
  // The init/update/final API accepts keys of any length (the one-shot API wants 32 bytes).
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, bytes_of(key), key.size());
  crypto_auth_hmacsha256_update(&state, bytes_of(message), message.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  sodium_memzero(&state, sizeof state);
  return out;
}

std::string hmac_sha512(std::string_view key, std::string_view message) {
  crypto_auth_hmacsha512_state state;
  crypto_auth_hmacsha512_init(&state, bytes_of(key), key.size());
  crypto_auth_hmacsha512_update(&state, bytes_of(message), message.size());
  std::string out(crypto_auth_hmacsha512_BYTES, '\0');
  crypto_auth_hmacsha512_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  sodium_memzero(&state, sizeof state);
  return out;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  return to_hex(hmac_sha256(key, message));
}
std::string hmac_sha512_hex(std::string_view key, std::string_view message) {
  return to_hex(hmac_sha512(key, message));
}

}  // namespace ms::crypto
