#include "core/crypto/secret_box.hpp"

#include <sodium.h>

#include "core/crypto/primitives.hpp"

namespace ms::crypto {
namespace {

constexpr std::string_view kKeyCheckMarker = "mothership key check v1";
constexpr std::size_t kKeyIdChars = 16;

struct ParsedEnvelope {
  std::string key_id;
  std::string payload;  // nonce || ciphertext
};

Result<ParsedEnvelope> parse_envelope(std::string_view envelope) {
  // "ms1:" + 16 hex + ":" + base64
  std::size_t header = kEnvelopePrefix.size() + 1 + kKeyIdChars + 1;
  if (envelope.size() <= header || envelope.substr(0, kEnvelopePrefix.size()) != kEnvelopePrefix ||
      envelope[kEnvelopePrefix.size()] != ':' || envelope[header - 1] != ':') {
    return fail(ErrorCode::kInvalidArgument, "value is not an encrypted envelope (expected ms1:<key id>:<data>)");
  }
  std::string_view id = envelope.substr(kEnvelopePrefix.size() + 1, kKeyIdChars);
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return fail(ErrorCode::kInvalidArgument, "encrypted envelope has a malformed key id");
    }
  }
  auto payload = base64_decode(envelope.substr(header));
  if (!payload) return fail(ErrorCode::kInvalidArgument, "encrypted envelope data is not valid base64");
  if (payload->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return fail(ErrorCode::kInvalidArgument, "encrypted envelope is too short");
  }
  return ParsedEnvelope{std::string(id), std::move(*payload)};
}

Error wrong_key_error(const std::string& id) {
  return Error{ErrorCode::kCorrupted,
               "data was encrypted with key " + id +
                   ", which is not in the configured keyring: the secret key does not match the one this data was "
                   "encrypted with (check MOTHERSHIP_SECRET_KEY or the key file)"};
}

}  // namespace

std::string encrypt(const Keyring& keyring, std::string_view plaintext) {
  ensure_sodium();
  std::string payload(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(payload.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        plaintext.size(), nonce, keyring.primary_key().data());
  std::string out(kEnvelopePrefix);
  out += ':';
  out += keyring.primary_id();
  out += ':';
  out += base64_encode(payload);
  return out;
}

Result<std::string> decrypt(const Keyring& keyring, std::string_view envelope) {
  ensure_sodium();
  auto parsed = parse_envelope(envelope);
  if (!parsed) return fail(parsed.error());
  const Key* key = keyring.find(parsed->key_id);
  if (key == nullptr) return fail(wrong_key_error(parsed->key_id));
  const auto* nonce = reinterpret_cast<const unsigned char*>(parsed->payload.data());
  std::size_t cipher_len = parsed->payload.size() - crypto_secretbox_NONCEBYTES;
  std::string plain(cipher_len - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()), nonce + crypto_secretbox_NONCEBYTES,
                                 cipher_len, nonce, key->data()) != 0) {
    return fail(ErrorCode::kCorrupted, "encrypted value failed authentication: it was altered or damaged");
  }
  return plain;
}

Result<std::string> envelope_key_id(std::string_view envelope) {
  auto parsed = parse_envelope(envelope);
  if (!parsed) return fail(parsed.error());
  return std::move(parsed->key_id);
}

std::string SecretBox::encrypt(std::string_view plaintext) const { return crypto::encrypt(keyring_, plaintext); }

Result<std::string> SecretBox::decrypt(std::string_view envelope) const { return crypto::decrypt(keyring_, envelope); }

bool SecretBox::needs_rotation(std::string_view envelope) const {
  auto id = envelope_key_id(envelope);
  return !id || *id != keyring_.primary_id();
}

Result<std::string> SecretBox::reencrypt(std::string_view envelope) const {
  auto plain = decrypt(envelope);
  if (!plain) return plain;
  std::string out = encrypt(*plain);
  sodium_memzero(plain->data(), plain->size());
  return out;
}

std::string make_key_check(const Keyring& keyring) { return encrypt(keyring, kKeyCheckMarker); }

Result<void> verify_key_check(const Keyring& keyring, std::string_view envelope) {
  auto plain = decrypt(keyring, envelope);
  if (!plain) {
    if (plain.error().code == ErrorCode::kInvalidArgument) {
      return fail(ErrorCode::kInvalidArgument, "stored key check is not an encrypted envelope");
    }
    return fail(ErrorCode::kCorrupted,
                "the configured secret key cannot open data written before (" + plain.error().message +
                    "); refusing to start so nothing is overwritten. Restore the original key or key file.");
  }
  if (!constant_time_equals(*plain, kKeyCheckMarker)) {
    return fail(ErrorCode::kInvalidArgument, "stored key check does not hold the key check marker");
  }
  return ok();
}

}  // namespace ms::crypto
