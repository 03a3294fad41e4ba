// The fixture of the shop bot's end-to-end tests: a tenant database (SQLite or PostgreSQL),
// the sandbox emulator behind a real HTTP server (Telegram), the strict Marzban test panel,
// a PaymentService with card-to-card and Telegram Stars, and the shop bot in a BotRuntime
// polling the sandbox. People press buttons and send photos through the emulator's person
// API; every check reads what Telegram, the panel or the database really hold.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/crypto/keyring.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/timer_queue.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "marzban_server.hpp"
#include "panels/panel_repository.hpp"
#include "payments/card/card_to_card.hpp"
#include "payments/service.hpp"
#include "payments/stars/stars.hpp"
#include "sandbox_people.hpp"
#include "bots/shop/qr.hpp"
#include "bots/shop/settings.hpp"
#include "bots/shop/shop.hpp"
#include "storage/storage_test_support.hpp"
#include "telegram/runtime.hpp"

namespace ms::shop::testing {

using namespace std::chrono_literals;
using nlohmann::json;
using test_support::eventually;

class ShopTest : public storage::testing::StorageTest, protected test_support::SandboxPeople {
 protected:
  static constexpr std::int64_t kTenant = 1;
  static constexpr telegram::BotKey kBotKey = 1;
  static constexpr std::int64_t kPlanPrice = 1'500'000;  // Rial (150,000 Toman)

  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto t = storage_->create_tenant(kTenant);
    ASSERT_TRUE(t) << t.error().to_string();
    db_ = *t;

    bot_username_ = "vpn_shop_bot";
    sandbox::EmulatorOptions eo;
    eo.max_long_poll = 5s;
    if (telegram_limits_) eo.limits = telegram_limits_->telegram;
    start_sandbox(eo);
    if (HasFatalFailure()) return;

    marzban_test::Options mo;
    mo.clock = &clock_;  // the panel and the shop share one clock, so tests can move time
    marzban_ = std::make_unique<marzban_test::MarzbanTestServer>(mo);
    ASSERT_TRUE(marzban_->start());

    auto bot = emulator_->create_bot("vpn_shop_bot", "VPN Shop");
    ASSERT_TRUE(bot) << bot.error().to_string();
    token_ = bot->token;
    owner_ = person("Owner", "fa");
    alice_ = person("Alice", "fa");
    bob_ = person("Bob", "en");

    // The owner's shop: one panel, a plan, a traffic add-on, the owner as admin, a trial.
    panels::PanelRepository repo(*db_, box_);
    panels::PanelRecord pr;
    pr.name = "Germany";
    pr.base_url = marzban_->base_url();
    pr.username = "admin";
    pr.password = crypto::Secret("admin");
    auto panel_id = repo.insert(pr, 1);
    ASSERT_TRUE(panel_id) << panel_id.error().to_string();
    panel_id_ = *panel_id;
    plan_id_ = add_plan("1 Month 50GB", 30, 50LL << 30, kPlanPrice, "service");
    traffic_plan_id_ = add_plan("+10GB", 1, 10LL << 30, 300'000, "traffic");
    ShopSettings s;
    s.admins = {{owner_, AdminRole::kOwner}};
    s.trial.enabled = true;
    s.trial.traffic_bytes = 1LL << 30;
    s.trial.days = 1;
    s.referral_percent = 10;
    s.antispam.max_updates = 1000;
    customize(s);
    ASSERT_TRUE(save_settings(*db_, s, 1));

    payments_ = make_payments();
    ASSERT_TRUE(payments_->set_exchange_rate({Currency::kXtr, Currency::kIrr, 20'000}));
    start_shop();
  }

  void TearDown() override {
    stop_shop();
    if (marzban_) marzban_->stop();
    stop_sandbox();
    payments_.reset();
    db_.reset();
    StorageTest::TearDown();
  }

  // Tests may change the settings before the shop starts.
  virtual void customize(ShopSettings&) {}
  // Tests may add payment providers (gateways) and change the service's options.
  virtual void add_providers(std::vector<std::shared_ptr<payments::PaymentProvider>>&, payments::ServiceOptions&) {}

  std::shared_ptr<payments::PaymentService> make_payments() {
    std::vector<std::shared_ptr<payments::PaymentProvider>> providers;
    providers.push_back(
        std::make_shared<payments::CardToCardProvider>(payments::CardToCardSettings{"6037990000001234", "Owner"}));
    providers.push_back(std::make_shared<payments::StarsProvider>(payments::StarsSettings{"VPN"}, nullptr));
    payments::ServiceOptions o;
    o.account = "t1";
    add_providers(providers, o);
    return std::make_shared<payments::PaymentService>(*db_, std::move(providers), clock_, o);
  }

  void start_shop() {
    telegram::RuntimeOptions ro;
    ro.poller.timeout_seconds = 2;
    ro.poller.min_backoff = 50ms;
    ro.poller.max_backoff = 200ms;
    ro.limits.enabled = false;
    if (telegram_limits_) ro.limits = telegram_limits_->runtime;
    telegram::RuntimeEvents events;
    runtime_ = std::make_unique<telegram::BotRuntime>(http_, timers_, base_url(), ro, events);
    ShopDeps d;
    d.tenant_id = kTenant;
    d.db = db_;
    d.payments = payments_;
    d.secrets = &box_;
    d.http = &http_;
    d.runtime = runtime_.get();
    d.bot_key = kBotKey;
    d.bot_username = "vpn_shop_bot";
    d.callback_key = "test-callback-key";
    d.clock = &clock_;
    d.max_users_with_service = max_users_with_service_;
    d.package_name = "Starter";
    if (with_backups_) d.storage = storage_.get();
    auto shop = ShopBot::create(d);
    ASSERT_TRUE(shop) << shop.error().to_string();
    shop_ = *shop;
    ASSERT_TRUE(runtime_->add({kBotKey, token_, telegram::Intake::kPolling, "", shop_}));
    ASSERT_TRUE(emulator_->wait_for_poller("vpn_shop_bot", 10s));
    if (!owner_started_) {
      // Telegram lets a bot write only to people who started it: the owner did, long ago.
      ASSERT_TRUE(emulator_->send_command(owner_, "vpn_shop_bot", "start"));
      ASSERT_TRUE(eventually([&] { return !texts(owner_).empty(); }));
      owner_started_ = true;
    }
  }

  void stop_shop() {
    runtime_.reset();
    shop_.reset();
  }

  std::int64_t add_plan(const std::string& name, int days, std::int64_t traffic, std::int64_t price,
                        const std::string& kind) {
    auto id = db_->with_session([&](storage::Session& s) -> Result<std::int64_t> {
      auto row = s.query_one(
          "INSERT INTO plans (name, panel_id, duration_days, traffic_bytes, price_minor, currency, kind, created_at, "
          "updated_at) VALUES (:n, :p, :d, :t, :price, 'IRR', :kind, 1, 1) RETURNING id",
          {{"n", name}, {"p", panel_id_}, {"d", std::int64_t{days}}, {"t", traffic}, {"price", price}, {"kind", kind}});
      if (!row) return fail(std::move(row.error()));
      return (*row)->get_int("id");
    });
    EXPECT_TRUE(id) << id.error().to_string();
    return id ? *id : 0;
  }

  // ---- what a person sees and does ----

  // A real picture (a PNG) to send as a receipt; the same tag gives the same file.
  static std::string picture(const std::string& tag) {
    auto png = qr_png(tag);
    EXPECT_TRUE(png);
    return png ? *png : std::string();
  }

  std::int64_t scalar(const std::string& sql) { return storage::testing::scalar(*db_, sql); }
  std::int64_t user_id(std::int64_t telegram_id) {
    return scalar("SELECT id AS v FROM users WHERE telegram_id = " + std::to_string(telegram_id));
  }
  std::int64_t balance(std::int64_t telegram_id) {
    return scalar("SELECT balance_minor AS v FROM users WHERE telegram_id = " + std::to_string(telegram_id));
  }

  // /start, and wait for the new menu (so the next press finds its buttons).
  void start_and_wait(std::int64_t who, const std::string& payload = "") {
    const auto before = chat(who).value("messages", json::array()).size();
    ASSERT_TRUE(emulator_->send_command(who, "vpn_shop_bot", "start", payload));
    ASSERT_TRUE(eventually([&] {
      auto messages = chat(who).value("messages", json::array());
      for (std::size_t i = before; i < messages.size(); ++i) {
        const auto text = messages[i]["message"].value("text", "");
        if (messages[i].value("from_bot", false) && (text.rfind("Hi ", 0) == 0 || text.rfind("سلام", 0) == 0))
          return true;
      }
      return false;
    }));
  }

  // Alice (or anyone) goes from /start to the payment methods of the plan.
  void choose_plan(std::int64_t who, const std::string& start_payload = "") {
    start_and_wait(who, start_payload);
    press(who, who == bob_ ? "Buy" : "خرید");
    press(who, "Germany");
    press(who, "1 Month 50GB");
    ASSERT_TRUE(wait_saw(who, who == bob_ ? "Your order" : "سفارش شما"));
  }

  ManualClock clock_{SystemClock::instance().unix_seconds()};
  crypto::SecretBox box_{crypto::Keyring(crypto::generate_key())};
  std::shared_ptr<storage::Database> db_;
  std::unique_ptr<marzban_test::MarzbanTestServer> marzban_;
  http::CurlClient http_;
  TimerQueue timers_;
  std::unique_ptr<telegram::BotRuntime> runtime_;
  std::shared_ptr<payments::PaymentService> payments_;
  std::shared_ptr<ShopBot> shop_;
  std::string token_;
  bool owner_started_ = false;
  std::optional<int> max_users_with_service_;  // the package limit the shop runs under
  bool with_backups_ = false;                  // the shop may export the tenant (backups; the daily one too)
  // Rate limits of Telegram (the emulator answers 429 over them) and of the runtime's pacing;
  // none: the runtime sends unpaced and the emulator has Telegram's defaults.
  struct TelegramLimits {
    telegram::RateLimits telegram;
    telegram::RateLimits runtime;
  };
  std::optional<TelegramLimits> telegram_limits_;
  std::int64_t owner_ = 0, alice_ = 0, bob_ = 0;
  std::int64_t panel_id_ = 0, plan_id_ = 0, traffic_plan_id_ = 0;
};

}  // namespace ms::shop::testing
