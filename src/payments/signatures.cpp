#include "payments/signatures.hpp"

#include <array>
#include <charconv>

#include "core/crypto/primitives.hpp"

namespace ms::payments {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string nowpayments_canonical(const nlohmann::json& body) {
  // nlohmann::json keeps objects in a std::map: dump() already sorts keys at every level,
  // writes compact separators, never escapes '/', and prints doubles in their shortest form.
  return body.dump();
}

std::string nowpayments_signature(std::string_view ipn_secret, const nlohmann::json& body) {
  return crypto::hmac_sha512_hex(trim(ipn_secret), nowpayments_canonical(body));
}

Result<nlohmann::json> verify_nowpayments(std::string_view ipn_secret, std::string_view raw_body,
                                          std::string_view signature_header) {
  if (trim(ipn_secret).empty()) return fail(ErrorCode::kUnauthenticated, "no IPN secret configured");
  if (signature_header.empty()) return fail(ErrorCode::kUnauthenticated, "x-nowpayments-sig is missing");
  auto body = nlohmann::json::parse(raw_body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return fail(ErrorCode::kInvalidArgument, "IPN body is not a JSON object");
  std::string given(trim(signature_header));
  for (auto& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!crypto::constant_time_equals(nowpayments_signature(ipn_secret, body), given))
    return fail(ErrorCode::kUnauthenticated, "x-nowpayments-sig does not match the body");
  return body;
}

Result<StripeSignatureHeader> parse_stripe_signature_header(std::string_view header) {
  StripeSignatureHeader out;
  bool have_t = false;
  std::size_t start = 0;
  while (start <= header.size()) {
    std::size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    std::string_view item = trim(header.substr(start, end - start));
    auto eq = item.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = item.substr(0, eq);
      std::string_view value = item.substr(eq + 1);
      if (key == "t") {
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out.timestamp);
        have_t = ec == std::errc() && p == value.data() + value.size() && !value.empty();
      } else if (key == "v1") {
        out.v1.emplace_back(value);
      }
    }
    start = end + 1;
  }
  if (!have_t) return fail(ErrorCode::kUnauthenticated, "Unable to extract timestamp and signatures from header");
  if (out.v1.empty()) return fail(ErrorCode::kUnauthenticated, "No signatures found with expected scheme v1");
  return out;
}

std::string stripe_signature(std::string_view secret, std::int64_t timestamp, std::string_view payload) {
  std::string signed_payload = std::to_string(timestamp);
  signed_payload += '.';
  signed_payload += payload;
  return crypto::hmac_sha256_hex(secret, signed_payload);
}

Result<void> verify_stripe(std::string_view secret, std::string_view payload, std::string_view header, std::int64_t now,
                           std::int64_t tolerance_seconds) {
  if (secret.empty()) return fail(ErrorCode::kUnauthenticated, "no webhook secret configured");
  auto parsed = parse_stripe_signature_header(header);
  if (!parsed) return fail(parsed.error());
  const std::string expected = stripe_signature(secret, parsed->timestamp, payload);
  bool matched = false;
  for (const auto& sig : parsed->v1) matched = crypto::constant_time_equals(expected, sig) || matched;
  if (!matched)
    return fail(ErrorCode::kUnauthenticated, "No signatures found matching the expected signature for payload");
  if (tolerance_seconds > 0 && parsed->timestamp < now - tolerance_seconds)
    return fail(ErrorCode::kUnauthenticated, "Timestamp outside the tolerance zone");
  return ok();
}

std::uint32_t crc32(std::string_view bytes) {
  static const auto kTable = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) c = kTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string paypal_signed_message(std::string_view transmission_id, std::string_view transmission_time,
                                  std::string_view webhook_id, std::string_view raw_body) {
  std::string m(transmission_id);
  m += '|';
  m += transmission_time;
  m += '|';
  m += webhook_id;
  m += '|';
  m += std::to_string(crc32(raw_body));
  return m;
}

}  // namespace ms::payments
