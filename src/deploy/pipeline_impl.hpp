// The DeployPipeline's insides, shared by its three files (not for use outside deploy/):
// pipeline.cpp (the Deployments methods), pipeline_impl.cpp (reading and moving instances,
// Progress, deployment_steps, queueing) and pipeline_steps.cpp (the steps of a deployment
// and the deploy and roll jobs that run them).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/i18n/catalog.hpp"
#include "deploy/pipeline.hpp"
#include "domain/bot_state.hpp"
#include "storage/storage.hpp"
#include "telegram/bot_client.hpp"

namespace ms::deploy {
namespace internal {

inline constexpr std::array kSteps = {Step::kTokenVerified, Step::kTenantReady, Step::kConfigured, Step::kStarted,
                                      Step::kHealthy};
inline const std::vector<std::string> kSetupSteps = {"token_verified", "tenant_ready", "configured"};

inline std::int64_t now_ms(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch()).count();
}

// Where a state sits on the way to running; -1 off that way.
int setup_rank(domain::BotState s);

// The job key of an instance's deployment number `generation`.
inline std::string deploy_key(std::int64_t id, std::int64_t generation) {
  return "deploy:" + std::to_string(id) + ":" + std::to_string(generation);
}

// One bot_instances row (with its customer's tenant).
struct Instance {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::optional<std::int64_t> tenant_id;
  std::string name;
  domain::BotState state = domain::BotState::kCreated;
  Backend backend = Backend::kInProcess;
  std::string token_enc;
  std::string bot_username;
  std::optional<std::int64_t> telegram_bot_id;
  std::int64_t owner = 0;
  std::string channel;
  std::string template_version;
  std::optional<std::string> webhook_secret_enc;
  std::int64_t generation = 0;
  std::optional<std::int64_t> requested_at_ms;
  std::optional<std::int64_t> deploy_ms;
  std::optional<std::int64_t> started_at;
  std::optional<std::int64_t> heartbeat_at;
  std::string last_error;
  std::optional<std::int64_t> deleted_at;
  std::optional<std::int64_t> deployed_at;  // the last deployment that reached running; never: nullopt
};

inline constexpr std::string_view kInstanceColumns =
    "i.id, i.customer_id, c.tenant_id, i.name, i.status, i.deploy_backend, i.token_enc, i.bot_username, "
    "i.telegram_bot_id, i.admin_telegram_id, i.channel, i.template_version, i.webhook_secret_enc, "
    "i.deploy_generation, i.deploy_requested_at_ms, i.deploy_ms, i.started_at, i.heartbeat_at, i.last_error, "
    "i.deleted_at, i.deployed_at";

Instance instance_of(const storage::Row& r);
InstanceStatus status_of(const Instance& i);

}  // namespace internal

struct DeployPipeline::Impl : std::enable_shared_from_this<Impl> {
  using Instance = internal::Instance;
  using BotState = domain::BotState;

  storage::Storage& storage;
  storage::Database& master;
  const crypto::Keyring& keyring;
  http::HttpClient& http;
  jobs::JobRunner& jobs;
  const Clock& clock;
  PipelineOptions options;
  i18n::Catalog catalog;
  std::mutex mu;
  std::map<Backend, Deployer*> backends;
  std::map<std::uint64_t, std::function<void(const Progress&)>> subscribers;
  std::uint64_t next_subscriber = 1;
  std::shared_mutex publishing;  // held shared while callbacks run; an unsubscribe takes it alone
  // One step of an instance's deployment at a time against stop/suspend/remove in this
  // process: those wait for the running step, then supersede the rest (see supersede()).
  struct InstanceLock {
    std::mutex mutex;
    std::atomic<int> waiting_stops{0};  // stop/remove calls waiting: the next step yields to them
  };
  std::mutex instance_locks_mu;
  std::map<std::int64_t, std::weak_ptr<InstanceLock>> instance_locks;

  Impl(storage::Storage& s, const crypto::Keyring& k, http::HttpClient& h, jobs::JobRunner& j, const Clock& c,
       PipelineOptions o)
      : storage(s), master(s.master()), keyring(k), http(h), jobs(j), clock(c), options(std::move(o)) {}

  // ---- reading and moving instances (pipeline_impl.cpp) ----
  Result<Instance> load(std::int64_t id);
  // Moves the instance from exactly `from` to `to` (a conditional UPDATE); kConflict when the
  // table forbids it or the row moved meanwhile.
  Result<void> move(std::int64_t id, BotState from, BotState to, const std::string& extra_set = "",
                    storage::Params extra = {});
  // Brings a deployment's instance to `target` on its way to running: moves it when the
  // table allows, accepts it when it is there or already past it (steps are idempotent).
  Result<void> advance(std::int64_t id, BotState target);
  Result<void> set_columns(std::int64_t id, const std::string& set, storage::Params params);
  Deployer* backend_for(Backend b);
  Result<InstanceSpec> spec_of(const Instance& inst, bool suspended);
  // Webhooks arrive at this process's HTTP server, so only bots it runs itself take them; a
  // `process` runner (and any backend elsewhere) polls, and a webhook would make Telegram
  // refuse its getUpdates.
  bool uses_webhook(const Instance& inst) const { return options.webhook && inst.backend == Backend::kInProcess; }

  // ---- progress (pipeline_impl.cpp) ----
  void publish(const Progress& p);
  // Records a step's move in deployment_steps; returns the step's attempt number.
  int record_step(std::int64_t instance, std::int64_t job, Step step, StepStatus status, const std::string& error);

  // ---- queueing (pipeline_impl.cpp) ----
  // Queues a new deployment unless one of this instance is queued or running.
  Result<void> queue(std::int64_t id, std::vector<std::string> steps_done, nlohmann::json extra = {});
  Result<void> cancel_queued(const Instance& inst);
  // The instance's lock against its own deployment steps in this process.
  std::shared_ptr<InstanceLock> lock_for(std::int64_t id);
  // What stop() and remove() hold: the instance's lock, taken ahead of the deployment's next
  // step (a worker re-entering at once would otherwise win the lock again and again).
  std::unique_lock<std::mutex> lock_ahead_of_steps(InstanceLock& lock);
  // Ends the deployment the instance has (queued or mid-way): a queued job is cancelled, and
  // the generation moves on, so a running job stops at its next step ("a newer deployment of
  // this instance replaced this one"). Call with the instance's lock held.
  Result<void> supersede(const Instance& inst);
  // suspend() with the instance's lock held: supersedes its deployment (also of a bot already
  // suspended: a resume may have queued one), stops what the setup started, moves it to
  // suspended and runs it paused when it was ever deployed.
  Result<void> suspend_locked(std::int64_t id);
  // A suspended bot as it should run: paused (telling its end users) when it was ever
  // deployed, else down. Used by suspend() and by a deployment that lands suspended.
  Result<void> run_suspended(const Instance& inst);

  // ---- the package (pipeline_impl.cpp) ----
  // Whether the customer's package lets the bot sell now (PipelineOptions::may_serve).
  Result<bool> may_serve(const Instance& inst);
  // A deployment about to bring up a bot whose package lapsed (or that was suspended
  // meanwhile) lands it in suspended instead. Success: the kPermissionDenied to end the
  // deployment with (permanent: only a renewal, through resume(), brings the bot up).
  Error land_suspended(const Instance& inst);
  static bool landed_suspended(const Error& e) {
    return e.code == ErrorCode::kPermissionDenied && e.message == kLapsed;
  }
  static constexpr const char* kLapsed = "the customer's package lapsed: the bot is suspended until it is renewed";

  // ---- the steps (pipeline_steps.cpp) ----
  telegram::BotClient client_for(const std::string& token);
  Result<void> verify_token(const Instance& inst);
  // The customer's tenant: theirs if linked; else the one numbered like the customer
  // (adopted when an earlier attempt made it and died before linking it), else the next free.
  Result<std::int64_t> ensure_tenant(const Instance& inst);
  Result<void> prepare_tenant(const Instance& inst, const jobs::Job& job);
  Result<void> configure(const Instance& inst);
  Result<void> start_backend(const Instance& inst);
  // Waits (real time, like a network timeout) for the backend's first sign of life.
  Result<InstanceHealth> await_health(Deployer& deployer, std::int64_t id);
  Result<std::optional<std::int64_t>> check_health(const Instance& inst);

  // ---- the deploy and roll jobs (pipeline_steps.cpp) ----
  jobs::Outcome run_deploy(const jobs::Job& job);
  jobs::Outcome run_roll(const jobs::Job& job);
};

}  // namespace ms::deploy
