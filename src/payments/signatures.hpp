// The gateways' signature schemes, written from their documentation
// (/work/shared/reference/payments.md) and checked against its vectors in
// signatures_test.cpp.
//   NOWPayments IPN: x-nowpayments-sig = hex HMAC-SHA512(trim(ipn_secret), body re-serialised
//     with object keys sorted at every level, compact, slashes unescaped).
//   Stripe: Stripe-Signature "t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>[,v1=..]",
//     the key being the whole "whsec_..." string; only v1 counts; the timestamp may be at most
//     `tolerance` seconds in the past (future timestamps pass, as in Stripe's SDKs).
//   PayPal: signed message "<transmission id>|<time>|<webhook id>|<unsigned CRC-32 of body>"
//     (we verify through PayPal's verify-webhook-signature call; the message is here for the
//     test server and for logs).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace ms::payments {

// ---- NOWPayments -------------------------------------------------------------------------------
std::string nowpayments_canonical(const nlohmann::json& body);
std::string nowpayments_signature(std::string_view ipn_secret, const nlohmann::json& body);
// Success: the parsed body. kUnauthenticated: no header or a wrong signature;
// kInvalidArgument: the body is not a JSON object.
Result<nlohmann::json> verify_nowpayments(std::string_view ipn_secret, std::string_view raw_body,
                                          std::string_view signature_header);

// ---- Stripe ------------------------------------------------------------------------------------
struct StripeSignatureHeader {
  std::int64_t timestamp = 0;
  std::vector<std::string> v1;
};
// kUnauthenticated "Unable to extract timestamp and signatures from header" or
// "No signatures found with expected scheme v1".
Result<StripeSignatureHeader> parse_stripe_signature_header(std::string_view header);
std::string stripe_signature(std::string_view secret, std::int64_t timestamp, std::string_view payload);
// ok() when one v1 matches (constant time) and t >= now - tolerance_seconds
// (tolerance_seconds <= 0 disables the time check). kUnauthenticated otherwise.
Result<void> verify_stripe(std::string_view secret, std::string_view payload, std::string_view header, std::int64_t now,
                           std::int64_t tolerance_seconds = 300);

// ---- PayPal ------------------------------------------------------------------------------------
std::uint32_t crc32(std::string_view bytes);
std::string paypal_signed_message(std::string_view transmission_id, std::string_view transmission_time,
                                  std::string_view webhook_id, std::string_view raw_body);

}  // namespace ms::payments
