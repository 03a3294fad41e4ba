// DeployStack: the deployment pipeline of `serve`, built once the database is ready: the
// durable job runner, the in-process shop host and its backend (InProcessDeployer), with
// MOTHERSHIP_DEPLOY_BACKEND=process also the `process` backend (ProcessDeployer: one
// `mothership runner` child per bot), and the DeployPipeline over them. On start it recovers
// (bots that should run are started through their backend; unfinished deployment jobs resume
// as the runner claims them) and starts the watch over running bots (a token revoked at run
// time fails its instance).
//
// The master bot (src/bots/master/) and the subscription lifecycle use it only through
// `deployments()`, a `deploy::Deployments&`; serve.cpp builds the stack in its `deploy`
// thread and hands that reference to whatever needs it.
//
// Threads: build it on one thread; deployments() is thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/crypto/keyring.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/timer_queue.hpp"
#include "core/worker_pool.hpp"
#include "deploy/inprocess/inprocess_deployer.hpp"
#include "deploy/pipeline.hpp"
#include "deploy/process/process_deployer.hpp"
#include "http/client.hpp"
#include "jobs/jobs.hpp"
#include "payments/registry.hpp"
#include "bots/shop/host.hpp"
#include "storage/storage.hpp"
#include "telegram/runtime.hpp"

namespace ms::app {

// The pipeline's options from the configuration: the Bot API of this process (the sandbox
// in sandbox mode), webhook or polling intake.
deploy::PipelineOptions pipeline_options(const Config& config, const std::string& telegram_api);

class DeployStack {
 public:
  // Everything given must outlive the stack. `telegram_api` is the Bot API base URL the
  // bots use (the runtime's). `runner_binary` is the `mothership` binary the process
  // backend starts (empty: this executable, which is `mothership` itself in serve).
  // `package_clock` (null: the system's) is the time packages are judged by, the master
  // bot's: a bot does not start for a package that clock says has lapsed.
  DeployStack(const Config& config, storage::Storage& storage, const crypto::Keyring& keyring,
              payments::PaymentRegistry& payments, telegram::BotRuntime& runtime, http::HttpClient& telegram_http,
              http::HttpClient& panels_http, TimerQueue& timers, const std::string& telegram_api,
              const std::string& runner_binary = {}, const Clock* package_clock = nullptr);
  // Stops the runner (waits for running steps), then the bots of this process.
  ~DeployStack();

  // Starts what should run and the job runner. Success: how many bots were started.
  Result<int> start();
  deploy::Deployments& deployments() { return *pipeline_; }
  deploy::DeployPipeline& pipeline() { return *pipeline_; }

 private:
  crypto::SecretBox secrets_;
  WorkerPool pool_;
  TimerQueue& timers_;
  std::unique_ptr<jobs::JobRunner> runner_;
  std::unique_ptr<shop::ShopHost> host_;
  std::unique_ptr<deploy::InProcessDeployer> inprocess_;
  std::unique_ptr<deploy::ProcessDeployer> process_;  // only with the process backend configured
  std::unique_ptr<deploy::DeployPipeline> pipeline_;
  // Every few seconds: DeployPipeline::check_running (a token revoked at run time fails its
  // instance and tells the owner).
  std::mutex watch_mu_;
  std::condition_variable watch_wake_;
  bool watch_stop_ = false;
  std::thread watch_;
};

}  // namespace ms::app
