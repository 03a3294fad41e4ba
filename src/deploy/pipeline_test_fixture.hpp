// The fixture of the deployment pipeline's tests (pipeline_test.cpp: deploying, retries,
// crashes, tokens, recovery and rolls; pipeline_control_test.cpp: suspend, stop, remove,
// webhooks) on SQLite and PostgreSQL: the sandbox emulator is Telegram behind a real HTTP
// server; the pipeline reaches it through a gateway server that counts calls and can refuse
// getMe (a Telegram hiccup); shop bots run in-process (ShopHost in a BotRuntime polling the
// sandbox); jobs run on a WorkerPool. People talk to the bots through the emulator and every
// check reads what Telegram or the database really hold.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <thread>

#include "core/crypto/keyring.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/metrics.hpp"
#include "core/timer_queue.hpp"
#include "core/worker_pool.hpp"
#include "deploy/inprocess/inprocess_deployer.hpp"
#include "deploy/pipeline.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "payments/registry.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/params.hpp"
#include "sandbox/routes.hpp"
#include "sandbox_people.hpp"
#include "bots/shop/host.hpp"
#include "bots/shop/settings.hpp"
#include "storage/package_repository.hpp"
#include "storage/storage_test_support.hpp"
#include "telegram/runtime.hpp"

namespace ms::deploy::pipeline_testing {

using namespace std::chrono_literals;
using domain::BotState;
using nlohmann::json;
using StorageBackend = storage::Backend;
using storage::Session;

using test_support::eventually;

// Telegram as the pipeline sees it: the emulator, through a gateway that counts each method
// and answers 502 to the first `refuse_get_me` getMe calls.
class Gateway {
 public:
  explicit Gateway(sandbox::Emulator& emulator) : emulator_(emulator) {
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    server_ = std::make_unique<http::Server>(so);
    auto api = [this](http::Request& req, http::Responder respond) {
      std::string bot(req.path_param("bot").value_or(""));
      std::string method(req.path_param("method").value_or(""));
      {
        std::lock_guard lock(mu_);
        ++calls_[method];
        if (method == "getMe" && refuse_get_me_ > 0) {
          --refuse_get_me_;
          respond(http::Response::json(502, {{"ok", false}, {"error_code", 502}, {"description", "Bad Gateway"}}));
          return;
        }
      }
      auto params = sandbox::parse_params(req.target, req.header("content-type").value_or(""), req.body);
      if (!params) {
        respond(http::Response::json(400, {{"ok", false}, {"error_code", 400}, {"description", "bad params"}}));
        return;
      }
      emulator_.call(bot.substr(3), method, std::move(*params),
                     [respond](sandbox::ApiReply reply) { respond(http::Response::json(reply.status, reply.body)); });
    };
    server_->router().add(http::Method::kGet, "/tg/{bot}/{method}", api);
    server_->router().add(http::Method::kPost, "/tg/{bot}/{method}", api);
    EXPECT_TRUE(server_->start());
  }
  ~Gateway() { server_->stop(200ms); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/tg"; }
  void refuse_get_me(int times) {
    std::lock_guard lock(mu_);
    refuse_get_me_ = times;
  }
  int calls(const std::string& method) {
    std::lock_guard lock(mu_);
    return calls_[method];
  }

 private:
  sandbox::Emulator& emulator_;
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  std::map<std::string, int> calls_;
  int refuse_get_me_ = 0;
};

// A backend whose first start() waits until the test lets it go (to "crash" mid-step).
class GatedDeployer final : public Deployer {
 public:
  explicit GatedDeployer(Deployer& inner) : inner_(inner) {}
  deploy::Backend backend() const override { return inner_.backend(); }
  Result<void> start(const InstanceSpec& spec) override {
    if (!gated_.exchange(false)) return inner_.start(spec);
    entered_.count_down();
    release_.wait();
    return inner_.start(spec);
  }
  Result<void> stop(std::int64_t id) override { return inner_.stop(id); }
  Result<InstanceHealth> health(std::int64_t id) override { return inner_.health(id); }
  std::vector<std::int64_t> running() const override { return inner_.running(); }

  std::atomic<bool> gated_{true};
  std::latch entered_{1};
  std::latch release_{1};

 private:
  Deployer& inner_;
};

// A backend of another kind (as `process`) that runs its bots through an in-process one and,
// like the real process backend, refuses a webhook spec.
class PollingOnlyDeployer final : public Deployer {
 public:
  explicit PollingOnlyDeployer(Deployer& inner) : inner_(inner) {}
  deploy::Backend backend() const override { return Backend::kProcess; }
  Result<void> start(const InstanceSpec& spec) override {
    if (spec.webhook) {
      asked_for_webhook_ = true;
      return fail(ErrorCode::kInvalidArgument, "the process backend runs bots with long polling, not webhooks");
    }
    return inner_.start(spec);
  }
  Result<void> stop(std::int64_t id) override { return inner_.stop(id); }
  Result<InstanceHealth> health(std::int64_t id) override { return inner_.health(id); }
  std::vector<std::int64_t> running() const override { return inner_.running(); }

  std::atomic<bool> asked_for_webhook_{false};

 private:
  Deployer& inner_;
};

class PipelineTest : public storage::testing::StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    sandbox::EmulatorOptions eo;
    eo.max_long_poll = 5s;
    emulator_ = std::make_unique<sandbox::Emulator>(eo);
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.handler_timeout = 30s;
    sandbox_ = std::make_unique<http::Server>(so);
    sandbox::add_sandbox_routes(sandbox_->router(), *emulator_);
    ASSERT_TRUE(sandbox_->start());
    gateway_ = std::make_unique<Gateway>(*emulator_);

    auto bot = emulator_->create_bot("vpn_shop_bot", "VPN Shop");
    ASSERT_TRUE(bot);
    bot_ = *bot;
    owner_ = person("Owner", "fa");
    helper_ = person("Helper", "en");
    alice_ = person("Alice", "en");

    ASSERT_TRUE(storage::PackageRepository(storage_->master()).seed_defaults(1));
    customer_ = add_customer(owner_, "starter");

    payments_ = std::make_unique<payments::PaymentRegistry>(
        *storage_, http_, SystemClock::instance(), payments::GatewayUrls{},
        [this](const std::string& envelope) { return crypto::decrypt(keyring_, envelope); });
    telegram::RuntimeOptions ro;
    ro.poller.timeout_seconds = 2;
    ro.poller.min_backoff = 50ms;
    ro.poller.max_backoff = 200ms;
    ro.limits.enabled = false;
    runtime_ = std::make_unique<telegram::BotRuntime>(http_, timers_, sandbox_url(), ro);
    host_ = std::make_unique<shop::ShopHost>(*storage_, *payments_, box_, http_, *runtime_, SystemClock::instance());
    inprocess_ = std::make_unique<InProcessDeployer>(*host_, *runtime_, SystemClock::instance());
    build_pipeline(*inprocess_);
  }

  void TearDown() override {
    subscription_.reset();
    if (runner_) runner_->stop();
    pipeline_.reset();
    runner_.reset();
    inprocess_.reset();
    host_.reset();
    runtime_.reset();
    payments_.reset();
    gateway_.reset();
    if (sandbox_) sandbox_->stop(200ms);
    StorageTest::TearDown();
  }

  void build_pipeline(Deployer& backend, const Clock& jobs_clock = SystemClock::instance(), bool webhook = false) {
    jobs::RunnerOptions jo;
    jo.lease = 2s;
    jo.backoff_base = 100ms;
    jo.poll_every = 20ms;
    jo.max_parallel = 4;
    runner_ = std::make_unique<jobs::JobRunner>(storage_->master(), jobs_clock, jo);
    PipelineOptions po;
    po.telegram_api_url = gateway_->url();
    po.health_wait = 10s;
    po.webhook = webhook;
    po.public_url = "https://mothership.example";
    po.may_serve = may_serve_;
    pipeline_ = std::make_unique<DeployPipeline>(*storage_, keyring_, http_, *runner_, SystemClock::instance(), po);
    pipeline_->add_backend(backend);
    subscription_ = pipeline_->subscribe([this](const Progress& p) {
      std::lock_guard lock(progress_mu_);
      progress_.push_back(p);
    });
    runner_->start(pool_, timers_);
  }

  std::string sandbox_url() const { return "http://127.0.0.1:" + std::to_string(sandbox_->bound_port()) + "/sandbox"; }

  std::int64_t person(const std::string& name, const std::string& lang) {
    auto p = emulator_->create_user({0, name, "", "", lang});
    EXPECT_TRUE(p);
    return p ? (*p)["id"].get<std::int64_t>() : 0;
  }

  // A customer with a current subscription to `package` (empty: none).
  std::int64_t add_customer(std::int64_t telegram_id, const std::string& package) {
    auto id = storage_->master().transaction([&](Session& s) -> Result<std::int64_t> {
      auto c = s.query_one(
          "INSERT INTO customers (telegram_id, name, created_at, updated_at) VALUES (:tg, 'Owner', 1, 1) RETURNING id",
          {{"tg", telegram_id}});
      if (!c) return fail(std::move(c.error()));
      const std::int64_t cid = (*c)->get_int("id");
      if (!package.empty()) {
        auto r = s.exec(
            "INSERT INTO subscriptions (customer_id, package_id, state, cycle, period_start, period_end, created_at, "
            "updated_at) SELECT :c, id, 'active', 'monthly', 1, 4102444800, 1, 1 FROM packages WHERE code = :p",
            {{"c", cid}, {"p", package}});
        if (!r) return fail(std::move(r.error()));
      }
      return cid;
    });
    EXPECT_TRUE(id) << id.error().to_string();
    return id ? *id : 0;
  }

  NewInstance new_instance(const std::string& token) {
    NewInstance n;
    n.customer_id = customer_;
    n.token = token;
    n.owner_telegram_id = owner_;
    n.admin_ids = {helper_};
    return n;
  }

  BotState state_of(std::int64_t id) {
    auto s = pipeline_->status(id);
    return s ? s->state : BotState::kDeleted;
  }
  bool wait_state(std::int64_t id, BotState state, std::chrono::milliseconds within = 30s) {
    return eventually([&] { return state_of(id) == state; }, within);
  }
  // Running, and the deployment job that got it there has finished.
  bool wait_deployed(std::int64_t id, std::int64_t generation = 1) {
    const bool done = eventually([&] {
      auto job = runner_->find("deploy:" + std::to_string(id) + ":" + std::to_string(generation));
      if (!(state_of(id) == BotState::kRunning && job && *job && (*job)->status == jobs::JobStatus::kDone))
        return false;
      std::int64_t healthy = 0;
      for (const auto& p : progress_of(id)) healthy += p.step == Step::kHealthy && p.status == StepStatus::kDone;
      return healthy >= generation;
    });
    if (!done) {  // what the database says, for the failure message
      for (const char* sql : {"SELECT id, status, attempts, steps_done, last_error, run_at_ms, locked_by, "
                              "locked_until_ms, idempotency_key FROM jobs",
                              "SELECT job_id, attempt, outcome, steps, error FROM job_attempts",
                              "SELECT id, status, deploy_generation, last_error FROM bot_instances"}) {
        auto rows = storage_->master().with_session([&](Session& s) { return s.query(sql); });
        if (!rows) continue;
        for (const auto& r : *rows) {
          std::string line;
          for (std::size_t i = 0; i < r.size(); ++i) {
            const auto& v = r.at(i);
            line += r.column_name(i) + "=" +
                    (std::holds_alternative<std::string>(v)    ? std::get<std::string>(v)
                     : std::holds_alternative<std::int64_t>(v) ? std::to_string(std::get<std::int64_t>(v))
                                                               : std::string("null")) +
                    " ";
          }
          ADD_FAILURE() << line;
        }
      }
    }
    return done;
  }

  std::vector<std::string> texts(std::int64_t who, const std::string& bot = "vpn_shop_bot") {
    std::vector<std::string> out;
    auto c = emulator_->read_chat(who, bot);
    if (!c) return out;
    for (const auto& m : c->value("messages", json::array())) {
      if (m.value("from_bot", false) && m["message"].contains("text")) out.push_back(m["message"]["text"]);
    }
    return out;
  }
  bool wait_text(std::int64_t who, const std::string& part) {
    return eventually([&] {
      for (const auto& t : texts(who)) {
        if (t.find(part) != std::string::npos) return true;
      }
      return false;
    });
  }

  std::vector<Progress> progress_of(std::int64_t id) {
    std::lock_guard lock(progress_mu_);
    std::vector<Progress> out;
    for (const auto& p : progress_)
      if (p.instance_id == id) out.push_back(p);
    return out;
  }

  // deployment_steps of the instance's newest job: step -> (status, attempts).
  std::map<std::string, std::pair<std::string, std::int64_t>> steps_of(std::int64_t id) {
    std::map<std::string, std::pair<std::string, std::int64_t>> out;
    auto rows = storage_->master().with_session([&](Session& s) {
      return s.query(
          "SELECT step, status, attempts FROM deployment_steps WHERE instance_id = :i AND job_id = (SELECT max(job_id) "
          "FROM deployment_steps WHERE instance_id = :i)",
          {{"i", id}});
    });
    EXPECT_TRUE(rows);
    if (rows)
      for (const auto& r : *rows) out[r.get_string("step")] = {r.get_string("status"), r.get_int("attempts")};
    return out;
  }

  crypto::Keyring keyring_{crypto::generate_key()};
  crypto::SecretBox box_{keyring_};
  http::CurlClient http_;
  TimerQueue timers_;
  WorkerPool pool_{4, 1000};
  std::unique_ptr<sandbox::Emulator> emulator_;
  std::unique_ptr<http::Server> sandbox_;
  std::unique_ptr<Gateway> gateway_;
  sandbox::BotCredentials bot_;
  std::int64_t owner_ = 0, helper_ = 0, alice_ = 0, customer_ = 0;
  std::unique_ptr<payments::PaymentRegistry> payments_;
  std::unique_ptr<telegram::BotRuntime> runtime_;
  std::unique_ptr<shop::ShopHost> host_;
  std::unique_ptr<InProcessDeployer> inprocess_;
  std::unique_ptr<jobs::JobRunner> runner_;
  std::unique_ptr<DeployPipeline> pipeline_;
  std::unique_ptr<ProgressSubscription> subscription_;
  std::function<Result<bool>(std::int64_t)> may_serve_;  // the pipelines built from now on ask it
  std::mutex progress_mu_;
  std::vector<Progress> progress_;
};

}  // namespace ms::deploy::pipeline_testing
