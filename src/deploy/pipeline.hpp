// DeployPipeline: `Deployments` over the master database and durable jobs (src/jobs/).
//
// A deployment is one job of kind "deploy" whose steps are deploy.hpp's: token verified
// (getMe through telegram::BotClient; records telegram_bot_id and username; refuses a bot
// another instance runs), tenant ready (the customer's tenant database, created if missing,
// with the shop's owner, the admins and the channel seeded into its settings), configured
// (commands, name, descriptions in fa and en, deleteWebhook or setWebhook with a secret),
// started (Deployer::start) and healthy (the backend reports the bot running with a sign of
// life after the start). Each step is idempotent, recorded in deployment_steps (start and
// finish times, attempts, error) and published as Progress; the instance's state moves by
// conditional UPDATEs along domain::BotState. A job that crashed resumes at the first step
// not done. Deploy time (request -> healthy) is stored in bot_instances.deploy_ms and
// observed in the histogram mothership_deploy_seconds{backend}.
//
// stop() and remove() during a deployment wait for the step it is running (in this process),
// then supersede the rest: a queued job is cancelled and deploy_generation moves on, so the
// job ends at its next step ("replaced") and never brings the bot up again; the end state is
// stopped (removed). A bot still in its setup steps (created .. configured) cannot be stopped
// (kConflict; domain::BotState has no such edge): remove() it, or let it finish. suspend()
// supersedes a deployment the same way in every state, setup included (the bot waits in
// suspended; resume() sets it up from the token on when it never finished a deployment, else
// starts it again), and the deployment itself lands in suspended instead of running when
// PipelineOptions::may_serve says the package lapsed. Webhooks are
// set only for bots of the in-process backend (they arrive at this process's HTTP server);
// every other backend's bots poll, and get deleteWebhook.
//
// A rolling restart to a template version is a job of kind "roll": one instance at a time,
// each healthy before the next; a failure stops it naming the instance.
//
// Threads: thread-safe. Job handlers run on the JobRunner's workers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/crypto/keyring.hpp"
#include "deploy/deploy.hpp"
#include "http/client.hpp"
#include "jobs/jobs.hpp"
#include "storage/storage.hpp"

namespace ms::deploy {

// The shop bot template this binary carries.
inline constexpr const char* kShopTemplateVersion = "1";

struct PipelineOptions {
  std::string telegram_api_url = "https://api.telegram.org";  // the sandbox's in tests
  // Webhook intake: Telegram posts to <public_url>/telegram/<instance>; false: long polling.
  bool webhook = false;
  std::string public_url;
  std::string template_version = kShopTemplateVersion;  // for new instances
  // How long the healthy step waits for the first sign of life before it retries.
  std::chrono::milliseconds health_wait{15'000};
  std::chrono::milliseconds health_poll{20};
  int max_attempts = 8;                          // per deployment job
  std::int64_t retention_seconds = 30 * 86'400;  // a removed instance's data is kept this long
  // Whether the customer's package lets their bots sell now (serve asks the master's
  // subscriptions). A deployment checks it before it starts the bot and again before it
  // calls it running: false lands the bot in `suspended` (a package that lapsed while the bot
  // was being set up never gets a selling bot). Empty: every customer may (operators' shops).
  std::function<Result<bool>(std::int64_t customer_id)> may_serve;
};

// What a rolling restart did.
struct RollResult {
  std::string version;
  std::vector<std::int64_t> restarted;  // in order
  std::optional<std::int64_t> failed;   // the instance that stopped the roll
  std::string error;
};

class DeployPipeline final : public Deployments {
 public:
  // Everything given must outlive the pipeline. Registers the "deploy" and "roll" handlers
  // on `jobs` (start the runner after adding the backends).
  DeployPipeline(storage::Storage& storage, const crypto::Keyring& keyring, http::HttpClient& telegram_http,
                 jobs::JobRunner& jobs, const Clock& clock, PipelineOptions options = {});
  ~DeployPipeline() override;

  // A backend for instances with its Backend; one per kind.
  void add_backend(Deployer& deployer);

  Result<std::int64_t> create(const NewInstance& instance) override;
  // The operator's `mothership shop create`: as create(), without the package limit.
  Result<std::int64_t> create_unmetered(const NewInstance& instance);
  Result<void> deploy(std::int64_t instance_id) override;
  Result<void> stop(std::int64_t instance_id) override;
  Result<void> start(std::int64_t instance_id) override;
  Result<void> restart(std::int64_t instance_id) override;
  Result<void> replace_token(std::int64_t instance_id, const std::string& token) override;
  Result<void> suspend(std::int64_t instance_id) override;
  Result<void> resume(std::int64_t instance_id) override;
  Result<void> remove(std::int64_t instance_id) override;
  Result<InstanceStatus> status(std::int64_t instance_id) override;
  Result<std::vector<InstanceStatus>> list(std::int64_t customer_id) override;
  std::unique_ptr<ProgressSubscription> subscribe(std::function<void(const Progress&)> on_progress) override;

  // Start-up: every instance that should run (running; suspended ones that were deployed, paused)
  // is started through its backend. Unfinished deployment jobs resume by themselves once the
  // runner runs; an instance on its way up (created .. configured, starting, restarting) whose
  // job is lost or ended without bringing it up gets a new deployment. Success: how many were
  // started.
  Result<int> recover();

  // The watch over running bots (serve calls it every few seconds): an instance whose backend
  // says Telegram refused its token (revoked at run time) is stopped there, moved to failed
  // with the reason in last_error, and published as Progress {healthy, failed} so the owner
  // is told. It is not restarted: only a new token (replace_token) brings it back, so nothing
  // retries against Telegram. Success: how many instances failed now.
  Result<int> check_running();

  // Records `version` of the shop template (the templates table) and queues a rolling
  // restart of every instance onto it. Success: the roll job's id (JobRunner::get tells
  // how it went; roll_result() reads its outcome).
  Result<std::int64_t> roll(const std::string& version);
  Result<RollResult> roll_result(std::int64_t job_id);

  // The job kinds this pipeline handles.
  static constexpr const char* kDeployJob = "deploy";
  static constexpr const char* kRollJob = "roll";

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Records the shop template version this binary carries (templates row kind 'shop'); a new
// instance references it. Idempotent.
Result<std::int64_t> ensure_template(storage::Database& master, const std::string& version, std::int64_t now);

}  // namespace ms::deploy
