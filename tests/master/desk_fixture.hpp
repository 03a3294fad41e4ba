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
#include <thread>

#include "core/timer_queue.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "master/desk_common.hpp"
#include "master/operators.hpp"
#include "master/support.hpp"
#include "recording_deployments.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"
#include "storage/package_repository.hpp"
#include "storage/storage_test_support.hpp"
#include "telegram/conversation.hpp"
#include "telegram/router.hpp"
#include "telegram/runtime.hpp"

namespace ms::master::testing {

using namespace std::chrono_literals;
using nlohmann::json;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 20s) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(25ms);
  }
  return pred();
}

inline constexpr std::string_view kBot = "mothership_bot";

class DeskTest : public storage::testing::StorageTest {
 protected:
  static constexpr telegram::BotKey kBotKey = 1'000'000;

  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    db_ = &storage_->master();
    sandbox::EmulatorOptions eo;
    eo.max_long_poll = 5s;
    emulator_ = std::make_unique<sandbox::Emulator>(eo, SystemClock::instance());
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.handler_timeout = 30s;
    server_ = std::make_unique<http::Server>(so);
    sandbox::add_sandbox_routes(server_->router(), *emulator_);
    ASSERT_TRUE(server_->start());
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
    if (server_) server_->stop(200ms);
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

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/sandbox"; }

  std::int64_t person(const std::string& name, const std::string& lang, const std::string& username) {
    auto p = emulator_->create_user({0, name, "", username, lang});
    EXPECT_TRUE(p) << p.error().to_string();
    return p ? (*p)["id"].get<std::int64_t>() : 0;
  }

  // ---- what a person sees and does ----
  json chat(std::int64_t who) {
    auto c = emulator_->read_chat(who, kBot);
    return c ? *c : json::object();
  }
  std::size_t message_count(std::int64_t who) { return chat(who).value("messages", json::array()).size(); }
  // The bot's messages to `who` from index `from` on: text or caption.
  std::vector<std::string> texts(std::int64_t who, std::size_t from = 0) {
    std::vector<std::string> out;
    auto messages = chat(who).value("messages", json::array());
    for (std::size_t i = from; i < messages.size(); ++i) {
      if (!messages[i].value("from_bot", false)) continue;
      const auto& m = messages[i]["message"];
      if (m.contains("text")) out.push_back(m["text"]);
      if (m.contains("caption")) out.push_back(m["caption"]);
    }
    return out;
  }
  bool saw_since(std::int64_t who, std::size_t from, const std::string& part) {
    for (const auto& t : texts(who, from))
      if (t.find(part) != std::string::npos) return true;
    return false;
  }
  bool wait_saw(std::int64_t who, const std::string& part, std::size_t from = 0) {
    return eventually([&] { return saw_since(who, from, part); });
  }
  // The newest bot text (or caption) that contains `part`, waited for.
  std::string wait_text(std::int64_t who, const std::string& part, std::size_t from = 0) {
    std::string found;
    eventually([&] {
      for (const auto& t : texts(who, from))
        if (t.find(part) != std::string::npos) found = t;
      return !found.empty();
    });
    return found;
  }
  int photos(std::int64_t who) {
    int n = 0;
    for (const auto& m : chat(who).value("messages", json::array()))
      if (m.value("from_bot", false) && m["message"].contains("photo")) ++n;
    return n;
  }
  std::optional<std::pair<std::int64_t, std::string>> find_button(std::int64_t who, const std::string& label) {
    auto messages = chat(who).value("messages", json::array());
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      const auto& msg = (*it)["message"];
      if (!msg.contains("reply_markup")) continue;
      for (const auto& row : msg["reply_markup"].value("inline_keyboard", json::array())) {
        for (const auto& b : row) {
          if (b.value("text", "").find(label) != std::string::npos && b.contains("callback_data")) {
            return std::pair{msg["message_id"].get<std::int64_t>(), b["callback_data"].get<std::string>()};
          }
        }
      }
    }
    return std::nullopt;
  }
  // Presses a button given as {message_id, data}; success: what the bot answered the press.
  std::string press_exact(std::int64_t who, const std::pair<std::int64_t, std::string>& b) {
    auto q = emulator_->press_button(who, kBot, b.first, b.second);
    EXPECT_TRUE(q) << q.error().to_string();
    if (!q) return "";
    std::string text;
    EXPECT_TRUE(eventually([&] {
      auto a = emulator_->callback_answer(*q);
      if (!a || !(*a).value("answered", false)) return false;
      text = (*a).value("text", "");
      return true;
    }));
    return text;
  }
  // Presses the newest button labelled `label`; success: the press's answer text.
  std::string press(std::int64_t who, const std::string& label) {
    std::optional<std::pair<std::int64_t, std::string>> b;
    EXPECT_TRUE(eventually([&] { return (b = find_button(who, label)).has_value(); }))
        << "no button " << label << " in " << chat(who).dump().substr(0, 4000);
    return b ? press_exact(who, *b) : "";
  }
  void press_to(std::int64_t who, const std::string& label, const std::string& expect) {
    const auto before = message_count(who);
    press(who, label);
    ASSERT_TRUE(wait_saw(who, expect, before))
        << "after " << label << " no '" << expect << "' in " << chat(who).dump().substr(0, 4000);
  }
  void say(std::int64_t who, const std::string& text, const std::string& expect) {
    const auto before = message_count(who);
    ASSERT_TRUE(emulator_->send_text(who, kBot, text));
    ASSERT_TRUE(wait_saw(who, expect, before))
        << "after '" << text << "' no '" << expect << "' in " << chat(who).dump().substr(0, 4000);
  }
  void command(std::int64_t who, const std::string& cmd, const std::string& expect) {
    const auto before = message_count(who);
    ASSERT_TRUE(emulator_->send_command(who, kBot, cmd));
    ASSERT_TRUE(wait_saw(who, expect, before))
        << "/" << cmd << ": no '" << expect << "' in " << chat(who).dump().substr(0, 4000);
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
  std::unique_ptr<sandbox::Emulator> emulator_;
  std::unique_ptr<http::Server> server_;
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
