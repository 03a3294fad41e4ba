// Shared by the shop's unit and integration tests (src/bots/shop/*_test.cpp): a migrated tenant
// on the backend under test with rows inserted directly, and a sandbox Telegram (the
// emulator behind a real HTTP server on 127.0.0.1) with a BotRuntime talking to it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/timer_queue.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"
#include "storage/storage_test_support.hpp"
#include "telegram/runtime.hpp"

namespace ms::shop::testing {

using storage::Database;
using storage::Session;
using storage::Value;

inline Value opt(const std::optional<std::int64_t>& v) { return v ? Value{*v} : Value{}; }
inline Value opt(const std::optional<std::string>& v) { return v ? Value{*v} : Value{}; }

// Runs one statement that must succeed; returns the id it RETURNING-ed (or 0).
inline std::int64_t insert(Database& db, const std::string& sql, const storage::Params& params) {
  auto id = db.with_session([&](Session& s) -> Result<std::int64_t> {
    auto row = s.query_one(sql, params);
    if (!row) return fail(std::move(row.error()));
    return *row ? (*row)->get_int("id") : 0;
  });
  EXPECT_TRUE(id) << id.error().to_string() << "\n" << sql;
  return id ? *id : 0;
}

inline std::int64_t exec(Database& db, const std::string& sql, const storage::Params& params = {}) {
  auto n = db.with_session([&](Session& s) { return s.exec(sql, params); });
  EXPECT_TRUE(n) << n.error().to_string() << "\n" << sql;
  return n ? *n : -1;
}

inline std::int64_t scalar(Database& db, const std::string& sql, const storage::Params& params = {}) {
  auto v = db.with_session([&](Session& s) -> Result<std::int64_t> {
    auto row = s.query_one(sql, params);
    if (!row) return fail(std::move(row.error()));
    if (!*row) return fail(ErrorCode::kNotFound, "no row");
    return (*row)->get_int((*row)->column_name(0));
  });
  EXPECT_TRUE(v) << v.error().to_string() << "\n" << sql;
  return v ? *v : -1;
}

struct UserSpec {
  std::int64_t telegram_id = 0;
  std::string language = "fa";
  bool blocked_bot = false;
  bool banned = false;
  std::optional<std::string> campaign = std::nullopt;
  std::int64_t created_at = 1'700'000'000;
};

inline std::int64_t add_user(Database& db, const UserSpec& u) {
  return insert(db,
                "INSERT INTO users (telegram_id, first_name, language, blocked_bot, banned, campaign, created_at, "
                "updated_at) VALUES (:tg, :name, :lang, :blocked, :banned, :campaign, :at, :at) RETURNING id",
                {{"tg", u.telegram_id},
                 {"name", "User " + std::to_string(u.telegram_id)},
                 {"lang", u.language},
                 {"blocked", std::int64_t{u.blocked_bot}},
                 {"banned", std::int64_t{u.banned}},
                 {"campaign", opt(u.campaign)},
                 {"at", u.created_at}});
}

inline std::int64_t add_panel(Database& db, const std::string& name, const std::string& url = "http://127.0.0.1:1") {
  return insert(db,
                "INSERT INTO panels (name, base_url, username, password_enc, created_at, updated_at) "
                "VALUES (:name, :url, 'admin', 'unused-in-tests', 1, 1) RETURNING id",
                {{"name", name}, {"url", url}});
}

inline std::int64_t add_plan(Database& db, const std::string& name, std::optional<std::int64_t> panel_id,
                             std::int64_t price_minor = 1'000'000, const std::string& currency = "IRR") {
  return insert(db,
                "INSERT INTO plans (name, panel_id, duration_days, traffic_bytes, price_minor, currency, created_at, "
                "updated_at) VALUES (:name, :panel, 30, 32212254720, :price, :cur, 1, 1) RETURNING id",
                {{"name", name}, {"panel", opt(panel_id)}, {"price", price_minor}, {"cur", currency}});
}

struct ServiceSpec {
  std::int64_t user_id = 0;
  std::int64_t panel_id = 0;
  std::string panel_username = {};
  std::string status = "active";
  std::optional<std::int64_t> limit_bytes = std::nullopt;
  std::int64_t used_bytes = 0;
  std::optional<std::int64_t> expires_at = std::nullopt;
  std::optional<std::int64_t> plan_id = std::nullopt;
};

inline std::int64_t add_service(Database& db, const ServiceSpec& s) {
  return insert(db,
                "INSERT INTO services (user_id, plan_id, panel_id, panel_username, status, traffic_limit_bytes, "
                "traffic_used_bytes, expires_at, created_at, updated_at) VALUES (:user, :plan, :panel, :name, "
                ":status, :limit, :used, :expires, 1, 1) RETURNING id",
                {{"user", s.user_id},
                 {"plan", opt(s.plan_id)},
                 {"panel", s.panel_id},
                 {"name", s.panel_username},
                 {"status", s.status},
                 {"limit", opt(s.limit_bytes)},
                 {"used", s.used_bytes},
                 {"expires", opt(s.expires_at)}});
}

// A migrated tenant (id 1) on the backend under test.
class TenantTest : public storage::testing::StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto t = storage_->create_tenant(1);
    ASSERT_TRUE(t) << t.error().to_string();
    db_ = *t;
  }
  void TearDown() override {
    db_.reset();
    StorageTest::TearDown();
  }
  Database& db() { return *db_; }

  std::shared_ptr<Database> db_;
};

// Waits until `pred` holds, polling (the emulator is the source of truth).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = std::chrono::seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

class NullHandler : public telegram::UpdateHandler {
 public:
  void handle(telegram::BotContext&, const telegram::Update&) override {}
};

// The sandbox Telegram on 127.0.0.1 and a runtime hosting one bot (key 1, manual intake).
class Sandbox {
 public:
  explicit Sandbox(sandbox::EmulatorOptions emulator_options = {}, telegram::RuntimeOptions runtime_options = {})
      : emulator_(std::make_unique<sandbox::Emulator>(emulator_options, SystemClock::instance())) {
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.handler_timeout = std::chrono::seconds(30);
    server_ = std::make_unique<http::Server>(so);
    sandbox::add_sandbox_routes(server_->router(), *emulator_);
    auto started = server_->start();
    if (!started) throw std::runtime_error(started.error().to_string());
    base_url_ = "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/sandbox";
    auto bot = emulator_->create_bot("shop_test_bot", "Shop");
    if (!bot) throw std::runtime_error(bot.error().to_string());
    bot_ = *bot;
    start_runtime(runtime_options);
  }
  ~Sandbox() {
    runtime_.reset();
    server_->stop(std::chrono::milliseconds(200));
  }

  // (Re)starts the runtime, as a restarted process would.
  void start_runtime(telegram::RuntimeOptions options = {}) {
    runtime_.reset();
    telegram::RuntimeEvents events;
    events.on_blocked = [this](telegram::BotKey, std::int64_t chat, const telegram::TelegramError&) {
      std::lock_guard lock(mutex_);
      blocked_.push_back(chat);
    };
    runtime_ = std::make_unique<telegram::BotRuntime>(http_, timers_, base_url_, options, events);
    auto added =
        runtime_->add(telegram::BotSpec{1, bot_.token, telegram::Intake::kManual, "", std::make_shared<NullHandler>()});
    if (!added) throw std::runtime_error(added.error().to_string());
  }

  // The owner revoked the token in BotFather (Telegram answers 401 from now on); then
  // restarted_with_new_token() gives the runtime the new one, as a re-deploy would.
  void revoke_token() {
    auto fresh = emulator_->revoke_token(bot_.username);
    if (!fresh) throw std::runtime_error(fresh.error().to_string());
    bot_ = *fresh;
  }
  void restart_with_new_token() {
    auto restarted = runtime_->restart(1, bot_.token);
    if (!restarted) throw std::runtime_error(restarted.error().to_string());
  }

  // A person who started the bot (so it may write to them).
  std::int64_t person(const std::string& name, bool blocked = false) {
    auto p = emulator_->create_user({0, name, "", "", "fa"});
    if (!p) throw std::runtime_error(p.error().to_string());
    const std::int64_t id = (*p)["id"].get<std::int64_t>();
    if (!emulator_->send_text(id, bot_.username, "/start")) throw std::runtime_error("start failed");
    if (blocked && !emulator_->block_bot(id, bot_.username)) throw std::runtime_error("block failed");
    return id;
  }

  // The bot's messages in the person's chat, as the person sees them.
  std::vector<nlohmann::json> bot_messages(std::int64_t person) {
    std::vector<nlohmann::json> out;
    auto chat = emulator_->read_chat(person, bot_.username);
    if (!chat) return out;
    for (const auto& m : (*chat)["messages"]) {
      if (m.value("from_bot", false)) out.push_back(m["message"]);
    }
    return out;
  }

  std::shared_ptr<telegram::BotContext> context() { return runtime_->context(1); }
  telegram::BotRuntime& runtime() { return *runtime_; }
  sandbox::Emulator& emulator() { return *emulator_; }
  const sandbox::BotCredentials& bot() const { return bot_; }
  std::vector<std::int64_t> blocked() {
    std::lock_guard lock(mutex_);
    return blocked_;
  }

 private:
  std::unique_ptr<sandbox::Emulator> emulator_;
  std::unique_ptr<http::Server> server_;
  std::string base_url_;
  sandbox::BotCredentials bot_;
  http::CurlClient http_;
  TimerQueue timers_;
  std::unique_ptr<telegram::BotRuntime> runtime_;
  std::mutex mutex_;
  std::vector<std::int64_t> blocked_;
};

}  // namespace ms::shop::testing
