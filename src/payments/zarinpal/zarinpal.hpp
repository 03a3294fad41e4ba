// Zarinpal REST v4: request.json gives an authority, the payer goes to StartPay/<authority>,
// Zarinpal sends the browser back to our callback (?Authority=..&Status=OK|NOK, unsigned),
// and only verify.json (merchant_id, amount, authority) says the money is ours: code 100
// (verified now) or 101 (verified before) is paid; -51 is not paid yet.
#pragma once

#include <chrono>

#include "http/client.hpp"
#include "payments/provider.hpp"

namespace ms::payments {

struct ZarinpalSettings {
  std::string api_url = "https://payment.zarinpal.com";  // sandbox: https://sandbox.zarinpal.com
  std::string merchant_id;                               // 36-character UUID
  std::chrono::milliseconds timeout{15'000};
};

class ZarinpalProvider final : public PaymentProvider {
 public:
  ZarinpalProvider(ZarinpalSettings settings, http::HttpClient& client)
      : settings_(std::move(settings)), client_(client) {}
  PaymentMethod method() const override { return PaymentMethod::kZarinpal; }
  Currency currency() const override { return Currency::kIrr; }
  Result<StartResult> start(const StartRequest& request) override;
  // The unsigned callback: a claim for the service to verify (poll).
  Result<std::vector<GatewayReport>> parse_callback(const http::Request& request) override;
  // verify.json.
  Result<GatewayReport> poll(const ProviderPayment& payment) override;
  // kPermissionDenied: refunds are made by the owner in Zarinpal's panel. Zarinpal's
  // documented refund is a GraphQL mutation of its account API (OAuth access token of the
  // merchant's account, not merchant_id) on `session_id` (Zarinpal's transaction number,
  // neither the authority nor verify's ref_id), Rial amount >= 20,000, method CARD|PAYA and a
  // reason; it has no idempotency key and no documented way to find a refund whose answer
  // was lost, so it could not be made exactly once.
  Result<RefundResult> refund(const ProviderPayment& payment, const RefundRequest& request) override;

 private:
  ZarinpalSettings settings_;
  http::HttpClient& client_;
};

}  // namespace ms::payments
