// The deployment pipeline end to end on SQLite and PostgreSQL: the sandbox emulator is
// Telegram behind a real HTTP server; the pipeline reaches it through a gateway server that
// counts calls and can refuse getMe (a Telegram hiccup); shop bots run in-process (ShopHost
// in a BotRuntime polling the sandbox); jobs run on a WorkerPool. People talk to the bots
// through the emulator and every check reads what Telegram or the database really hold.
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
#include "shop/host.hpp"
#include "shop/settings.hpp"
#include "storage/package_repository.hpp"
#include "storage/storage_test_support.hpp"
#include "telegram/runtime.hpp"

namespace ms::deploy {
namespace {

using namespace std::chrono_literals;
using domain::BotState;
using nlohmann::json;
using StorageBackend = storage::Backend;
using storage::Session;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 30s) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

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
  std::mutex progress_mu_;
  std::vector<Progress> progress_;
};

TEST_P(PipelineTest, ADeploymentReachesRunningAndTheShopAnswersStart) {
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id) << id.error().to_string();
  ASSERT_TRUE(wait_deployed(*id)) << domain::to_string(state_of(*id));

  // Every step published started then done, in order; the last carries the deploy time.
  auto events = progress_of(*id);
  std::vector<std::string> seen;
  for (const auto& p : events) seen.push_back(std::string(to_string(p.step)) + ":" + std::string(to_string(p.status)));
  EXPECT_EQ(seen, (std::vector<std::string>{"token_verified:started", "token_verified:done", "tenant_ready:started",
                                            "tenant_ready:done", "configured:started", "configured:done",
                                            "started:started", "started:done", "healthy:started", "healthy:done"}));
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().deploy_ms);
  auto status = pipeline_->status(*id);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->bot_username, "vpn_shop_bot");
  EXPECT_EQ(status->deploy_ms, events.back().deploy_ms);
  EXPECT_EQ(status->template_version, kShopTemplateVersion);
  EXPECT_TRUE(status->heartbeat_at && status->started_at);
  for (const auto& [step, row] : steps_of(*id)) {
    EXPECT_EQ(row.first, "done") << step;
    EXPECT_EQ(row.second, 1) << step;
  }
  EXPECT_EQ(steps_of(*id).size(), 5u);

  // Telegram holds the profile the configured step set, in Persian and English.
  auto profile = emulator_->bot_profile("vpn_shop_bot");
  ASSERT_TRUE(profile);
  EXPECT_NE(profile->dump().find("شروع و منوی اصلی"), std::string::npos) << profile->dump();
  EXPECT_NE(profile->dump().find("فروشگاه سرویس VPN"), std::string::npos) << profile->dump();
  sandbox::Params en;
  en.add("language_code", "en");
  EXPECT_NE(emulator_->call_sync(bot_.token, "getMyCommands", en).body.dump().find("Start and main menu"),
            std::string::npos);
  EXPECT_NE(emulator_->call_sync(bot_.token, "getMyDescription", en).body.dump().find("A VPN service shop"),
            std::string::npos);

  // The tenant: the owner is the shop's owner-admin, the helper an admin.
  auto tenant = storage_->master().with_session([&](Session& s) {
    return s.query_one("SELECT tenant_id FROM customers WHERE id = :c", {{"c", customer_}});
  });
  ASSERT_TRUE(tenant && *tenant);
  auto db = storage_->tenant((**tenant).get_int("tenant_id"));
  ASSERT_TRUE(db);
  auto settings = shop::load_settings(**db);
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->role_of(owner_), shop::AdminRole::kOwner);
  EXPECT_EQ(settings->role_of(helper_), shop::AdminRole::kAdmin);

  // The shop answers.
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));

  // The deploy time is exported.
  EXPECT_NE(metrics::serialize_text().find("mothership_deploy_seconds_count{backend=\"inprocess\"}"),
            std::string::npos);

  // The same token again, and the package's limit (Starter: its shop bots).
  EXPECT_EQ(pipeline_->create(new_instance(bot_.token)).error().code, ErrorCode::kAlreadyExists);
  auto other = emulator_->create_bot("second_shop_bot", "Second");
  ASSERT_TRUE(other);
  auto starter = storage_->master().with_session(
      [](Session& s) { return s.query_one("SELECT max_bots FROM packages WHERE code = 'starter'"); });
  ASSERT_TRUE(starter && *starter);
  if ((**starter).opt_int("max_bots") == 1) {
    auto refused = pipeline_->create(new_instance(other->token));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  }
  NewInstance no_package = new_instance(other->token);
  no_package.customer_id = add_customer(person("Nobody", "en"), "");
  EXPECT_EQ(pipeline_->create(no_package).error().code, ErrorCode::kPermissionDenied);
  NewInstance bad = new_instance("not-a-token");
  EXPECT_EQ(pipeline_->create(bad).error().code, ErrorCode::kInvalidArgument);
  auto list = pipeline_->list(customer_);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].instance_id, *id);
}

TEST_P(PipelineTest, AFailingStepRetriesWithBackoff) {
  gateway_->refuse_get_me(2);
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  EXPECT_EQ(gateway_->calls("getMe"), 3);
  std::vector<std::pair<std::string, int>> token_steps;
  for (const auto& p : progress_of(*id)) {
    if (p.step == Step::kTokenVerified) token_steps.emplace_back(std::string(to_string(p.status)), p.attempt);
  }
  EXPECT_EQ(token_steps,
            (std::vector<std::pair<std::string, int>>{
                {"started", 1}, {"retrying", 1}, {"started", 2}, {"retrying", 2}, {"started", 3}, {"done", 3}}));
  EXPECT_EQ(steps_of(*id)["token_verified"], (std::pair<std::string, std::int64_t>{"done", 3}));
  EXPECT_EQ(steps_of(*id)["configured"], (std::pair<std::string, std::int64_t>{"done", 1}));
  // The job's attempts waited out the backoff: 100 ms, then 200 ms (+-20%).
  auto job = runner_->find("deploy:" + std::to_string(*id) + ":1");
  ASSERT_TRUE(job && *job);
  auto attempts = runner_->attempts((*job)->id);
  ASSERT_TRUE(attempts);
  ASSERT_EQ(attempts->size(), 3u);
  EXPECT_EQ((*attempts)[0].outcome, "retry");
  EXPECT_EQ((*attempts)[1].outcome, "retry");
  EXPECT_EQ((*attempts)[2].outcome, "done");
  EXPECT_GE((*attempts)[1].started_at_ms - *(*attempts)[0].finished_at_ms, 80);
  EXPECT_GE((*attempts)[2].started_at_ms - *(*attempts)[1].finished_at_ms, 160);
  EXPECT_NE((*attempts)[0].error.find("Bad Gateway"), std::string::npos) << (*attempts)[0].error;
  EXPECT_EQ((*job)->steps_done.size(), 5u);
}

TEST_P(PipelineTest, ACrashedPipelineResumesAtTheRightStep) {
  // The pipeline "dies" while its backend starts the bot: the new one, built on the same
  // database once the lease ran out, resumes at `started` and repeats nothing before it.
  ManualClock jobs_clock(SystemClock::instance().unix_seconds());
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
  GatedDeployer gated(*inprocess_);
  build_pipeline(gated, jobs_clock);
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  gated.entered_.wait();
  EXPECT_EQ(state_of(*id), BotState::kStarting);
  const int get_me = gateway_->calls("getMe");
  const int commands = gateway_->calls("setMyCommands");
  EXPECT_EQ(get_me, 1);
  runner_->abandon();  // the crash: nothing this runner does from now on is written
  gated.release_.count_down();
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();

  jobs_clock.advance(3s);  // the dead runner's lease runs out
  build_pipeline(*inprocess_, jobs_clock);
  ASSERT_TRUE(wait_deployed(*id));
  EXPECT_EQ(gateway_->calls("getMe"), get_me);
  EXPECT_EQ(gateway_->calls("setMyCommands"), commands);
  auto steps = steps_of(*id);
  EXPECT_EQ(steps["token_verified"], (std::pair<std::string, std::int64_t>{"done", 1}));
  EXPECT_EQ(steps["tenant_ready"], (std::pair<std::string, std::int64_t>{"done", 1}));
  EXPECT_EQ(steps["configured"], (std::pair<std::string, std::int64_t>{"done", 1}));
  EXPECT_EQ(steps["started"], (std::pair<std::string, std::int64_t>{"done", 2}));
  EXPECT_EQ(steps["healthy"], (std::pair<std::string, std::int64_t>{"done", 1}));
  auto job = runner_->find("deploy:" + std::to_string(*id) + ":1");
  ASSERT_TRUE(job && *job);
  auto attempts = runner_->attempts((*job)->id);
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].outcome, "lost");
  EXPECT_EQ((*attempts)[1].outcome, "done");
  EXPECT_EQ((*attempts)[1].steps, (std::vector<std::string>{"started", "healthy"}));
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
}

TEST_P(PipelineTest, ReplaceTokenRestartsWithTheNewOne) {
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  auto fresh = emulator_->revoke_token("vpn_shop_bot");  // the old token leaked
  ASSERT_TRUE(fresh);
  ASSERT_TRUE(pipeline_->replace_token(*id, fresh->token));
  ASSERT_TRUE(eventually([&] {
    auto s = pipeline_->status(*id);
    return s && s->state == BotState::kRunning && steps_of(*id).size() == 5 && steps_of(*id)["healthy"].first == "done";
  }));
  EXPECT_EQ(gateway_->calls("getMe"), 2);
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
  // Another instance's token is refused.
  auto other = emulator_->create_bot("other_shop_bot", "Other");
  ASSERT_TRUE(other);
  auto second_customer = add_customer(person("Second", "en"), "starter");
  NewInstance n = new_instance(other->token);
  n.customer_id = second_customer;
  auto second = pipeline_->create(n);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(pipeline_->replace_token(*id, other->token).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(pipeline_->replace_token(*id, "nope").error().code, ErrorCode::kInvalidArgument);
}

TEST_P(PipelineTest, SuspendedBotsAnswerPausedAndResumeSells) {
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  ASSERT_TRUE(pipeline_->suspend(*id));
  EXPECT_EQ(state_of(*id), BotState::kSuspended);
  ASSERT_TRUE(emulator_->wait_for_poller("vpn_shop_bot", 10s));
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(wait_text(alice_, "paused for now"));
  const std::int64_t fa_person = person("Sara", "fa");
  ASSERT_TRUE(emulator_->send_text(fa_person, "vpn_shop_bot", "سلام"));
  EXPECT_TRUE(wait_text(fa_person, "متوقف"));
  EXPECT_EQ(pipeline_->start(*id).error().code, ErrorCode::kConflict);

  ASSERT_TRUE(pipeline_->resume(*id));
  ASSERT_TRUE(wait_deployed(*id, 2));
  const auto before = texts(alice_).size();
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  ASSERT_TRUE(eventually([&] { return texts(alice_).size() > before; }));
  EXPECT_EQ(texts(alice_).back().find("paused"), std::string::npos) << texts(alice_).back();
}

TEST_P(PipelineTest, StopStartAndRemove) {
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  ASSERT_TRUE(pipeline_->stop(*id));
  EXPECT_EQ(state_of(*id), BotState::kStopped);
  EXPECT_TRUE(inprocess_->running().empty());
  EXPECT_FALSE(runtime_->status(*id));
  ASSERT_TRUE(pipeline_->start(*id));
  ASSERT_TRUE(wait_deployed(*id, 2));
  EXPECT_EQ(gateway_->calls("getMe"), 1);  // a start repeats no setup step

  ASSERT_TRUE(pipeline_->remove(*id));
  auto status = pipeline_->status(*id);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, BotState::kDeleted);
  EXPECT_TRUE(inprocess_->running().empty());
  EXPECT_FALSE(runtime_->status(*id));
  auto row = storage_->master().with_session([&](Session& s) {
    return s.query_one("SELECT deleted_at, purge_after FROM bot_instances WHERE id = :id", {{"id", *id}});
  });
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((**row).get_int("purge_after") - (**row).get_int("deleted_at"), 30 * 86'400);
  EXPECT_TRUE(pipeline_->list(customer_)->empty());
  // The tenant's data is kept; the token is free for a new shop.
  auto again = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(again) << again.error().to_string();
  ASSERT_TRUE(wait_state(*again, BotState::kRunning));
}

TEST_P(PipelineTest, StopWhileTheDeploymentStartsTheBotWaitsForTheStepThenEndsStopped) {
  // The deployment is inside its `started` step (the backend is starting the bot) when the
  // owner stops the bot: stop() waits for that step, then supersedes the rest of the
  // deployment; the bot ends stopped and stays so, nothing of it runs, and a start works.
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
  GatedDeployer gated(*inprocess_);
  build_pipeline(gated);
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  gated.entered_.wait();
  EXPECT_EQ(state_of(*id), BotState::kStarting);
  auto stopping = std::async(std::launch::async, [&] { return pipeline_->stop(*id); });
  EXPECT_EQ(stopping.wait_for(300ms), std::future_status::timeout) << "stop() did not wait for the running step";
  gated.release_.count_down();
  auto stopped = stopping.get();
  ASSERT_TRUE(stopped) << stopped.error().to_string();
  EXPECT_EQ(state_of(*id), BotState::kStopped);
  // The superseded deployment ends without bringing the bot up again.
  ASSERT_TRUE(eventually([&] {
    auto job = runner_->find("deploy:" + std::to_string(*id) + ":1");
    return job && *job && (*job)->status == jobs::JobStatus::kDead;
  }));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(state_of(*id), BotState::kStopped);
  EXPECT_TRUE(inprocess_->running().empty());
  EXPECT_FALSE(runtime_->status(*id));
  EXPECT_EQ(steps_of(*id)["healthy"].first, "");
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(texts(alice_).empty()) << "a stopped bot answered";

  // Started again, it runs (no setup step repeated).
  const int get_me = gateway_->calls("getMe");
  ASSERT_TRUE(pipeline_->start(*id));
  ASSERT_TRUE(wait_state(*id, BotState::kRunning));
  EXPECT_EQ(gateway_->calls("getMe"), get_me);
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
}

TEST_P(PipelineTest, AProcessBotNeverGetsAWebhookEvenWhenServeTakesWebhooks) {
  // This process takes webhooks (an HTTPS public address), but a `process` runner polls: its
  // bot is configured with deleteWebhook, started with a polling spec, and answers by polling.
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
  PollingOnlyDeployer process(*inprocess_);
  build_pipeline(process, SystemClock::instance(), /*webhook=*/true);
  auto n = new_instance(bot_.token);
  n.backend = Backend::kProcess;
  auto id = pipeline_->create(n);
  ASSERT_TRUE(id) << id.error().to_string();
  ASSERT_TRUE(wait_deployed(*id)) << domain::to_string(state_of(*id));
  EXPECT_FALSE(process.asked_for_webhook_.load());
  EXPECT_EQ(gateway_->calls("setWebhook"), 0);
  EXPECT_GE(gateway_->calls("deleteWebhook"), 1);
  auto info = emulator_->call_sync(bot_.token, "getWebhookInfo", {});
  EXPECT_EQ(info.body["result"].value("url", "?"), "") << info.body.dump();
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
}

TEST_P(PipelineTest, RecoverStartsWhatShouldRunAndRollMovesEveryInstance) {
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  // A restart of the process: the backend forgets, recover() brings the bot back.
  ASSERT_TRUE(inprocess_->stop(*id));
  EXPECT_FALSE(runtime_->status(*id));
  auto recovered = pipeline_->recover();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(*recovered, 1);
  EXPECT_TRUE(runtime_->status(*id));

  auto roll = pipeline_->roll("2");
  ASSERT_TRUE(roll);
  ASSERT_TRUE(eventually([&] { return runner_->get(*roll)->status == jobs::JobStatus::kDone; }));
  auto result = pipeline_->roll_result(*roll);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->restarted, (std::vector<std::int64_t>{*id}));
  EXPECT_FALSE(result->failed);
  auto status = pipeline_->status(*id);
  EXPECT_EQ(status->template_version, "2");
  EXPECT_EQ(status->state, BotState::kRunning);
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
}

INSTANTIATE_TEST_SUITE_P(Backends, PipelineTest, ::testing::Values(StorageBackend::kSqlite, StorageBackend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::deploy
