#include "payments/registry.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

#include "payments/card/card_to_card.hpp"
#include "payments/nowpayments/nowpayments.hpp"
#include "payments/paypal/paypal.hpp"
#include "payments/stripe/stripe.hpp"
#include "payments/zarinpal/zarinpal.hpp"

namespace ms::payments {

PaymentRegistry::PaymentRegistry(storage::Storage& storage, http::HttpClient& client, const Clock& clock,
                                 GatewayUrls urls, Decrypt decrypt, RefunderFor refunder)
    : storage_(storage),
      client_(client),
      clock_(clock),
      urls_(std::move(urls)),
      decrypt_(std::move(decrypt)),
      refunder_(std::move(refunder)) {}

std::optional<std::int64_t> PaymentRegistry::tenant_of(std::string_view account) {
  if (account.size() < 2 || account.front() != 't') return std::nullopt;
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(account.data() + 1, account.data() + account.size(), id);
  if (ec != std::errc() || p != account.data() + account.size() || id <= 0) return std::nullopt;
  return id;
}

Result<std::vector<std::shared_ptr<PaymentProvider>>> PaymentRegistry::load_providers(storage::Database& db,
                                                                                      std::int64_t tenant) {
  return load_from(db, tenant, "payment_methods");
}

Result<std::vector<std::shared_ptr<PaymentProvider>>> PaymentRegistry::load_master_providers(
    storage::Database& master) {
  return load_from(master, 0, "payment_gateways");
}

std::shared_ptr<PaymentService> PaymentRegistry::master_service() {
  {
    std::lock_guard lock(mutex_);
    if (master_) return master_;
  }
  auto providers = load_master_providers(storage_.master());
  if (!providers) {
    spdlog::warn("master: cannot load payment gateways: {}", providers.error().message);
    return nullptr;
  }
  ServiceOptions options;
  options.schema = Schema::master();
  options.callback_base_url = urls_.callback_base;
  options.account = std::string(kMasterAccount);
  auto service = std::make_shared<PaymentService>(storage_.master(), std::move(*providers), clock_, options);
  std::lock_guard lock(mutex_);
  if (!master_) master_ = service;
  return master_;
}

Result<std::vector<std::shared_ptr<PaymentProvider>>> PaymentRegistry::load_from(storage::Database& db,
                                                                                 std::int64_t tenant,
                                                                                 std::string_view table) {
  auto rows = db.with_session([table](storage::Session& s) {
    return s.query("SELECT provider, config, secret_enc FROM " + std::string(table) +
                   " WHERE enabled = 1 ORDER BY provider");
  });
  if (!rows) return fail(std::move(rows.error()));
  std::vector<std::shared_ptr<PaymentProvider>> out;
  for (const auto& r : *rows) {
    const std::string name = r.get_string("provider");
    auto settings = nlohmann::json::parse(r.get_string("config"), nullptr, false);
    if (settings.is_discarded() || !settings.is_object()) {
      spdlog::error("tenant {}: payment method {} has unreadable settings; left out", tenant, name);
      continue;
    }
    if (auto enc = r.opt_string("secret_enc")) {
      auto plain = decrypt_ ? decrypt_(*enc) : fail(ErrorCode::kInternal, "no decrypter");
      auto secret = plain ? nlohmann::json::parse(*plain, nullptr, false) : nlohmann::json();
      if (!plain || secret.is_discarded() || !secret.is_object()) {
        spdlog::error("tenant {}: payment method {}: cannot open its keys; left out", tenant, name);
        continue;
      }
      settings.update(secret);
    }
    auto s = [&settings](const char* key) { return settings.value(key, std::string()); };
    auto method = domain::parse<PaymentMethod>(name);
    if (!method) {
      spdlog::error("tenant {}: unknown payment method {}; left out", tenant, name);
      continue;
    }
    switch (*method) {
      case PaymentMethod::kCardToCard:
        out.push_back(std::make_shared<CardToCardProvider>(CardToCardSettings{s("card_number"), s("card_holder")}));
        break;
      case PaymentMethod::kTelegramStars:
        out.push_back(
            std::make_shared<StarsProvider>(StarsSettings{s("invoice_title").empty() ? "Payment" : s("invoice_title")},
                                            refunder_ ? refunder_(tenant) : nullptr));
        break;
      case PaymentMethod::kNowPayments: {
        NowPaymentsSettings np;
        np.api_url = urls_.nowpayments;
        np.api_key = s("api_key");
        np.ipn_secret = s("ipn_secret");
        np.pay_currency = s("pay_currency");
        np.email = s("email");  // optional: lets polling list an invoice's payments
        np.password = s("password");
        out.push_back(std::make_shared<NowPaymentsProvider>(std::move(np), client_));
        break;
      }
      case PaymentMethod::kZarinpal:
        out.push_back(std::make_shared<ZarinpalProvider>(ZarinpalSettings{urls_.zarinpal, s("merchant_id")}, client_));
        break;
      case PaymentMethod::kStripe:
        out.push_back(std::make_shared<StripeProvider>(
            StripeSettings{urls_.stripe, s("secret_key"), s("webhook_secret")}, client_, clock_));
        break;
      case PaymentMethod::kPayPal:
        out.push_back(std::make_shared<PayPalProvider>(
            PayPalSettings{urls_.paypal, s("client_id"), s("client_secret"), s("webhook_id")}, client_, clock_));
        break;
      case PaymentMethod::kWallet:  // built into the service
      case PaymentMethod::kManual: break;
    }
  }
  return out;
}

std::shared_ptr<PaymentService> PaymentRegistry::service(std::string_view account) {
  if (account == kMasterAccount) return master_service();
  auto tenant = tenant_of(account);
  if (!tenant) return nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(*tenant);
    if (it != cache_.end()) return it->second.second;
  }
  auto db = storage_.tenant(*tenant);
  if (!db) return nullptr;
  auto providers = load_providers(**db, *tenant);
  if (!providers) {
    spdlog::warn("tenant {}: cannot load payment methods: {}", *tenant, providers.error().message);
    return nullptr;
  }
  ServiceOptions options;
  options.callback_base_url = urls_.callback_base;
  options.account = account_of(*tenant);
  auto service = std::make_shared<PaymentService>(**db, std::move(*providers), clock_, options);
  std::lock_guard lock(mutex_);
  auto [it, inserted] = cache_.emplace(*tenant, std::make_pair(*db, service));
  return it->second.second;  // a concurrent first use may have won: use its service
}

void PaymentRegistry::invalidate(std::int64_t tenant) {
  std::lock_guard lock(mutex_);
  cache_.erase(tenant);
}

}  // namespace ms::payments
