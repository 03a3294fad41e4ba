// The fixture of the master desk's sandbox tests: the master database (SQLite or
// PostgreSQL), the sandbox emulator behind a real HTTP server (Telegram over loopback), and
// a minimal master bot host: a BotRuntime polling the sandbox with a Router that has the
// SupportDesk and OperatorDesk installed, and a /start that enters the customer and shows
// the features' menu entries (what the master bot itself does, in a few lines). People press
// buttons and send photos through the emulator's person side; checks read what Telegram
// and the database really hold.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "core/timer_queue.hpp"
#include "http/client.hpp"
#include "bots/master/desk_common.hpp"
#include "bots/master/operators.hpp"
#include "bots/master/support.hpp"
#include "recording_deployments.hpp"
#include "sandbox_people.hpp"
#include "storage/package_repository.hpp"
#include "storage/storage_test_support.hpp"
#include "telegram/conversation.hpp"
#include "telegram/router.hpp"
#include "telegram/runtime.hpp"

namespace ms::master::testing {

using namespace std::chrono_literals;
using nlohmann::json;

using test_support::eventually;

inline constexpr std::string_view kBot = "mothership_bot";

class DeskTest : public storage::testing::StorageTest, protected test_support::SandboxPeople {
 protected:
  static constexpr telegram::BotKey kBotKey = 1'000'000;

  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    db_ = &storage_->master();
    sandbox::EmulatorOptions eo;
    eo.max_long_poll = 5s;
    start_sandbox(eo);
    if (HasFatalFailure()) return;
    bot_username_ = std::string(kBot);
    auto bot = emulator_->create_bot(kBot, "Mothership");
    ASSERT_TRUE(bot) << bot.error().to_string();
    token_ = bot->token;
    operator_ = person("Olga", "en", "olga_ops");
    alice_ = person("Alice", "en", "alice_vpn");
    deployments_ = std::make_unique<RecordingDeployments>(*db_);
  }

  void TearDown() override {
    runtime_.reset();
    router_.reset();
    stop_sandbox();
    StorageTest::TearDown();
  }

  // Starts the master bot with the desk features (tests seed data first).
  void start_bot() {
    ctx_.db = db_;
    ctx_.clock = &clock_;
    ctx_.operator_ids = {operator_};
    ctx_.deployments = deployments_.get();
    ctx_.callback_key = "master-test-key";
    ctx_.language_of = [this](std::int64_t telegram_id) {
      auto lang = db_->with_session([&](storage::Session& s) -> Result<std::string> {
        auto row = s.query_one("SELECT language FROM customers WHERE telegram_id = :tg", {{"tg", telegram_id}});
        if (!row) return fail(std::move(row.error()));
        return *row ? (*row)->get_string("language") : std::string("en");
      });
      return lang ? *lang : std::string("fa");
    };
    ctx_.send = [this](std::int64_t chat, const std::string& text,
                       std::optional<telegram::InlineKeyboardMarkup> markup) -> Result<void> {
      auto bot = runtime_ ? runtime_->context(kBotKey) : nullptr;
      if (!bot) return fail(ErrorCode::kUnavailable, "the master bot is not running");
      telegram::SendMessage m;
      m.chat_id = chat;
      m.text = text;
      m.parse_mode = "HTML";
      if (markup) m.reply_markup = std::move(*markup);
      auto sent = bot->send_sync(m);
      if (sent) return ok();
      return fail(sent.error().error_code == 403 ? ErrorCode::kPermissionDenied : ErrorCode::kUnavailable,
                  sent.error().to_string());
    };
    features_.push_back(std::make_unique<SupportDesk>(ctx_));
    OperatorOptions ops;
    ops.payments_action = "pay.review";  // the master bot's receipts screen
    features_.push_back(std::make_unique<OperatorDesk>(ctx_, ops));
    router_ = std::make_shared<telegram::Router>(telegram::make_database_conversation_store(*db_), ctx_.callback_key,
                                                 telegram::RouterOptions{}, clock_);
    for (auto& f : features_) f->install(*router_);
    router_->on_callback("pay.review", [](telegram::Turn& turn) {
      turn.answer();
      turn.reply("Receipts to review: none");
    });
    router_->on_command("start", [this](telegram::Turn& turn) {
      auto c = desk::ensure_customer(*db_, *turn.user(), clock_.unix_seconds());
      ASSERT_TRUE(c) << c.error().to_string();
      const auto lang = desk::lang_of(ctx_, turn.user_id());
      auto kb = desk::keyboard(ctx_, lang);
      for (auto& f : features_) {
        for (const auto& entry : f->menu(turn.user_id())) kb.button(desk::t(lang, entry.label_key), entry.action).row();
      }
      turn.reply("Main menu", desk::built(kb));
    });
    telegram::RuntimeOptions ro;
    ro.poller.timeout_seconds = 2;
    ro.poller.min_backoff = 50ms;
    ro.poller.max_backoff = 200ms;
    ro.limits.enabled = false;
    runtime_ = std::make_unique<telegram::BotRuntime>(http_, timers_, base_url(), ro);
    ASSERT_TRUE(runtime_->add({kBotKey, token_, telegram::Intake::kPolling, "", router_}));
    ASSERT_TRUE(emulator_->wait_for_poller(kBot, 10s));
  }

  std::int64_t scalar(const std::string& sql) {
    auto v = db_->with_session([&](storage::Session& s) -> Result<std::int64_t> {
      auto row = s.query_one(sql);
      if (!row) return fail(std::move(row.error()));
      return *row ? (*row)->get_int("v") : std::int64_t{-1};
    });
    EXPECT_TRUE(v) << v.error().to_string();
    return v ? *v : -1;
  }
  void exec(const std::string& sql, const storage::Params& params = {}) {
    auto r = db_->with_session([&](storage::Session& s) { return s.exec(sql, params); });
    ASSERT_TRUE(r) << sql << ": " << r.error().to_string();
  }

  ManualClock clock_{1'800'000'000};
  storage::Database* db_ = nullptr;
  http::CurlClient http_;
  TimerQueue timers_;
  std::unique_ptr<RecordingDeployments> deployments_;
  MasterContext ctx_;
  std::vector<std::unique_ptr<MasterFeature>> features_;
  std::shared_ptr<telegram::Router> router_;
  std::unique_ptr<telegram::BotRuntime> runtime_;
  std::string token_;
  std::int64_t operator_ = 0, alice_ = 0;
};

}  // namespace ms::master::testing
