#include "app/deploy_stack.hpp"

#include <spdlog/spdlog.h>

#include "app/app.hpp"
#include "bots/master/subscriptions.hpp"

namespace ms::app {

deploy::PipelineOptions pipeline_options(const Config& config, const std::string& telegram_api) {
  deploy::PipelineOptions o;
  o.telegram_api_url = telegram_api;
  o.public_url = config.effective_public_url();
  // Polling unless a public HTTPS address lets Telegram reach this process.
  o.webhook = config.public_url.rfind("https://", 0) == 0 && !config.sandbox_mode();
  return o;
}

DeployStack::DeployStack(const Config& config, storage::Storage& storage, const crypto::Keyring& keyring,
                         payments::PaymentRegistry& payments, telegram::BotRuntime& runtime,
                         http::HttpClient& telegram_http, http::HttpClient& panels_http, TimerQueue& timers,
                         const std::string& telegram_api, const std::string& runner_binary,
                         const Clock* package_clock)
    : secrets_(keyring), pool_(4, 10'000), timers_(timers) {
  runner_ = std::make_unique<jobs::JobRunner>(storage.master(), SystemClock::instance());
  host_ = std::make_unique<shop::ShopHost>(storage, payments, secrets_, panels_http, runtime, SystemClock::instance());
  inprocess_ = std::make_unique<deploy::InProcessDeployer>(*host_, runtime, SystemClock::instance());
  auto options = pipeline_options(config, telegram_api);
  // A bot whose package lapsed while it was being set up lands suspended, never running.
  options.may_serve =
      master::may_serve_gate(storage.master(), package_clock ? *package_clock : SystemClock::instance());
  pipeline_ = std::make_unique<deploy::DeployPipeline>(storage, keyring, telegram_http, *runner_,
                                                       SystemClock::instance(), std::move(options));
  pipeline_->add_backend(*inprocess_);
  if (config.deploy_backend == DeployBackend::kProcess) {
    auto o = process_deployer_options(config, telegram_api);
    if (!runner_binary.empty()) o.binary = runner_binary;
    process_ = std::make_unique<deploy::ProcessDeployer>(std::move(o), &storage.master());
    pipeline_->add_backend(*process_);
  }
}

DeployStack::~DeployStack() {
  {
    std::lock_guard lock(watch_mu_);
    watch_stop_ = true;
  }
  watch_wake_.notify_all();
  if (watch_.joinable()) watch_.join();
  runner_->stop();
  pipeline_.reset();
  process_.reset();  // SIGTERM to every runner, then reaped
  inprocess_.reset();
  host_.reset();
  pool_.shutdown();
}

Result<int> DeployStack::start() {
  auto recovered = pipeline_->recover();
  runner_->start(pool_, timers_);
  watch_ = std::thread([this] {
    std::unique_lock lock(watch_mu_);
    while (!watch_wake_.wait_for(lock, std::chrono::seconds(5), [&] { return watch_stop_; })) {
      lock.unlock();
      if (auto failed = pipeline_->check_running(); !failed)
        spdlog::warn("deployments: checking the running bots: {}", failed.error().to_string());
      lock.lock();
    }
  });
  if (!recovered) return recovered;
  spdlog::info("deployments: {} bot(s) started; unfinished deployments resume", *recovered);
  return recovered;
}

}  // namespace ms::app
