// PaymentRegistry: one PaymentService per tenant, built on first use from the tenant's
// enabled payment_methods rows and cached, for add_payment_routes' resolver and the bots.
//
// payment_methods(provider, enabled, config, secret_enc): `config` is a JSON object of the
// public settings, `secret_enc` an envelope (core/crypto/secret_box.hpp) of a JSON object
// of the secret ones; both are merged. Per provider:
//   card_to_card   config {card_number, card_holder}
//   telegram_stars config {invoice_title}; refunds through the StarsRefunder of the tenant
//   nowpayments    secret {api_key, ipn_secret}; config {pay_currency?}
//   zarinpal       secret {merchant_id}
//   stripe         secret {secret_key, webhook_secret}
//   paypal         config {client_id, webhook_id}; secret {client_secret}
// Gateways' base URLs come from the operator's configuration. A method whose settings
// cannot be read is left out (and logged), never half-configured.
// Accounts are named "t<tenant id>" in callback URLs.
// Thread-safety: thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "http/client.hpp"
#include "payments/service.hpp"
#include "payments/stars/stars.hpp"
#include "storage/storage.hpp"

namespace ms::payments {

struct GatewayUrls {
  std::string nowpayments = "https://api.nowpayments.io";
  std::string zarinpal = "https://payment.zarinpal.com";
  std::string stripe = "https://api.stripe.com";
  std::string paypal = "https://api-m.paypal.com";
  std::string callback_base = "http://127.0.0.1:8080/payments";  // <public url>/payments
};

class PaymentRegistry {
 public:
  using Decrypt = std::function<Result<std::string>(const std::string& envelope)>;
  using RefunderFor = std::function<std::shared_ptr<StarsRefunder>(std::int64_t tenant)>;

  PaymentRegistry(storage::Storage& storage, http::HttpClient& client, const Clock& clock, GatewayUrls urls,
                  Decrypt decrypt, RefunderFor refunder = {});

  static std::string account_of(std::int64_t tenant) { return "t" + std::to_string(tenant); }
  static std::optional<std::int64_t> tenant_of(std::string_view account);

  // The tenant's service, or nullptr for an unknown account or tenant. kMasterAccount is
  // the master's (master_service()).
  std::shared_ptr<PaymentService> service(std::string_view account);
  // The master database's service (customers paying for packages; Schema::master()), with
  // the gateways the operator enabled in master `payment_gateways`. Built on first use.
  std::shared_ptr<PaymentService> master_service();
  static constexpr std::string_view kMasterAccount = "m";
  // Forgets the cached service (after the owner changed payment settings).
  void invalidate(std::int64_t tenant);

  // The providers a tenant's payment_methods enable.
  Result<std::vector<std::shared_ptr<PaymentProvider>>> load_providers(storage::Database& db, std::int64_t tenant);
  // The same from the master's payment_gateways (tenant 0 for the Stars refunder).
  Result<std::vector<std::shared_ptr<PaymentProvider>>> load_master_providers(storage::Database& master);

 private:
  storage::Storage& storage_;
  http::HttpClient& client_;
  const Clock& clock_;
  GatewayUrls urls_;
  Decrypt decrypt_;
  RefunderFor refunder_;
  std::mutex mutex_;
  std::map<std::int64_t, std::pair<std::shared_ptr<storage::Database>, std::shared_ptr<PaymentService>>> cache_;
  std::shared_ptr<PaymentService> master_;
  Result<std::vector<std::shared_ptr<PaymentProvider>>> load_from(storage::Database& db, std::int64_t tenant,
                                                                  std::string_view table);
};

}  // namespace ms::payments
