// The process killed mid-purchase and restarted: the real `mothership serve` (a child process,
// tests/support/serve_process.hpp) hosts a customer's shop bot made with `mothership shop
// create`; Telegram (the sandbox emulator) and the strict Marzban test panel live in this test
// process, so they outlive serve as the real ones would. A person buys a plan card to card and
// serve gets SIGKILL at the worst moments:
//   * while the panel holds the account-creating POST /api/user (before or after creating it),
//   * when the owner's approve press is answered (paid, not yet delivered),
//   * in the middle of the person's flow (plan chosen, nothing paid).
// After a restart on the same data the order ends delivered: one account on the panel, one
// link + QR message, the payment paid once, the wallet ledger untouched; the person carries on
// where they were. On SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/crypto/secret_box.hpp"
#include "http/middleware.hpp"
#include "http/server.hpp"
#include "marzban_server.hpp"
#include "panels/panel_repository.hpp"
#include "panels/provision.hpp"
#include "sandbox_people.hpp"
#include "serve_process.hpp"
#include "bots/shop/qr.hpp"
#include "bots/shop/settings.hpp"
#include "storage/storage.hpp"
#include "storage/storage_test_support.hpp"

namespace ms::shop::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

using test_support::eventually;

constexpr const char* kBot = "crash_shop_bot";
constexpr std::int64_t kPlanPrice = 1'500'000;  // Rial

class ServeCrash : public ::testing::TestWithParam<storage::Backend>, protected test_support::SandboxPeople {
 protected:
  void SetUp() override {
    // Telegram, in this process: it must outlive serve.
    sandbox::EmulatorOptions eo;
    eo.max_long_poll = 2s;  // a dead process's long poll ends soon
    bot_username_ = kBot;
    // A kill at the moment serve answers a button press (before Telegram takes the answer).
    start_sandbox(eo, [this](http::Server& telegram) {
      telegram.use(http::Middleware{
          "kill-on-answer",
          [this](http::Request& req) -> std::optional<http::Response> {
            std::string path = req.path;
            std::transform(path.begin(), path.end(), path.begin(), [](unsigned char c) { return std::tolower(c); });
            if (path.find("/answercallbackquery") != std::string::npos && kill_on_answer_.exchange(false)) {
              (void)serve_->kill();
              killed_ = true;
            }
            return std::nullopt;
          },
          nullptr});
    });
    if (HasFatalFailure()) return;
    const std::string api = base_url();

    marzban_ = std::make_unique<marzban_test::MarzbanTestServer>();
    ASSERT_TRUE(marzban_->start());

    auto master = emulator_->create_bot("crash_master_bot", "Mothership");
    ASSERT_TRUE(master) << master.error().to_string();
    auto shop_bot = emulator_->create_bot(kBot, "VPN Shop");
    ASSERT_TRUE(shop_bot) << shop_bot.error().to_string();
    owner_ = person("Owner", "en");
    alice_ = person("Alice", "en");

    test_support::ServeSetup setup;
    setup.backend = GetParam();
    setup.telegram_api_url = api;
    setup.master_bot_token = master->token;
    auto serve = test_support::ServeProcess::create(setup);
    if (!serve) {
      if (serve.error().code == ErrorCode::kUnavailable && std::getenv("MOTHERSHIP_TEST_REQUIRE_PG") == nullptr)
        GTEST_SKIP() << serve.error().message;
      FAIL() << serve.error().to_string();
    }
    serve_ = std::move(*serve);

    // The customer's shop, recorded as an operator would.
    auto made = serve_->run({"shop", "create", "--token", shop_bot->token, "--owner", std::to_string(owner_), "--name",
                             "Crash shop", "--username", kBot});
    ASSERT_TRUE(made) << made.error().to_string();
    ASSERT_EQ(made->exit_code, 0) << made->output;

    // serve's deployment pipeline makes the customer's tenant database and starts the shop;
    // then the owner's catalog is written while serve is stopped, with the code the shop uses.
    ASSERT_TRUE(start_serve());
    auto storage = storage::Storage::open(serve_->storage_options());
    ASSERT_TRUE(storage) << storage.error().to_string();
    storage_ = std::move(*storage);
    auto tenant_of_customer = [&]() -> Result<std::int64_t> {
      return storage_->master().with_session([](storage::Session& s) -> Result<std::int64_t> {
        auto row = s.query_one("SELECT tenant_id FROM customers WHERE tenant_id IS NOT NULL");
        if (!row) return fail(std::move(row.error()));
        if (!*row) return fail(ErrorCode::kNotFound, "no customer with a tenant yet");
        return (*row)->get_int("tenant_id");
      });
    };
    ASSERT_TRUE(eventually([&] { return static_cast<bool>(tenant_of_customer()); })) << serve_->log();
    auto stopped = serve_->stop();
    ASSERT_TRUE(stopped) << stopped.error().to_string();
    tenant_id_ = *tenant_of_customer();
    auto db = storage_->tenant(tenant_id_);
    ASSERT_TRUE(db) << db.error().to_string();
    db_ = *db;
    write_catalog();

    ASSERT_TRUE(start_serve());
    // Telegram lets a bot write only to people who started it: the owner did.
    start_and_wait(owner_);
  }

  void TearDown() override {
    if (serve_ && serve_->running()) (void)serve_->kill();
    if (marzban_) marzban_->stop();
    stop_sandbox();
    db_.reset();
    storage_.reset();
    serve_.reset();
  }

  void write_catalog() {
    const std::int64_t now = SystemClock::instance().unix_seconds();
    crypto::SecretBox box(serve_->keyring());
    panels::PanelRepository repo(*db_, box);
    panels::PanelRecord pr;
    pr.name = "Germany";
    pr.base_url = marzban_->base_url();
    pr.username = "admin";
    pr.password = crypto::Secret("admin");
    auto panel_id = repo.insert(pr, now);
    ASSERT_TRUE(panel_id) << panel_id.error().to_string();
    auto written = db_->transaction([&](storage::Session& s) -> Result<void> {
      auto plan = s.exec(
          "INSERT INTO plans (name, panel_id, duration_days, traffic_bytes, price_minor, currency, kind, created_at, "
          "updated_at) VALUES ('1 Month 50GB', :p, 30, :t, :price, 'IRR', 'service', :now, :now)",
          {{"p", *panel_id}, {"t", std::int64_t{50} << 30}, {"price", kPlanPrice}, {"now", now}});
      if (!plan) return fail(std::move(plan.error()));
      auto card = s.exec(
          "INSERT INTO payment_methods (provider, enabled, config, updated_at) VALUES ('card_to_card', 1, :config, "
          ":now)",
          {{"config", json{{"card_number", "6037990000001234"}, {"card_holder", "Owner"}}.dump()}, {"now", now}});
      if (!card) return fail(std::move(card.error()));
      return ok();
    });
    ASSERT_TRUE(written) << written.error().to_string();
    ShopSettings settings;
    settings.admins = {{owner_, AdminRole::kOwner}};
    settings.antispam.max_updates = 1000;
    ASSERT_TRUE(save_settings(*db_, settings, now));
  }

  // Starts serve and waits until this run hosts the shop (its log says so).
  bool start_serve() {
    auto started = serve_->start();
    EXPECT_TRUE(started) << started.error().to_string();
    if (!started) return false;
    const bool hosted = eventually([&] { return serve_->log().find("is running") != std::string::npos; });
    EXPECT_TRUE(hosted) << "the shop did not start; log " << serve_->log_path() << ":\n" << serve_->log();
    return hosted;
  }

  // Presses the newest button labelled `label` and waits for the bot's answer to the press
  // (not for a change in the chat: a kill may land before it).
  void press(std::int64_t who, const std::string& label) {
    std::optional<std::pair<std::int64_t, std::string>> b;
    ASSERT_TRUE(eventually([&] { return (b = find_button(who, label)).has_value(); }))
        << "no button " << label << " in " << messages(who).dump().substr(0, 4000);
    auto q = emulator_->press_button(who, kBot, b->first, b->second);
    ASSERT_TRUE(q) << q.error().to_string();
    ASSERT_TRUE(eventually([&] {
      auto a = emulator_->callback_answer(*q);
      return a && (*a).value("answered", false);
    })) << "the press of "
        << label << " was not answered";
  }
  // /start, and wait for the menu it brings.
  void start_and_wait(std::int64_t who) {
    const auto before = count_saw(who, "Buy a service") + count_menu(who);
    ASSERT_TRUE(emulator_->send_command(who, kBot, "start"));
    ASSERT_TRUE(eventually([&] { return count_saw(who, "Buy a service") + count_menu(who) > before; }))
        << messages(who).dump().substr(0, 4000);
  }
  int count_menu(std::int64_t who) {
    int n = 0;
    for (const auto& m : messages(who)) {
      if (!m.value("from_bot", false)) continue;
      for (const auto& row : m["message"].value("reply_markup", json::object()).value("inline_keyboard", json::array()))
        for (const auto& b : row) n += b.value("text", "").find("Buy a service") != std::string::npos;
    }
    return n;
  }

  // Alice: /start -> Buy -> Germany -> the plan: her order waits for a payment method.
  void choose_plan() {
    start_and_wait(alice_);
    press(alice_, "Buy a service");
    press(alice_, "Germany");
    press(alice_, "1 Month 50GB");
    ASSERT_TRUE(wait_saw(alice_, "Your order"));
  }
  // Card to card, the receipt photo, and the owner has the approve button.
  void pay_by_card() {
    press(alice_, "Card to card");
    ASSERT_TRUE(wait_saw(alice_, "6037990000001234"));
    auto png = qr_png("receipt of alice");
    ASSERT_TRUE(png);
    ASSERT_TRUE(emulator_->send_photo(alice_, kBot, *png));
    ASSERT_TRUE(wait_saw(alice_, "Your receipt was received"));
    ASSERT_TRUE(eventually([&] { return find_button(owner_, "Approve").has_value(); }));
  }
  // The owner presses approve; the press may kill serve (its answer is never seen then).
  void approve() {
    auto b = find_button(owner_, "Approve");
    ASSERT_TRUE(b);
    ASSERT_TRUE(emulator_->press_button(owner_, kBot, b->first, b->second));
  }

  // ---- what the databases and the panel hold ----

  std::int64_t scalar(const std::string& sql) { return storage::testing::scalar(*db_, sql); }
  std::string order_status(std::int64_t order) {
    auto v = db_->with_session([&](storage::Session& s) -> Result<std::string> {
      auto row = s.query_one("SELECT status FROM orders WHERE id = :id", {{"id", order}});
      if (!row) return fail(std::move(row.error()));
      return *row ? (*row)->get_string("status") : std::string("none");
    });
    return v ? *v : "error: " + v.error().message;
  }
  std::int64_t the_order() { return scalar("SELECT max(id) AS v FROM orders"); }

  // Waits for the order to be delivered, stops serve cleanly (nothing of it can still be
  // sending), then checks that everything happened exactly once.
  void expect_delivered_once(std::int64_t order, std::int64_t ledger_before) {
    ASSERT_TRUE(eventually([&] { return order_status(order) == "completed"; }, 60s))
        << "order " << order << " is " << order_status(order) << "; log " << serve_->log_path() << ":\n"
        << serve_->log();
    ASSERT_TRUE(eventually([&] { return count_saw(alice_, "is ready!") >= 1 && photos(alice_) >= 1; }));
    auto stopped = serve_->stop();
    ASSERT_TRUE(stopped) << stopped.error().to_string();
    EXPECT_EQ(*stopped, 0) << serve_->log();

    // One account on the panel, and it is this order's.
    EXPECT_EQ(marzban_->user_count(), 1u);
    EXPECT_EQ(marzban_->hits("POST /api/user") >= 1, true);
    const auto marker = panels::Provisioner::marker(tenant_id_, order);
    auto username = db_->with_session([&](storage::Session& s) -> Result<std::string> {
      auto row = s.query_one("SELECT panel_username FROM services WHERE order_id = :o", {{"o", order}});
      if (!row) return fail(std::move(row.error()));
      if (!*row) return fail(ErrorCode::kNotFound, "no service for the order");
      return (*row)->get_string("panel_username");
    });
    ASSERT_TRUE(username) << username.error().to_string();
    auto account = marzban_->user_json(*username);
    ASSERT_TRUE(account) << "the panel has no " << *username;
    EXPECT_NE(json::parse(*account).value("note", "").find(marker), std::string::npos) << *account;
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM services WHERE status = 'active'"), 1);

    // One delivery: the link once, its QR code once.
    EXPECT_EQ(count_saw(alice_, "is ready!"), 1) << messages(alice_).dump().substr(0, 6000);
    EXPECT_EQ(photos(alice_), 1);
    auto url = db_->with_session([&](storage::Session& s) -> Result<std::string> {
      auto row = s.query_one("SELECT subscription_url FROM services WHERE order_id = :o", {{"o", order}});
      if (!row) return fail(std::move(row.error()));
      return *row ? (*row)->get_string("subscription_url") : std::string();
    });
    ASSERT_TRUE(url);
    EXPECT_EQ(count_saw(alice_, *url), 1);

    // Paid once, by card; nothing went through the wallet.
    const std::string of_order = " WHERE order_id = " + std::to_string(order);
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM payments" + of_order), 1);
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM payments" + of_order + " AND status = 'paid'"), 1);
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders"), 1);
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM wallet_ledger"), ledger_before);
    EXPECT_EQ(scalar("SELECT balance_minor AS v FROM users WHERE telegram_id = " + std::to_string(alice_)), 0);
  }

  std::unique_ptr<marzban_test::MarzbanTestServer> marzban_;
  std::unique_ptr<test_support::ServeProcess> serve_;
  std::unique_ptr<storage::Storage> storage_;
  std::shared_ptr<storage::Database> db_;
  std::int64_t tenant_id_ = 0;
  std::int64_t owner_ = 0, alice_ = 0;
  std::atomic<bool> kill_on_answer_{false};
  std::atomic<bool> killed_{false};
};

TEST_P(ServeCrash, KilledWhileThePanelHoldsTheCreateBeforeMakingIt) {
  choose_plan();
  pay_by_card();
  const auto order = the_order();
  const auto ledger = scalar("SELECT count(*) AS v FROM wallet_ledger");
  marzban_test::Fault hold{"POST", "/api/user", marzban_test::Fault::Kind::kHold};
  hold.on_hit = [this] {
    (void)serve_->kill();
    killed_ = true;
  };
  marzban_->add_fault(hold);
  approve();
  ASSERT_TRUE(eventually([&] { return killed_.load(); })) << serve_->log();
  EXPECT_FALSE(serve_->running());
  EXPECT_EQ(marzban_->user_count(), 0u) << "the held create was not done";
  EXPECT_EQ(order_status(order), "provisioning");
  EXPECT_EQ(count_saw(alice_, "is ready!"), 0);

  ASSERT_TRUE(start_serve());
  expect_delivered_once(order, ledger);
  EXPECT_EQ(marzban_->hits("POST /api/user"), 2) << "the held one, then the resumed one";
}

TEST_P(ServeCrash, KilledWhileThePanelHoldsTheAnswerOfTheCreate) {
  choose_plan();
  pay_by_card();
  const auto order = the_order();
  const auto ledger = scalar("SELECT count(*) AS v FROM wallet_ledger");
  marzban_test::Fault hold{"POST", "/api/user", marzban_test::Fault::Kind::kApplyHold};
  hold.on_hit = [this] {
    (void)serve_->kill();
    killed_ = true;
  };
  marzban_->add_fault(hold);
  approve();
  ASSERT_TRUE(eventually([&] { return killed_.load(); })) << serve_->log();
  EXPECT_EQ(marzban_->user_count(), 1u) << "the account was made; serve never heard of it";
  EXPECT_EQ(order_status(order), "provisioning");

  ASSERT_TRUE(start_serve());
  expect_delivered_once(order, ledger);
  EXPECT_EQ(marzban_->hits("POST /api/user"), 1) << "the account was adopted, not made again";
}

TEST_P(ServeCrash, KilledWhenTheApprovePressIsAnswered) {
  choose_plan();
  pay_by_card();
  const auto order = the_order();
  const auto ledger = scalar("SELECT count(*) AS v FROM wallet_ledger");
  kill_on_answer_ = true;
  approve();
  ASSERT_TRUE(eventually([&] { return killed_.load(); })) << serve_->log();
  EXPECT_FALSE(serve_->running());
  // The approval is durable; whatever followed it may or may not have started.
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM payments WHERE status = 'paid'"), 1);
  const auto status = order_status(order);
  EXPECT_TRUE(status == "paid" || status == "provisioning") << status;

  ASSERT_TRUE(start_serve());
  expect_delivered_once(order, ledger);
}

TEST_P(ServeCrash, KilledInTheMiddleOfTheFlowThePersonCarriesOn) {
  choose_plan();
  const auto order = the_order();
  EXPECT_EQ(order_status(order), "pending");
  ASSERT_TRUE(serve_->kill());
  ASSERT_TRUE(start_serve());
  // The same order screen still works: pay, send the receipt, get approved.
  pay_by_card();
  const auto ledger = scalar("SELECT count(*) AS v FROM wallet_ledger");
  approve();
  expect_delivered_once(order, ledger);
  EXPECT_EQ(marzban_->hits("POST /api/user"), 1);
  EXPECT_EQ(serve_->starts(), 3);  // the set-up's two (tenant made, catalog written) and the restart
}

INSTANTIATE_TEST_SUITE_P(Backends, ServeCrash,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         [](const ::testing::TestParamInfo<storage::Backend>& info) {
                           return std::string(info.param == storage::Backend::kSqlite ? "Sqlite" : "Postgres");
                         });

}  // namespace
}  // namespace ms::shop::testing
