// The `process` backend end to end, on SQLite and PostgreSQL: the sandbox Bot API emulator
// runs in this test behind a real HTTP server on 127.0.0.1; a shop is recorded by running
// `mothership shop create`; a ProcessDeployer starts `mothership runner --instance ID` as
// a real child process polling the emulator. People talk to the bot through the emulator,
// and every check reads what the emulator, /proc, the logs or the database really hold.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "app/app.hpp"
#include "app/runtime.hpp"
#include "core/timer_queue.hpp"
#include "core/worker_pool.hpp"
#include "deploy/pipeline.hpp"
#include "deploy/process/process_deployer.hpp"
#include "http/client.hpp"
#include "http/middleware.hpp"
#include "http/server.hpp"
#include "jobs/jobs.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"
#include "storage/storage_test_support.hpp"

namespace ms::deploy {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 30s) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(25ms);
  }
  return pred();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string proc(pid_t pid, const char* what) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/" + what);
  for (auto& c : text)
    if (c == '\0') c = ' ';
  return text;
}

bool alive(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// Every live process whose command line runs `runner --instance <id>`.
// Runner processes of instance `id` that poll `api_url` (this test's emulator: tests of the
// other backend run at the same time with the same instance id).
int runners_of(std::int64_t id, const std::string& api_url) {
  int n = 0;
  const std::string needle = "runner --instance " + std::to_string(id) + " ";
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (alive(pid) && proc(pid, "cmdline").find(needle) != std::string::npos &&
        proc(pid, "environ").find("MOTHERSHIP_TELEGRAM_API_URL=" + api_url + ' ') != std::string::npos)
      ++n;
  }
  return n;
}

struct Ran {
  int code = -1;
  std::string output;  // stdout and stderr
};

// Runs the mothership binary with exactly `env` and waits for it.
Ran run_mothership(const std::vector<std::string>& args, const std::vector<std::string>& env, const fs::path& out) {
  std::vector<std::string> all = {"mothership"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  Ran ran;
  if (::posix_spawn(&pid, MS_MOTHERSHIP_BIN, &actions, nullptr, argv.data(), envp.data()) == 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ran.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  ran.output = read_file(out);
  return ran;
}

class ProcessRunnerTest : public storage::testing::StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string tag = std::to_string(::getpid()) + "_" + (GetParam() == storage::Backend::kSqlite ? "s" : "p");
    scratch_ = fs::temp_directory_path() / ("ms_runner_test_" + tag);
    fs::remove_all(scratch_);
    fs::create_directories(scratch_);
    const auto options = place_->options();
    // SQLite: the runner opens the same files as this test; PostgreSQL: the same database.
    config_.data_dir = options.data_dir.empty() ? (scratch_ / "data").string() : options.data_dir;
    config_.database_url = options.url;
    config_.secret_key_file = (scratch_ / "secret.key").string();

    sandbox::EmulatorOptions eo;
    eo.max_long_poll = 5s;
    emulator_ = std::make_unique<sandbox::Emulator>(eo, SystemClock::instance());
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.handler_timeout = 30s;
    server_ = std::make_unique<http::Server>(so);
    sandbox::add_sandbox_routes(server_->router(), *emulator_);
    // Every Bot API method called, in order (the emulator's log as Telegram would see it).
    server_->use(http::Middleware{"method-log",
                                  [this](http::Request& req) -> std::optional<http::Response> {
                                    std::lock_guard lock(calls_mu_);
                                    calls_.push_back(req.path.substr(req.path.rfind('/') + 1));
                                    return std::nullopt;
                                  },
                                  nullptr});
    ASSERT_TRUE(server_->start());
    api_url_ = "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/sandbox";

    auto bot = emulator_->create_bot("runner_shop_bot", "Runner Shop");
    ASSERT_TRUE(bot) << bot.error().to_string();
    token_ = bot->token;
    auto owner = emulator_->create_user({0, "Owner", "", "", "fa"});
    ASSERT_TRUE(owner);
    owner_ = (*owner)["id"].get<std::int64_t>();
    auto person = emulator_->create_user({0, "Alice", "", "", "en"});
    ASSERT_TRUE(person);
    alice_ = (*person)["id"].get<std::int64_t>();

    // The shop, made the way an operator makes one.
    auto created = mothership({"shop", "create", "--token", token_, "--owner", std::to_string(owner_), "--name",
                               "Runner Shop", "--username", "runner_shop_bot"});
    ASSERT_EQ(created.code, 0) << created.output;
    auto row = storage_->master().with_session([&](storage::Session& s) {
      return s.query_one(
          "SELECT i.id, c.id AS customer, c.tenant_id FROM bot_instances i JOIN customers c ON c.id = i.customer_id "
          "WHERE i.bot_username = 'runner_shop_bot'");
    });
    ASSERT_TRUE(row && *row);
    instance_ = (*row)->get_int("id");
    // `shop create` only queues the deployment; its "tenant ready" step (serve's pipeline,
    // not running here) makes the tenant database. This test stands in for that step.
    tenant_ = (*row)->opt_int("tenant_id").value_or(0);
    if (tenant_ == 0) {
      tenant_ = (*row)->get_int("customer");
      auto made = storage_->create_tenant(tenant_);
      ASSERT_TRUE(made) << made.error().to_string();
      auto linked = storage_->master().with_session([&](storage::Session& s) {
        return s.exec("UPDATE customers SET tenant_id = :t WHERE id = :c", {{"t", tenant_}, {"c", tenant_}});
      });
      ASSERT_TRUE(linked) << linked.error().to_string();
    }
  }

  void TearDown() override {
    deployer_.reset();
    if (server_) server_->stop(200ms);
    emulator_.reset();
    StorageTest::TearDown();
    if (!scratch_.empty()) fs::remove_all(scratch_);
  }

  // The runners' environment, as `serve` would give it.
  std::vector<std::string> environment() const { return app::process_deployer_options(config_, api_url_).environment; }

  Ran mothership(const std::vector<std::string>& args) {
    return run_mothership(args, environment(), scratch_ / ("out-" + std::to_string(++runs_) + ".txt"));
  }

  ProcessDeployer& deployer() {
    if (!deployer_) {
      auto o = app::process_deployer_options(config_, api_url_);
      o.binary = MS_MOTHERSHIP_BIN;
      o.extra_args = {"--heartbeat-ms", "300"};
      o.initial_backoff = 200ms;
      o.tick = 50ms;
      deployer_ = std::make_unique<ProcessDeployer>(o, &storage_->master());
    }
    return *deployer_;
  }

  InstanceSpec spec() const {
    InstanceSpec s;
    s.instance_id = instance_;
    s.tenant_id = tenant_;
    s.token = token_;
    s.bot_username = "runner_shop_bot";
    s.owner_telegram_id = owner_;
    s.template_version = "1";
    return s;
  }

  // The bot's messages to a person.
  std::vector<std::string> texts(std::int64_t who) {
    std::vector<std::string> out;
    auto chat = emulator_->read_chat(who, "runner_shop_bot");
    if (!chat) return out;
    for (const auto& m : chat->value("messages", json::array())) {
      if (m.value("from_bot", false) && m["message"].contains("text")) out.push_back(m["message"]["text"]);
    }
    return out;
  }
  // Sends /start and waits for the bot's answer to it.
  bool answers_start(std::int64_t who) {
    const auto before = texts(who).size();
    if (!emulator_->send_command(who, "runner_shop_bot", "start")) return false;
    return eventually([&] { return texts(who).size() > before; });
  }
  int calls(const std::string& method) {
    std::lock_guard lock(calls_mu_);
    return static_cast<int>(std::count(calls_.begin(), calls_.end(), method));
  }
  std::optional<std::int64_t> heartbeat() {
    auto h = deployer().health(instance_);
    return h ? h->heartbeat_at : std::nullopt;
  }

  fs::path scratch_;
  Config config_;
  std::unique_ptr<sandbox::Emulator> emulator_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<ProcessDeployer> deployer_;
  std::string api_url_;
  std::string token_;
  std::int64_t owner_ = 0, alice_ = 0, instance_ = 0, tenant_ = 0;
  int runs_ = 0;
  std::mutex calls_mu_;
  std::vector<std::string> calls_;
};

TEST_P(ProcessRunnerTest, ARunnerProcessServesTheShopSurvivesKill9AndStopsClean) {
  auto& d = deployer();
  ASSERT_TRUE(d.start(spec()));
  ASSERT_TRUE(answers_start(alice_)) << read_file(d.log_path(instance_));
  const pid_t first = d.pid(instance_).value_or(0);
  ASSERT_GT(first, 0);
  EXPECT_EQ(runners_of(instance_, api_url_), 1);

  // The token is nowhere in the runner's command line or environment.
  const auto cmdline = proc(first, "cmdline"), environ = proc(first, "environ");
  EXPECT_NE(cmdline.find("runner --instance " + std::to_string(instance_)), std::string::npos) << cmdline;
  EXPECT_NE(environ.find("MOTHERSHIP_TELEGRAM_API_URL=" + api_url_), std::string::npos);
  const std::string secret_half = token_.substr(token_.find(':') + 1);
  EXPECT_EQ(cmdline.find(secret_half), std::string::npos);
  EXPECT_EQ(environ.find(secret_half), std::string::npos);

  // The heartbeat row is written and advances.
  ASSERT_TRUE(eventually([&] { return heartbeat().has_value(); }));
  const auto beat = *heartbeat();
  ASSERT_TRUE(eventually([&] { return heartbeat().value_or(0) > beat; }, 10s));
  auto running = d.health(instance_);
  ASSERT_TRUE(running);
  EXPECT_TRUE(running->running);
  ASSERT_TRUE(running->started_at && running->heartbeat_at);
  EXPECT_LE(*running->started_at, *running->heartbeat_at);
  auto row = storage_->master().with_session([&](storage::Session& s) {
    return s.query_one("SELECT pid, host, restarts FROM instance_heartbeats WHERE instance_id = :id",
                       {{"id", instance_}});
  });
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->get_int("pid"), first);
  EXPECT_EQ((*row)->get_int("restarts"), 0);

  // kill -9: the deployer starts another runner, and the bot answers again.
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return d.pid(instance_).value_or(first) != first; }));
  const pid_t second = *d.pid(instance_);
  auto h = d.health(instance_);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->restarts, 1);
  EXPECT_NE(h->last_error.find("signal"), std::string::npos) << h->last_error;
  ASSERT_TRUE(answers_start(alice_)) << read_file(d.log_path(instance_));
  EXPECT_EQ(runners_of(instance_, api_url_), 1);
  ASSERT_TRUE(eventually([&] {
    auto r = storage_->master().with_session([&](storage::Session& s) {
      return s.query_one("SELECT pid, restarts FROM instance_heartbeats WHERE instance_id = :id", {{"id", instance_}});
    });
    return r && *r && (*r)->get_int("pid") == second && (*r)->get_int("restarts") == 1;
  }));

  // stop(): SIGTERM, the runner finishes and exits 0; no runner process is left.
  ASSERT_TRUE(d.stop(instance_));
  EXPECT_FALSE(alive(second));
  EXPECT_EQ(runners_of(instance_, api_url_), 0);
  EXPECT_TRUE(d.running().empty());

  // Its log, per instance: the runner's own lines and the deployer's.
  const auto log = read_file(d.log_path(instance_));
  EXPECT_NE(log.find("runner: instance " + std::to_string(instance_) + " (tenant"), std::string::npos) << log;
  EXPECT_NE(log.find("killed by signal"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped (exited with code 0)"), std::string::npos) << log;
  EXPECT_EQ(log.find(secret_half), std::string::npos) << "the token is never logged";
}

TEST_P(ProcessRunnerTest, ThePipelineDeploysAProcessBotThatPollsAndNeverGetsAWebhook) {
  // serve takes webhooks here (an HTTPS public address), yet a `process` runner polls: the
  // deployment configures the bot with deleteWebhook, never setWebhook, and the runner's
  // getUpdates gets the person's /start.
  ASSERT_TRUE(storage_->master().with_session([&](storage::Session& s) {
    return s.exec("UPDATE bot_instances SET deploy_backend = 'process' WHERE id = :id", {{"id", instance_}});
  }));
  auto keyring = app::open_keyring(config_, storage_->master());
  ASSERT_TRUE(keyring) << keyring.error().to_string();
  WorkerPool pool(2, 100);
  TimerQueue timers;
  http::CurlClient http;
  jobs::RunnerOptions jo;
  jo.poll_every = 20ms;
  jo.backoff_base = 100ms;
  jobs::JobRunner runner(storage_->master(), SystemClock::instance(), jo);
  PipelineOptions po;
  po.telegram_api_url = api_url_;
  po.webhook = true;
  po.public_url = "https://mothership.example";
  DeployPipeline pipeline(*storage_, **keyring, http, runner, SystemClock::instance(), po);
  pipeline.add_backend(deployer());
  runner.start(pool, timers);  // runs the deployment `shop create` queued
  ASSERT_TRUE(eventually(
      [&] {
        auto st = pipeline.status(instance_);
        return st && st->state == domain::BotState::kRunning;
      },
      60s))
      << read_file(deployer().log_path(instance_));
  ASSERT_TRUE(answers_start(alice_)) << read_file(deployer().log_path(instance_));
  EXPECT_EQ(calls("setWebhook"), 0);
  EXPECT_GE(calls("deleteWebhook"), 1);
  EXPECT_GE(calls("getUpdates"), 1);
  auto info = emulator_->call_sync(token_, "getWebhookInfo", {});
  EXPECT_EQ(info.body["result"].value("url", "?"), "") << info.body.dump();
  runner.stop();
  ASSERT_TRUE(deployer().stop(instance_));
}

TEST_P(ProcessRunnerTest, ASuspendedShopAnswersThatTheServiceIsPaused) {
  auto& d = deployer();
  auto s = spec();
  ASSERT_TRUE(d.start(s));
  ASSERT_TRUE(answers_start(alice_));
  s.suspended = true;
  ASSERT_TRUE(d.start(s));
  ASSERT_TRUE(emulator_->send_text(alice_, "runner_shop_bot", "hello"));
  ASSERT_TRUE(eventually([&] {
    auto t = texts(alice_);
    return !t.empty() && t.back().find("This bot is paused for now") != std::string::npos;
  })) << read_file(d.log_path(instance_));
  ASSERT_TRUE(answers_start(owner_));
  EXPECT_NE(texts(owner_).back().find("این ربات موقتاً متوقف شده است"), std::string::npos) << texts(owner_).back();
  EXPECT_EQ(runners_of(instance_, api_url_), 1);
}

TEST_P(ProcessRunnerTest, ARunnerRefusesAnUnknownInstanceAnUnreadableTokenAndASecondCopy) {
  auto missing = mothership({"runner", "--instance", "99999"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.output.find("instance 99999 does not exist"), std::string::npos) << missing.output;

  // Two runners of one bot never run side by side on one machine.
  auto& d = deployer();
  ASSERT_TRUE(d.start(spec()));
  ASSERT_TRUE(answers_start(alice_));
  auto second = mothership({"runner", "--instance", std::to_string(instance_)});
  EXPECT_EQ(second.code, 1);
  EXPECT_NE(second.output.find("another runner of this instance is running"), std::string::npos) << second.output;
  ASSERT_TRUE(d.stop(instance_));

  ASSERT_TRUE(storage_->master().with_session([&](storage::Session& s) {
    return s.exec("UPDATE bot_instances SET token_enc = 'v1:not-an-envelope' WHERE id = :id", {{"id", instance_}});
  }));
  auto unreadable = mothership({"runner", "--instance", std::to_string(instance_)});
  EXPECT_EQ(unreadable.code, 1);
  EXPECT_NE(unreadable.output.find("the bot token cannot be opened"), std::string::npos) << unreadable.output;
}

INSTANTIATE_TEST_SUITE_P(Backends, ProcessRunnerTest,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::deploy
