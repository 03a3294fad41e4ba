// The fixture of the payments integration tests: a tenant database (SQLite or PostgreSQL),
// our payment routes on a real http::Server, the strict gateway test servers, and a
// PaymentService with every provider pointed at them. Shared by the *_test.cpp files here.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "core/worker_pool.hpp"
#include "gateway_servers.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "payments/card/card_to_card.hpp"
#include "payments/nowpayments/nowpayments.hpp"
#include "payments/paypal/paypal.hpp"
#include "payments/registry.hpp"
#include "payments/routes.hpp"
#include "payments/service.hpp"
#include "payments/stars/stars.hpp"
#include "payments/stripe/stripe.hpp"
#include "payments/zarinpal/zarinpal.hpp"
#include "storage/storage_test_support.hpp"

namespace ms::payments {

using domain::PaymentState;
using storage::Backend;
using storage::Session;
using namespace std::chrono_literals;

class RecordingRefunder final : public StarsRefunder {
 public:
  Result<void> refund_star_payment(std::int64_t user_id, const std::string& charge_id) override {
    std::lock_guard lock(mu);
    calls.emplace_back(user_id, charge_id);
    return ok();
  }
  std::mutex mu;
  std::vector<std::pair<std::int64_t, std::string>> calls;
};

// The shop bot's side of fulfilment, as it will be: idempotent on the order's state.
class OrderFulfiller final : public FulfilmentHook {
 public:
  explicit OrderFulfiller(storage::Database& db) : db_(db) {}
  Result<void> handle(const OutboxItem& item) override {
    ++calls;
    if (item.kind == "fulfil_order") {
      auto changed = db_.with_session([&](Session& s) {
        return s.exec("UPDATE orders SET status = 'completed' WHERE id = :id AND status = 'paid'",
                      {{"id", *item.order_id}});
      });
      if (!changed) return fail(changed.error());
      fulfilled += static_cast<int>(*changed);
    }
    if (fail_next > 0) {
      --fail_next;
      return fail(ErrorCode::kUnavailable, "crashed before saying done");
    }
    return ok();
  }
  storage::Database& db_;
  std::atomic<int> calls{0};
  std::atomic<int> fulfilled{0};
  int fail_next = 0;
};

class PaymentsTest : public storage::testing::StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto t = storage_->create_tenant(1);
    ASSERT_TRUE(t) << t.error().to_string();
    db_ = *t;

    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.threads = 2;
    ours_ = std::make_unique<http::Server>(so);
    PaymentRoutes routes;
    routes.pool = &pool_;
    routes.resolve = [this](std::string_view account) -> std::shared_ptr<PaymentService> {
      std::lock_guard lock(service_mu_);
      if (account == "master") return master_service_;
      return account == "t1" ? service_ : nullptr;
    };
    routes.audit = master_audit_sink(storage_->master(), clock_);
    add_payment_routes(ours_->router(), routes);
    ASSERT_TRUE(ours_->start());
    base_ = "http://127.0.0.1:" + std::to_string(ours_->bound_port());

    GatewayServerOptionsFor();
    gw_ = std::make_unique<testing::GatewayTestServers>(gw_options_);
    ASSERT_TRUE(gw_->start());
    service_ = make_service();
    ASSERT_TRUE(service_->set_exchange_rate({Currency::kUsd, Currency::kIrr, 600'000}));
  }

  void TearDown() override {
    if (gw_) gw_->stop();
    if (ours_) ours_->stop(1s);
    pool_.shutdown();
    service_.reset();
    master_service_.reset();
    db_.reset();
    StorageTest::TearDown();
  }

  void GatewayServerOptionsFor() {
    gw_options_.clock = &clock_;
    gw_options_.stripe_webhook_url = base_ + "/payments/stripe/t1/webhook";
    gw_options_.paypal_webhook_url = base_ + "/payments/paypal/t1/webhook";
  }

  // The tenant's service (account t1); or, with Schema::master(), the master database's
  // (account "master": customers paying for package orders).
  std::shared_ptr<PaymentService> make_service(std::function<void(std::string_view)> fault = {},
                                               Schema schema = Schema::tenant()) {
    const std::string gw = gw_->base_url();
    std::vector<std::shared_ptr<PaymentProvider>> providers;
    providers.push_back(std::make_shared<CardToCardProvider>(CardToCardSettings{"6037990000001234", "Owner"}));
    providers.push_back(std::make_shared<StarsProvider>(StarsSettings{"VPN"}, refunder_));
    NowPaymentsSettings np;
    np.api_url = gw;
    np.api_key = gw_options_.nowpayments_api_key;
    np.ipn_secret = gw_options_.nowpayments_ipn_secret;
    np.timeout = 1500ms;
    if (nowpayments_login_) {
      np.email = gw_options_.nowpayments_email;
      np.password = gw_options_.nowpayments_password;
    }
    providers.push_back(std::make_shared<NowPaymentsProvider>(std::move(np), client_));
    providers.push_back(
        std::make_shared<ZarinpalProvider>(ZarinpalSettings{gw, gw_options_.zarinpal_merchant_id, 1500ms}, client_));
    providers.push_back(std::make_shared<StripeProvider>(
        StripeSettings{gw, gw_options_.stripe_secret_key, gw_options_.stripe_webhook_secret, 300, 1500ms}, client_,
        clock_));
    providers.push_back(std::make_shared<PayPalProvider>(
        PayPalSettings{gw, gw_options_.paypal_client_id, gw_options_.paypal_client_secret,
                       gw_options_.paypal_webhook_id, 1500ms},
        client_, clock_));
    ServiceOptions o;
    o.callback_base_url = base_ + "/payments";
    const bool master = schema.payers == Schema::master().payers;
    o.account = master ? "master" : "t1";
    o.fault = std::move(fault);
    o.schema = std::move(schema);
    return std::make_shared<PaymentService>(master ? storage_->master() : *db_, std::move(providers), clock_, o);
  }

  std::int64_t add_user(std::int64_t tg, const std::string& currency = "IRR") {
    auto id = db_->with_session([&](Session& s) -> Result<std::int64_t> {
      auto row = s.query_one(
          "INSERT INTO users (telegram_id, currency, created_at, updated_at) VALUES (:tg, :c, 1, 1) RETURNING id",
          {{"tg", tg}, {"c", currency}});
      if (!row) return fail(row.error());
      return (*row)->get_int("id");
    });
    EXPECT_TRUE(id) << id.error().to_string();
    return id.value_or(0);
  }

  std::int64_t add_order(std::int64_t user, Money amount) {
    auto id = db_->with_session([&](Session& s) -> Result<std::int64_t> {
      auto row = s.query_one(
          "INSERT INTO orders (user_id, status, amount_minor, currency, created_at, updated_at) "
          "VALUES (:u, 'pending', :a, :c, :now, :now2) RETURNING id",
          {{"u", user},
           {"a", amount.minor},
           {"c", std::string(currency_code(amount.currency))},
           {"now", clock_.unix_seconds()},
           {"now2", clock_.unix_seconds()}});
      if (!row) return fail(row.error());
      return (*row)->get_int("id");
    });
    EXPECT_TRUE(id) << id.error().to_string();
    return id.value_or(0);
  }

  std::string order_status(std::int64_t id) {
    auto s = db_->with_session([&](Session& s) -> Result<std::string> {
      auto row = s.query_one("SELECT status, cancel_reason FROM orders WHERE id = :id", {{"id", id}});
      if (!row) return fail(row.error());
      auto reason = (*row)->opt_string("cancel_reason");
      return (*row)->get_string("status") + (reason ? "/" + *reason : "");
    });
    return s.value_or("?");
  }

  std::int64_t count(const std::string& sql, storage::Params params = {}, storage::Database* db = nullptr) {
    auto n = (db ? *db : *db_).with_session([&](Session& s) -> Result<std::int64_t> {
      auto row = s.query_one(sql, params);
      if (!row) return fail(row.error());
      return (*row)->get_int("n");
    });
    EXPECT_TRUE(n) << n.error().to_string();
    return n.value_or(-1);
  }

  std::int64_t audit_rows() {
    return count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'payment.webhook_rejected'", {},
                 &storage_->master());
  }
  std::int64_t outbox(const std::string& kind, const std::string& topic = "") {
    return count("SELECT COUNT(*) AS n FROM payment_outbox WHERE kind = :k AND topic = :t",
                 {{"k", kind}, {"t", topic}});
  }
  std::int64_t ledger_rows(std::int64_t user) {
    return count("SELECT COUNT(*) AS n FROM wallet_ledger WHERE user_id = :u", {{"u", user}});
  }

  PaymentRecord payment(std::int64_t id) {
    auto p = service_->get(id);
    EXPECT_TRUE(p) << p.error().to_string();
    return p.value_or(PaymentRecord{});
  }

  Result<http::ClientResponse> get(const std::string& url) {
    http::ClientRequest r;
    r.url = url;
    r.timeout = 10s;
    return client_.send_sync(r);
  }

  ManualClock clock_{1'700'000'000};
  WorkerPool pool_{4, 10'000};
  http::CurlClient client_;
  std::shared_ptr<storage::Database> db_;
  std::unique_ptr<http::Server> ours_;
  std::string base_;
  testing::GatewayServerOptions gw_options_;
  std::unique_ptr<testing::GatewayTestServers> gw_;
  std::shared_ptr<RecordingRefunder> refunder_ = std::make_shared<RecordingRefunder>();
  std::mutex service_mu_;
  std::shared_ptr<PaymentService> service_;
  std::shared_ptr<PaymentService> master_service_;  // set by tests of the master's billing
  bool nowpayments_login_ = true;  // the NOWPayments provider has the account's login (list by invoice)
};

}  // namespace ms::payments
