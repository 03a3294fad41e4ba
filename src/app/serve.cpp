// `mothership serve`: the HTTP server first (so /healthz answers at once and /readyz tells
// the truth), then the databases, retried with backoff until they answer.
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "app/app.hpp"
#include "app/deploy_stack.hpp"
#include "app/redis_check.hpp"
#include "app/runtime.hpp"
#include "core/clock.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/metrics.hpp"
#include "core/timer_queue.hpp"
#include "core/version.hpp"
#include "core/worker_pool.hpp"
#include "http/health.hpp"
#include "http/middleware.hpp"
#include "http/server.hpp"
#include "bots/master/lifecycle.hpp"
#include "bots/master/login.hpp"
#include "bots/master/master.hpp"
#include "bots/master/operators.hpp"
#include "bots/master/support.hpp"
#include "payments/registry.hpp"
#include "payments/routes.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"
#include "telegram/intake.hpp"
#include "telegram/runtime.hpp"

namespace ms::app {
namespace {

// For tests only (MOTHERSHIP_TEST_CLOCK_FILE, set by end-to-end tests, never by a person): the
// master bot's time is the real time plus the seconds written in that file, read at every
// call, so a test moves the subscription lifecycle days ahead without waiting. A missing or
// unreadable file adds nothing.
class TestOffsetClock final : public Clock {
 public:
  explicit TestOffsetClock(std::filesystem::path file) : file_(std::move(file)) {}
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now() + std::chrono::seconds(offset());
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now() + std::chrono::seconds(offset());
  }

 private:
  std::int64_t offset() const {
    std::ifstream in(file_);
    std::int64_t seconds = 0;
    if (!(in >> seconds)) return 0;
    return seconds;
  }
  std::filesystem::path file_;
};

// What the connector thread has built so far; guarded by mu.
struct Startup {
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::unique_ptr<storage::Storage> storage;
  std::unique_ptr<crypto::Keyring> keyring;
  std::shared_ptr<payments::PaymentRegistry> payments;  // set once storage and keys are ready
  deploy::Deployments* deployments = nullptr;           // set once the deployment stack runs
  bool master_bot_done = false;                         // the master bot no longer uses deployments
  int attempts = 0;
  std::string last_error = "not connected yet";
  int exit_code = 0;
};

// Opens storage and keys, retrying while the database is unreachable. A failure that a
// retry cannot fix (wrong key, corrupted master, bad URL) ends the process.
void connect_loop(const Config& config, Startup& state, http::Server& server, http::HttpClient& payments_client) {
  auto backoff = std::chrono::milliseconds(500);
  while (true) {
    {
      std::lock_guard lock(state.mu);
      if (state.stopping) return;
      ++state.attempts;
    }
    auto storage = open_storage(config);
    if (!storage) {
      auto failure = storage_failure(storage.error());
      if (storage.error().code != ErrorCode::kUnavailable) {
        state.exit_code = report_failure("cannot open the database", failure);
        server.begin_stop();
        server.stop(std::chrono::seconds(1));
        return;
      }
      spdlog::warn("database unavailable (attempt {}), retrying in {} ms: {}", state.attempts, backoff.count(),
                   storage.error().message);
      std::unique_lock lock(state.mu);
      state.last_error = storage.error().message;
      state.wake.wait_for(lock, backoff, [&] { return state.stopping; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(10'000));
      continue;
    }
    auto keyring = open_keyring(config, (*storage)->master());
    if (!keyring) {
      auto failure = keyring_failure(keyring.error());
      if (failure.exit_code == 1 && keyring.error().code == ErrorCode::kUnavailable) {
        std::unique_lock lock(state.mu);
        state.last_error = keyring.error().message;
        state.wake.wait_for(lock, backoff, [&] { return state.stopping; });
        continue;
      }
      state.exit_code = report_failure("cannot open the secret key", failure);
      server.begin_stop();
      server.stop(std::chrono::seconds(1));
      return;
    }
    if (auto seeded = seed_master_data((*storage)->master()); !seeded)
      spdlog::error("cannot add the default packages: {}", seeded.error().message);
    if (config.sandbox_mode()) {
      if (auto seeded = seed_sandbox_payments((*storage)->master()); !seeded)
        spdlog::error("sandbox: cannot add the master's payment methods: {}", seeded.error().message);
    }
    std::lock_guard lock(state.mu);
    state.storage = std::move(*storage);
    state.keyring = std::move(*keyring);
    payments::GatewayUrls urls{config.nowpayments_api_url, config.zarinpal_api_url, config.stripe_api_url,
                               config.paypal_api_url, config.effective_public_url() + "/payments"};
    const crypto::Keyring* keys = state.keyring.get();
    state.payments = std::make_shared<payments::PaymentRegistry>(
        *state.storage, payments_client, SystemClock::instance(), urls,
        [keys](const std::string& envelope) { return crypto::decrypt(*keys, envelope); });
    spdlog::info("database ready ({})", storage::to_string(state.storage->backend()));
    state.wake.notify_all();
    return;
  }
}

}  // namespace

int serve(const Config& config, const ServeOptions& options) {
  metrics::set_build_info(kVersion);
  http::ServerOptions server_options;
  server_options.listen = config.http_listen;
  server_options.threads = config.http_threads;
  server_options.body_limit = static_cast<std::size_t>(config.http_body_limit);
  // Long polls of the sandbox's getUpdates last up to 50 s.
  server_options.handler_timeout = std::chrono::seconds(60);
  http::Server server(server_options);
  // With no master bot token, the built-in Bot API emulator is Telegram (in memory: a
  // restart starts an empty Telegram).
  std::unique_ptr<sandbox::Emulator> emulator;
  std::string master_token = config.master_bot_token;
  if (config.sandbox_mode()) {
    emulator = std::make_unique<sandbox::Emulator>();
    sandbox::add_sandbox_routes(server.router(), *emulator);
    // The master bot lives in the emulator under a fixed name (docs/master-bot.md), so
    // `mothership sandbox chat --bot mothership_bot` can talk to it.
    auto bot = emulator->create_bot(master::kSandboxUsername, "Mothership");
    if (bot) {
      master_token = bot->token;
    } else {
      spdlog::error("sandbox: the master bot could not be created: {}", bot.error().to_string());
    }
  }
  // Bots' webhooks land on /telegram/<instance>; the runtime below owns the bots.
  telegram::WebhookIntake webhooks;
  webhooks.add_routes(server.router());
  // Gateway webhooks and the payer's return pages; they answer 404 until the database is up.
  http::CurlClient payments_client;
  WorkerPool payments_pool(2, 10'000);
  Startup state;
  payments::PaymentRoutes payment_routes;
  payment_routes.pool = &payments_pool;
  payment_routes.resolve = [&state](std::string_view account) -> std::shared_ptr<payments::PaymentService> {
    std::shared_ptr<payments::PaymentRegistry> registry;
    {
      std::lock_guard lock(state.mu);
      registry = state.payments;
    }
    return registry ? registry->service(account) : nullptr;
  };
  payment_routes.audit = [&state](const payments::AuditEvent& event) {
    storage::Storage* storage = nullptr;
    {
      std::lock_guard lock(state.mu);
      storage = state.storage.get();
    }
    if (storage) payments::master_audit_sink(storage->master())(event);
  };
  payments::add_payment_routes(server.router(), std::move(payment_routes));
  // One-time web panel login links sent by the master bot's /panel.
  master::LoginRoutes login_routes;
  login_routes.pool = &payments_pool;
  login_routes.secure_cookie = config.effective_public_url().rfind("https://", 0) == 0;
  login_routes.master = [&state]() -> storage::Database* {
    std::lock_guard lock(state.mu);
    return state.storage ? &state.storage->master() : nullptr;
  };
  master::add_login_routes(server.router(), std::move(login_routes));
  server.use(http::request_id_middleware());
  server.use(http::access_log_middleware());
  server.use(http::metrics_middleware());

  http::HealthChecks health;
  health.checks.push_back({"database", [&state]() -> Result<void> {
                             storage::Storage* storage = nullptr;
                             {
                               std::lock_guard lock(state.mu);
                               if (!state.storage)
                                 return fail(ErrorCode::kUnavailable, "connecting (attempt " +
                                                                          std::to_string(state.attempts) +
                                                                          "): " + state.last_error);
                               storage = state.storage.get();
                             }
                             return storage->master().ping();
                           }});
  if (!config.redis_url.empty()) {
    health.checks.push_back(
        {"redis", [url = config.redis_url] { return redis_ping(url, std::chrono::milliseconds(1000)); }});
  }
  http::add_health_routes(server.router(), std::move(health));

  if (auto started = server.start(); !started)
    return report("cannot listen on " + config.http_listen, started.error(), 1);
  if (options.port_file) {
    if (auto written = write_port_file(*options.port_file, server.bound_port()); !written)
      return report("port file", written.error(), 1);
  }
  spdlog::info("mothership {} listening on port {} ({}; deploy backend {})", kVersion, server.bound_port(),
               config.sandbox_mode() ? "sandbox mode: no master bot token; the Bot API emulator is at /sandbox"
                                     : "Telegram at " + config.telegram_api_url,
               to_string(config.deploy_backend));

  // One runtime hosts every bot of this process (the master bot and in-process shop bots
  // are added to it by their subsystems). Its client has no per-host cap: each polling bot
  // holds one long-poll connection to the same Bot API host.
  http::CurlClientOptions telegram_client_options;
  telegram_client_options.max_host_connections = 0;
  telegram_client_options.max_idle_connections = 4096;
  http::CurlClient telegram_client(telegram_client_options);
  TimerQueue timers;
  const std::string telegram_api = config.sandbox_mode()
                                       ? "http://127.0.0.1:" + std::to_string(server.bound_port()) + "/sandbox"
                                       : config.telegram_api_url;
  telegram::BotRuntime runtime(telegram_client, timers, telegram_api, {}, {}, &webhooks);

  std::thread connector([&] { connect_loop(config, state, server, payments_client); });
  // Shop bots (the deployment pipeline, app/deploy_stack.hpp): once the database is up,
  // the bots that should run are started and unfinished deployments resume; from then on
  // deployments are durable jobs. The master bot gets `stack->deployments()` here.
  // Customers' panel URLs: never to the platform's own machine or network unless the operator
  // allows it (MOTHERSHIP_PANELS_ALLOW_PRIVATE_ADDRESSES; http/address_policy.hpp).
  http::CurlClientOptions panels_client_options;
  panels_client_options.refuse_private_addresses = !config.effective_panels_allow_private_addresses();
  http::CurlClient panels_client(panels_client_options);
  // The master bot's time, which also judges packages when a bot starts: the system's, or
  // for end-to-end tests the system's plus MOTHERSHIP_TEST_CLOCK_FILE's seconds.
  std::unique_ptr<Clock> test_clock;
  if (const char* file = std::getenv("MOTHERSHIP_TEST_CLOCK_FILE"); file != nullptr && *file != '\0') {
    spdlog::warn("the master bot's clock is moved by the test file {} (MOTHERSHIP_TEST_CLOCK_FILE)", file);
    test_clock = std::make_unique<TestOffsetClock>(file);
  }
  const Clock& master_clock = test_clock ? *test_clock : static_cast<const Clock&>(SystemClock::instance());
  std::thread deployments([&] {
    std::unique_lock lock(state.mu);
    state.wake.wait(lock, [&] { return state.stopping || state.payments; });
    if (state.stopping) return;
    auto stack = std::make_unique<DeployStack>(config, *state.storage, *state.keyring, *state.payments, runtime,
                                               telegram_client, panels_client, timers, telegram_api,
                                               std::string(), &master_clock);
    lock.unlock();
    if (auto started = stack->start(); !started)
      spdlog::warn("deployments: recovering the bots failed: {}", started.error().to_string());
    lock.lock();
    state.deployments = &stack->deployments();
    state.wake.notify_all();
    // The master bot uses the pipeline until it is removed from the runtime.
    state.wake.wait(lock, [&] { return state.stopping && state.master_bot_done; });
    state.deployments = nullptr;
    lock.unlock();
    stack.reset();  // waits for running deployment steps, then stops this process's bots
  });
  // The master bot, in the same runtime as the shops, once the database is up; its
  // periodic pass (payments, flows, the features' work) every few seconds.
  std::thread master_bot([&] {
    std::unique_lock lock(state.mu);
    // Whatever happens here, the deployment stack may go once this thread is done with it.
    struct Done {
      Startup& state;
      std::unique_lock<std::mutex>& lock;
      ~Done() {
        if (!lock.owns_lock()) lock.lock();
        state.master_bot_done = true;
        lock.unlock();
        state.wake.notify_all();
      }
    } done{state, lock};
    if (master_token.empty()) return;
    state.wake.wait(lock, [&] { return state.stopping || (state.payments && state.deployments); });
    if (state.stopping) return;
    auto master_payments = state.payments->master_service();
    if (!master_payments) {
      spdlog::error("master bot: the master payment service could not be built; the master bot does not start");
      return;
    }
    crypto::SecretBox secrets(*state.keyring);
    const Clock& clock = master_clock;
    master::MasterContext ctx;
    ctx.db = &state.storage->master();
    ctx.clock = &clock;
    ctx.operator_ids = config.operator_ids;
    ctx.deployments = state.deployments;
    ctx.payments = master_payments.get();
    ctx.callback_key = shop::callback_key_for(master_token);
    ctx.send = master::make_sender(runtime, master::kMasterBotKey);
    ctx.language_of = master::make_language_of(state.storage->master());
    master::MasterOptions mo;
    mo.runtime = &runtime;
    mo.storage = state.storage.get();
    mo.secrets = &secrets;
    mo.http = &telegram_client;  // getMe with new tokens; its panel probes carry the address policy per request
    mo.allow_private_panel_addresses = config.effective_panels_allow_private_addresses();
    mo.telegram_api_url = telegram_api;
    mo.public_url = config.effective_public_url();
    mo.backend =
        config.deploy_backend == DeployBackend::kInprocess ? deploy::Backend::kInProcess : deploy::Backend::kProcess;
    lock.unlock();
    // Its parts: support tickets, the operators' tools, the subscription lifecycle.
    std::vector<std::shared_ptr<master::MasterFeature>> features = {
        std::make_shared<master::SupportDesk>(ctx), std::make_shared<master::OperatorDesk>(ctx),
        std::make_shared<master::SubscriptionLifecycle>(ctx, *state.storage)};
    auto bot = master::MasterBot::create(ctx, std::move(mo), std::move(features));
    if (!bot) {
      spdlog::error("master bot: {}", bot.error().to_string());
      return;
    }
    if (auto added = runtime.add({master::kMasterBotKey, master_token, telegram::Intake::kPolling, "", *bot}); !added) {
      spdlog::error("master bot: it could not start: {}", added.error().to_string());
      return;
    }
    if (auto resumed = (*bot)->resume(); !resumed)
      spdlog::warn("master bot: resuming progress messages: {}", resumed.error().to_string());
    spdlog::info("master bot started{}",
                 config.sandbox_mode() ? " (sandbox: @" + std::string(master::kSandboxUsername) + ")" : "");
    lock.lock();
    while (!state.stopping) {
      lock.unlock();
      (void)(*bot)->tick(clock.unix_seconds());
      lock.lock();
      state.wake.wait_for(lock, std::chrono::seconds(5), [&] { return state.stopping; });
    }
    lock.unlock();
    (void)runtime.remove(master::kMasterBotKey);
  });
  server.run_until_signal(std::chrono::seconds(10));
  {
    std::lock_guard lock(state.mu);
    state.stopping = true;
  }
  state.wake.notify_all();
  master_bot.join();
  deployments.join();
  runtime.shutdown();
  payments_pool.shutdown();
  connector.join();
  spdlog::info("mothership stopped");
  return state.exit_code;
}

}  // namespace ms::app
