// NOWPayments (crypto): an invoice (POST /v1/invoice, x-api-key) whose page the payer opens;
// payments made through it are reported by IPN to our callback, signed with
// x-nowpayments-sig (signatures.hpp). Statuses: waiting/confirming/confirmed/sending are
// pending, finished is paid, partially_paid is flagged for review (docs: never fulfil it),
// failed -> rejected, expired -> expired, refunded. What arrived is measured in the price
// currency: price_amount * actually_paid / pay_amount, so over- and under-payments show.
#pragma once

#include <chrono>

#include "http/client.hpp"
#include "payments/provider.hpp"

namespace ms::payments {

struct NowPaymentsSettings {
  std::string api_url = "https://api.nowpayments.io";
  std::string api_key;
  std::string ipn_secret;
  std::string pay_currency;  // e.g. "usdttrc20"; empty: the payer chooses
  std::chrono::milliseconds timeout{15'000};
  // The account's login, for listing an invoice's payments (POST /v1/auth gives a JWT the
  // list needs). Empty: an invoice whose IPN never came stays pending until a payment id is known.
  std::string email;
  std::string password;
};

class NowPaymentsProvider final : public PaymentProvider {
 public:
  NowPaymentsProvider(NowPaymentsSettings settings, http::HttpClient& client)
      : settings_(std::move(settings)), client_(client) {}
  PaymentMethod method() const override { return PaymentMethod::kNowPayments; }
  Currency currency() const override { return Currency::kUsd; }
  Result<StartResult> start(const StartRequest& request) override;
  Result<std::vector<GatewayReport>> parse_callback(const http::Request& request) override;
  // Asks NOWPayments, so a lost IPN is recovered: GET /v1/payment/{payment_id} when an IPN
  // named the payment (charge_ref); else, with a login, the invoice's payments
  // (GET /v1/payment/?invoiceId=, Bearer JWT from POST /v1/auth) and the furthest along of
  // them. Without either: pending.
  Result<GatewayReport> poll(const ProviderPayment& payment) override;
  Result<RefundResult> refund(const ProviderPayment& payment, const RefundRequest& request) override;

  // An IPN or status body as a report (no signature check); for tests and poll.
  static Result<GatewayReport> report_from(const nlohmann::json& body);

 private:
  Result<nlohmann::json> get(const std::string& path, const std::string& bearer);
  NowPaymentsSettings settings_;
  http::HttpClient& client_;
};

}  // namespace ms::payments
