// Stripe Checkout: POST /v1/checkout/sessions (form-encoded, secret key as Bearer,
// Idempotency-Key = our reference), the payer opens session.url, and Stripe posts events to
// our webhook signed with Stripe-Signature (signatures.hpp; 300 s tolerance).
// checkout.session.completed / async_payment_succeeded with payment_status "paid" is paid;
// checkout.session.expired is expired; async_payment_failed is rejected.
#pragma once

#include <chrono>

#include "core/clock.hpp"
#include "http/client.hpp"
#include "payments/provider.hpp"

namespace ms::payments {

struct StripeSettings {
  std::string api_url = "https://api.stripe.com";
  std::string secret_key;      // sk_live_... / sk_test_...
  std::string webhook_secret;  // whsec_... of our endpoint
  std::int64_t tolerance_seconds = 300;
  std::chrono::milliseconds timeout{15'000};
};

class StripeProvider final : public PaymentProvider {
 public:
  StripeProvider(StripeSettings settings, http::HttpClient& client, const Clock& clock = SystemClock::instance())
      : settings_(std::move(settings)), client_(client), clock_(clock) {}
  PaymentMethod method() const override { return PaymentMethod::kStripe; }
  Currency currency() const override { return Currency::kUsd; }
  Result<StartResult> start(const StartRequest& request) override;
  Result<std::vector<GatewayReport>> parse_callback(const http::Request& request) override;
  // GET /v1/checkout/sessions/{id}.
  Result<GatewayReport> poll(const ProviderPayment& payment) override;
  // POST /v1/refunds for the session's payment_intent: all that is left, or `amount` of it
  // (Idempotency-Key = request.key, kept in the refund's metadata[refund_key]); on resume,
  // GET /v1/refunds?payment_intent= first and answer the refund carrying our key.
  // charge_already_refunded is kConflict; more than is left is kInvalidArgument.
  Result<RefundResult> refund(const ProviderPayment& payment, const RefundRequest& request) override;

 private:
  Result<nlohmann::json> call(std::string method, std::string path, std::string form, std::string idempotency_key);
  StripeSettings settings_;
  http::HttpClient& client_;
  const Clock& clock_;
};

// application/x-www-form-urlencoded escaping (RFC 3986 unreserved kept).
std::string form_escape(std::string_view text);

}  // namespace ms::payments
