// The master bot inside the real `mothership serve` (a child process,
// tests/support/serve_process.hpp), with Telegram (the sandbox emulator) in this test process
// behind a real HTTP server on 127.0.0.1, so it outlives serve as the real one would. People
// talk to the master bot and to the shop bots through the emulator; every check reads what the
// emulator or the databases really hold. `on_bot_api` sees every Bot API request first (for a
// test that logs them or kills serve at one). On SQLite and PostgreSQL (the parameter).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/middleware.hpp"
#include "http/server.hpp"
#include "sandbox_people.hpp"
#include "serve_process.hpp"
#include "storage/storage.hpp"
#include "storage/storage_test_support.hpp"

namespace ms::master::testing {

using namespace std::chrono_literals;
using nlohmann::json;

using test_support::eventually;

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

inline constexpr const char* kMasterBot = "serve_master_bot";

class ServeMasterTest : public ::testing::TestWithParam<storage::Backend>, protected test_support::SandboxPeople {
 protected:
  // Telegram and its master bot; serve is made (not started) with `env` added.
  void make_serve(const std::map<std::string, std::string>& env = {}) {
    bot_username_ = kMasterBot;
    sandbox::EmulatorOptions eo;
    eo.max_long_poll = 2s;  // a dead process's long poll ends soon
    start_sandbox(eo, [this](http::Server& telegram) {
      telegram.use(http::Middleware{"test-hook",
                                    [this](http::Request& req) -> std::optional<http::Response> {
                                      on_bot_api(lower(req.path));
                                      return std::nullopt;
                                    },
                                    nullptr});
    });
    if (HasFatalFailure()) return;
    const std::string api = base_url();
    auto master = emulator_->create_bot(kMasterBot, "Mothership");
    ASSERT_TRUE(master) << master.error().to_string();

    test_support::ServeSetup setup;
    setup.backend = GetParam();
    setup.telegram_api_url = api;
    setup.master_bot_token = master->token;
    setup.env = env;
    auto serve = test_support::ServeProcess::create(setup);
    if (!serve) {
      if (serve.error().code == ErrorCode::kUnavailable && std::getenv("MOTHERSHIP_TEST_REQUIRE_PG") == nullptr)
        GTEST_SKIP() << serve.error().message;
      FAIL() << serve.error().to_string();
    }
    serve_ = std::move(*serve);
  }

  void TearDown() override {
    if (serve_ && serve_->running()) (void)serve_->kill();
    stop_sandbox();
    storage_.reset();
    serve_.reset();
  }

  // Runs on the Telegram server's threads with the request's path in lower case.
  virtual void on_bot_api(const std::string& path) { (void)path; }

  // Starts serve and waits for its master bot; opens the same databases the first time.
  bool start_serve() {
    auto started = serve_->start();
    EXPECT_TRUE(started) << started.error().to_string();
    if (!started) return false;
    const bool up = eventually([&] { return serve_->log().find("master bot started") != std::string::npos; });
    EXPECT_TRUE(up) << "the master bot did not start; log " << serve_->log_path() << ":\n" << serve_->log();
    if (up) open_storage();
    return up;
  }
  void open_storage() {
    if (storage_) return;
    auto storage = storage::Storage::open(serve_->storage_options());
    ASSERT_TRUE(storage) << storage.error().to_string();
    storage_ = std::move(*storage);
  }

  // ---- a person's side (SandboxPeople), and: ----

  // Presses `label` and waits for one more message saying `expect`.
  void press_to(std::int64_t who, const std::string& label, const std::string& expect) {
    const int before = count_saw(who, expect);
    press(who, label);
    ASSERT_TRUE(eventually([&] { return count_saw(who, expect) > before; }))
        << "after " << label << " no '" << expect << "' in " << messages(who).dump().substr(0, 4000);
  }
  // A newcomer to the master bot in English: /start, then the language.
  void enter_en(std::int64_t who) {
    command(who, "start", "Choose your language");
    press_to(who, "English", "Mothership builds");
  }

  // ---- the master database ----

  std::int64_t scalar(const std::string& sql) { return storage::testing::scalar(storage_->master(), sql); }
  std::string text(const std::string& sql) {
    auto v = storage_->master().with_session([&](storage::Session& s) -> Result<std::string> {
      auto row = s.query_one(sql);
      if (!row) return fail(std::move(row.error()));
      return *row ? (*row)->get_string("v") : std::string("none");
    });
    return v ? *v : "error: " + v.error().message;
  }
  std::string instance_state(std::int64_t instance) {
    return text("SELECT status AS v FROM bot_instances WHERE id = " + std::to_string(instance));
  }
  void give_package(std::int64_t telegram_id, std::int64_t period_end, const std::string& code = "starter") {
    const auto now = SystemClock::instance().unix_seconds();
    auto done = storage_->master().with_session([&](storage::Session& s) {
      return s.exec(
          "INSERT INTO subscriptions (customer_id, package_id, state, cycle, period_start, period_end, created_at, "
          "updated_at) SELECT c.id, p.id, 'active', 'monthly', :now, :end, :now, :now FROM customers c, packages p "
          "WHERE c.telegram_id = :tg AND p.code = :code",
          {{"tg", telegram_id}, {"now", now}, {"end", period_end}, {"code", code}});
    });
    ASSERT_TRUE(done) << done.error().to_string();
    ASSERT_EQ(*done, 1);
  }

  std::unique_ptr<test_support::ServeProcess> serve_;
  std::unique_ptr<storage::Storage> storage_;
};

inline std::string backend_name(const ::testing::TestParamInfo<storage::Backend>& info) {
  return info.param == storage::Backend::kSqlite ? "Sqlite" : "Postgres";
}

}  // namespace ms::master::testing
