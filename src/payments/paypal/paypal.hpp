// PayPal Orders v2: OAuth2 client credentials (POST /v1/oauth2/token, cached until shortly
// before expires_in), POST /v2/checkout/orders (intent CAPTURE, custom_id = our reference,
// PayPal-Request-Id for idempotency), the payer approves at the "approve"/"payer-action"
// link, then we capture (POST /v2/checkout/orders/{id}/capture). Webhooks are verified by
// PayPal itself: POST /v1/notifications/verify-webhook-signature with the five
// PAYPAL-* headers, our webhook_id and the event, "SUCCESS" or we reject.
// CHECKOUT.ORDER.APPROVED is a claim (we poll, which captures); PAYMENT.CAPTURE.COMPLETED
// is paid; PAYMENT.CAPTURE.DENIED is rejected. The capture id is reported as charge_ref.
// Refunds (Payments v2): POST /v2/payments/captures/{id}/refund, no amount = what is left,
// PayPal-Request-Id and invoice_id = our refund key; resuming after a lost answer first
// reads the order, whose purchase_units[0].payments.refunds name ours by invoice_id.
#pragma once

#include <chrono>
#include <mutex>

#include "core/clock.hpp"
#include "http/client.hpp"
#include "payments/provider.hpp"

namespace ms::payments {

struct PayPalSettings {
  std::string api_url = "https://api-m.paypal.com";  // sandbox: https://api-m.sandbox.paypal.com
  std::string client_id;
  std::string client_secret;
  std::string webhook_id;  // the id PayPal gave our webhook subscription
  std::chrono::milliseconds timeout{15'000};
};

class PayPalProvider final : public PaymentProvider {
 public:
  PayPalProvider(PayPalSettings settings, http::HttpClient& client, const Clock& clock = SystemClock::instance())
      : settings_(std::move(settings)), client_(client), clock_(clock) {}
  PaymentMethod method() const override { return PaymentMethod::kPayPal; }
  Currency currency() const override { return Currency::kUsd; }
  Result<StartResult> start(const StartRequest& request) override;
  Result<std::vector<GatewayReport>> parse_callback(const http::Request& request) override;
  // GET the order; APPROVED is captured here.
  Result<GatewayReport> poll(const ProviderPayment& payment) override;
  Result<RefundResult> refund(const ProviderPayment& payment, const RefundRequest& request) override;

 private:
  Result<std::string> token();
  Result<http::ClientResponse> call(std::string method, const std::string& path, std::string body,
                                    const std::string& request_id);
  Result<GatewayReport> report_from_order(const nlohmann::json& order, const ProviderPayment& payment);

  PayPalSettings settings_;
  http::HttpClient& client_;
  const Clock& clock_;
  std::mutex mutex_;  // guards the cached token
  std::string token_;
  std::int64_t token_expires_ = 0;
};

}  // namespace ms::payments
