// The fixture of the master bot's end-to-end tests: the master database (SQLite or
// PostgreSQL) with the default packages, the sandbox emulator behind a real HTTP server
// (Telegram; also serving /panel/login), the master PaymentService with card-to-card and
// Telegram Stars, the strict Marzban test panel, and the master bot in a BotRuntime polling
// the sandbox. Until the deploy pipeline is on main, deploy::Deployments is the recording
// implementation below: it keeps instances in memory, refuses a token another instance uses,
// and lets a test publish Progress events as the pipeline would.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/crypto/keyring.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/timer_queue.hpp"
#include "core/worker_pool.hpp"
#include "deploy/deploy.hpp"
#include "domain/rules.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "marzban_server.hpp"
#include "bots/master/login.hpp"
#include "bots/master/master.hpp"
#include "payments/card/card_to_card.hpp"
#include "payments/service.hpp"
#include "payments/stars/stars.hpp"
#include "sandbox_people.hpp"
#include "bots/shop/qr.hpp"
#include "storage/package_repository.hpp"
#include "storage/storage_test_support.hpp"
#include "telegram/runtime.hpp"

namespace ms::master::testing {

using namespace std::chrono_literals;
using nlohmann::json;

using test_support::eventually;

class RecordingDeployments : public deploy::Deployments {
 public:
  struct Call {
    std::string what;
    std::int64_t instance_id = 0;
  };

  Result<std::int64_t> create(const deploy::NewInstance& in) override {
    if (!domain::validate_bot_token(in.token)) return fail(ErrorCode::kInvalidArgument, "token format");
    std::lock_guard lock(mu_);
    for (const auto& [id, rec] : instances_) {
      if (rec.spec.token == in.token && rec.status.state != domain::BotState::kDeleted)
        return fail(ErrorCode::kAlreadyExists, "another instance uses this token");
    }
    Record r;
    r.spec = in;
    r.status.instance_id = next_id_++;
    r.status.customer_id = in.customer_id;
    r.status.backend = in.backend;
    // The username is what the test registered for the token, as getMe would say.
    r.status.bot_username = usernames_.count(in.token) ? usernames_[in.token] : "";
    instances_[r.status.instance_id] = r;
    calls_.push_back({"create", r.status.instance_id});
    return r.status.instance_id;
  }
  Result<void> deploy(std::int64_t id) override { return record("deploy", id, std::nullopt); }
  Result<void> stop(std::int64_t id) override { return record("stop", id, domain::BotState::kStopped); }
  Result<void> start(std::int64_t id) override { return record("start", id, domain::BotState::kRunning); }
  Result<void> restart(std::int64_t id) override { return record("restart", id, domain::BotState::kRunning); }
  Result<void> replace_token(std::int64_t id, const std::string& token) override {
    std::lock_guard lock(mu_);
    for (const auto& [other, rec] : instances_) {
      if (other != id && rec.spec.token == token) return fail(ErrorCode::kAlreadyExists, "in use");
    }
    auto it = instances_.find(id);
    if (it == instances_.end()) return fail(ErrorCode::kNotFound, "instance");
    it->second.spec.token = token;
    calls_.push_back({"replace_token", id});
    return ok();
  }
  Result<void> suspend(std::int64_t id) override { return record("suspend", id, domain::BotState::kSuspended); }
  Result<void> resume(std::int64_t id) override { return record("resume", id, domain::BotState::kStarting); }
  Result<void> remove(std::int64_t id) override { return record("remove", id, domain::BotState::kDeleted); }
  Result<deploy::InstanceStatus> status(std::int64_t id) override {
    std::lock_guard lock(mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) return fail(ErrorCode::kNotFound, "instance");
    return it->second.status;
  }
  Result<std::vector<deploy::InstanceStatus>> list(std::int64_t customer_id) override {
    std::lock_guard lock(mu_);
    std::vector<deploy::InstanceStatus> out;
    for (const auto& [id, rec] : instances_) {
      if (rec.status.customer_id == customer_id) out.push_back(rec.status);
    }
    return out;
  }
  std::unique_ptr<deploy::ProgressSubscription> subscribe(std::function<void(const deploy::Progress&)> cb) override {
    std::lock_guard lock(mu_);
    const int key = next_sub_++;
    subscribers_[key] = std::move(cb);
    struct Sub : deploy::ProgressSubscription {
      RecordingDeployments* self;
      int key;
      Sub(RecordingDeployments* s, int k) : self(s), key(k) {}
      ~Sub() override {
        std::lock_guard lock(self->mu_);
        self->subscribers_.erase(key);
      }
    };
    return std::make_unique<Sub>(this, key);
  }

  // ---- what tests do ----
  void name_token(const std::string& token, const std::string& username) {
    std::lock_guard lock(mu_);
    usernames_[token] = username;
  }
  // Publishes one step as the pipeline would, and moves the recorded state along.
  void emit(std::int64_t id, deploy::Step step, deploy::StepStatus status, std::optional<std::int64_t> deploy_ms = {},
            std::string error = {}) {
    std::vector<std::function<void(const deploy::Progress&)>> subs;
    {
      std::lock_guard lock(mu_);
      auto& st = instances_[id].status;
      if (status == deploy::StepStatus::kDone) {
        using S = domain::BotState;
        static const std::map<deploy::Step, S> kState = {{deploy::Step::kTokenVerified, S::kTokenVerified},
                                                         {deploy::Step::kTenantReady, S::kTenantReady},
                                                         {deploy::Step::kConfigured, S::kConfigured},
                                                         {deploy::Step::kStarted, S::kRunning},
                                                         {deploy::Step::kHealthy, S::kRunning}};
        st.state = kState.at(step);
        if (step == deploy::Step::kStarted) st.started_at = SystemClock::instance().unix_seconds();
        if (deploy_ms) st.deploy_ms = deploy_ms;
      }
      for (const auto& [k, cb] : subscribers_) subs.push_back(cb);
    }
    deploy::Progress p;
    p.instance_id = id;
    p.step = step;
    p.status = status;
    p.attempt = 1;
    p.error = std::move(error);
    p.deploy_ms = deploy_ms;
    for (auto& cb : subs) cb(p);
  }
  std::vector<Call> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  bool called(const std::string& what, std::int64_t id) const {
    for (const auto& c : calls()) {
      if (c.what == what && c.instance_id == id) return true;
    }
    return false;
  }
  std::optional<deploy::NewInstance> spec(std::int64_t id) const {
    std::lock_guard lock(mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) return std::nullopt;
    return it->second.spec;
  }
  void set_state(std::int64_t id, domain::BotState s) {
    std::lock_guard lock(mu_);
    instances_[id].status.state = s;
  }

 private:
  struct Record {
    deploy::NewInstance spec;
    deploy::InstanceStatus status;
  };
  Result<void> record(const std::string& what, std::int64_t id, std::optional<domain::BotState> to) {
    std::lock_guard lock(mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) return fail(ErrorCode::kNotFound, "instance");
    if (to) it->second.status.state = *to;
    calls_.push_back({what, id});
    return ok();
  }

  mutable std::mutex mu_;
  std::int64_t next_id_ = 1;
  int next_sub_ = 0;
  std::map<std::int64_t, Record> instances_;
  std::map<std::string, std::string> usernames_;
  std::map<int, std::function<void(const deploy::Progress&)>> subscribers_;
  std::vector<Call> calls_;
};

class MasterTest : public storage::testing::StorageTest, protected test_support::SandboxPeople {
 protected:
  static constexpr const char* kBot = "mothership_bot";

  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    master_ = &storage_->master();
    ASSERT_TRUE(storage::PackageRepository(*master_).seed_defaults(clock_.unix_seconds()));

    bot_username_ = kBot;
    sandbox::EmulatorOptions eo;
    eo.max_long_poll = 5s;
    start_sandbox(eo, [this](http::Server& server) {
      LoginRoutes lr;
      lr.pool = &pool_;
      lr.clock = &clock_;
      lr.master = [this] { return master_; };
      add_login_routes(server.router(), std::move(lr));
    });
    if (HasFatalFailure()) return;

    marzban_test::Options mo;
    marzban_ = std::make_unique<marzban_test::MarzbanTestServer>(mo);
    ASSERT_TRUE(marzban_->start());

    auto bot = emulator_->create_bot(kBot, "Mothership");
    ASSERT_TRUE(bot) << bot.error().to_string();
    token_ = bot->token;
    operator_ = person("Olga", "en");
    alice_ = person("Alice", "fa");
    bob_ = person("Bob", "en");

    std::vector<std::shared_ptr<payments::PaymentProvider>> providers;
    providers.push_back(
        std::make_shared<payments::CardToCardProvider>(payments::CardToCardSettings{"6037990000005678", "Mothership"}));
    providers.push_back(std::make_shared<payments::StarsProvider>(payments::StarsSettings{"Mothership"}, nullptr));
    payments::ServiceOptions po;
    po.schema = payments::Schema::master();
    po.account = "m";
    payments_ = std::make_unique<payments::PaymentService>(*master_, std::move(providers), clock_, po);
    ASSERT_TRUE(payments_->set_exchange_rate({Currency::kUsd, Currency::kIrr, 600'000}));
    ASSERT_TRUE(payments_->set_exchange_rate({Currency::kUsd, Currency::kXtr, 50}));

    telegram::RuntimeOptions ro;
    ro.poller.timeout_seconds = 2;
    ro.poller.min_backoff = 50ms;
    ro.poller.max_backoff = 200ms;
    ro.limits.enabled = false;
    runtime_ = std::make_unique<telegram::BotRuntime>(http_, timers_, base_url(), ro);

    ctx_.db = master_;
    ctx_.clock = &clock_;
    ctx_.operator_ids = {operator_};
    ctx_.deployments = &deployments_for_bot();
    ctx_.payments = payments_.get();
    ctx_.callback_key = "master-test-key";
    ctx_.send = make_sender(*runtime_, kMasterBotKey);
    MasterOptions o;
    o.runtime = runtime_.get();
    o.storage = storage_.get();
    o.secrets = &box_;
    o.http = &http_;
    o.telegram_api_url = base_url();
    o.public_url = server_url();
    o.allow_private_panel_addresses = true;  // the Marzban test panel is on 127.0.0.1
    customize(o);
    auto made = MasterBot::create(ctx_, o);
    ASSERT_TRUE(made) << made.error().to_string();
    bot_ = *made;
    ASSERT_TRUE(runtime_->add({kMasterBotKey, token_, telegram::Intake::kPolling, "", bot_}));
    ASSERT_TRUE(emulator_->wait_for_poller(kBot, 10s));
    ASSERT_TRUE(bot_->resume());
    // Telegram lets a bot write only to people who started it: the operator did.
    command(operator_, "start", "Choose your language");
  }

  // What the master bot deploys through: the recording Deployments unless a test builds the
  // real pipeline (called once in SetUp, after the runtime exists).
  virtual deploy::Deployments& deployments_for_bot() { return deployments_; }
  virtual void customize(MasterOptions&) {}

  void TearDown() override {
    runtime_.reset();
    bot_.reset();
    if (marzban_) marzban_->stop();
    stop_sandbox();
    payments_.reset();
    pool_.shutdown();
    StorageTest::TearDown();
  }

  // A real picture (a PNG) to send as a receipt.
  static std::string shop_picture() {
    auto png = shop::qr_png("receipt");
    return png ? *png : std::string();
  }

  // A newcomer in English: /start, then the language.
  void enter_en(std::int64_t who) {
    command(who, "start", "Choose your language");
    press_to(who, "English", "Mothership builds");
  }

  std::int64_t scalar(const std::string& sql) { return storage::testing::scalar(*master_, sql); }
  std::int64_t customer_id(std::int64_t telegram_id) {
    return scalar("SELECT id AS v FROM customers WHERE telegram_id = " + std::to_string(telegram_id));
  }
  // Gives a customer a usable package directly (tests of the wizard are not about buying).
  void give_package(std::int64_t telegram_id, const std::string& code = "starter") {
    const auto now = clock_.unix_seconds();
    auto done = master_->with_session([&](storage::Session& s) {
      return s.exec(
          "INSERT INTO subscriptions (customer_id, package_id, state, cycle, period_start, period_end, "
          "created_at, updated_at) SELECT :c, id, 'active', 'monthly', :now, :end, :now, :now FROM packages WHERE code "
          "= :code",
          {{"c", customer_id(telegram_id)}, {"now", now}, {"end", now + 30 * 86400}, {"code", code}});
    });
    ASSERT_TRUE(done) << done.error().to_string();
  }

  ManualClock clock_{SystemClock::instance().unix_seconds()};
  crypto::Keyring keyring_{crypto::generate_key()};
  crypto::SecretBox box_{keyring_};
  storage::Database* master_ = nullptr;
  std::unique_ptr<marzban_test::MarzbanTestServer> marzban_;
  WorkerPool pool_{2, 100};
  http::CurlClient http_;
  TimerQueue timers_;
  std::unique_ptr<telegram::BotRuntime> runtime_;
  std::unique_ptr<payments::PaymentService> payments_;
  RecordingDeployments deployments_;
  MasterContext ctx_;
  std::shared_ptr<MasterBot> bot_;
  std::string token_;
  std::int64_t operator_ = 0, alice_ = 0, bob_ = 0;
  std::string last_token_;
};

}  // namespace ms::master::testing
