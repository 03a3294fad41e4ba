// Small cryptographic primitives on top of libsodium: encodings, random tokens,
// constant-time comparison, SHA-256/512 and HMAC-SHA-256/512 (payment gateways sign
// their callbacks with these).
//
// Threads: every function here is stateless and safe to call from any thread.
// Binary values travel as std::string holding raw bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ms::crypto {

// Calls sodium_init() exactly once per process; safe to call from many threads.
// Throws std::runtime_error if libsodium cannot initialise (a start-up error).
void ensure_sodium();

enum class Base64Variant {
  kStandard,          // '+', '/', '=' padding: keys and envelopes
  kUrlSafeNoPadding,  // '-', '_', no padding: tokens placed in URLs
};

std::string base64_encode(std::string_view bytes, Base64Variant variant = Base64Variant::kStandard);
// Fails with kInvalidArgument when `text` is not valid base64 of that variant.
Result<std::string> base64_decode(std::string_view text, Base64Variant variant = Base64Variant::kStandard);

// Lower-case hex.
std::string to_hex(std::string_view bytes);
// Accepts upper or lower case; fails with kInvalidArgument on odd length or a non-hex char.
Result<std::string> from_hex(std::string_view hex);

// `bytes` random bytes from the OS CSPRNG as URL-safe base64 without padding.
std::string random_token(std::size_t bytes = 32);
// `count` raw random bytes.
std::string random_bytes(std::size_t count);

// Compares in time that depends only on the lengths; different lengths are unequal
// (lengths are not secret: signatures and tokens have public fixed sizes).
bool constant_time_equals(std::string_view a, std::string_view b);

// Raw 32/64-byte digests.
std::string sha256(std::string_view data);
std::string sha512(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string sha512_hex(std::string_view data);

// RFC 2104 HMAC with a key of any length; raw 32/64-byte tags.
std::string hmac_sha256(std::string_view key, std::string_view message);
std::string hmac_sha512(std::string_view key, std::string_view message);
std::string hmac_sha256_hex(std::string_view key, std::string_view message);
std::string hmac_sha512_hex(std::string_view key, std::string_view message);

}  // namespace ms::crypto
