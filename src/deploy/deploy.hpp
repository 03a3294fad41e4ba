// Deployments of customers' shop bots: the one interface the master bot, the subscription
// lifecycle and (later) the web panel use, and the `Deployer` interface its backends
// implement (inprocess, process; docker and kubernetes later).
//
// A deployment is a pipeline of durable steps (src/jobs/), each idempotent, retried with
// backoff, recorded with its time and published as a Progress event:
//   created -> token verified (getMe) -> tenant database ready -> configured (commands,
//   name, description, webhook or polling) -> started (Deployer::start) -> healthy (the
//   first health check passed).
// The instance's state follows domain/bot_state.hpp. "Deploy time" is from the moment the
// deployment was requested (payment verified, or the wizard's last step) to the first
// passed health check; it is stored per instance and exported as a metric.
//
// Threads: every method of both interfaces is thread-safe. Progress callbacks run on the
// pipeline's worker and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "domain/bot_state.hpp"

namespace ms::deploy {

enum class Backend { kInProcess, kProcess, kDocker, kKubernetes };
std::string_view to_string(Backend backend);  // inprocess, process, docker, kubernetes
std::optional<Backend> parse_backend(std::string_view text);

// Everything a backend needs to run one shop bot. The token is clear text here and must
// never be logged; backends that hand it to another process do so without argv.
struct InstanceSpec {
  std::int64_t instance_id = 0;
  std::int64_t tenant_id = 0;
  std::string token;
  std::string bot_username;
  std::int64_t owner_telegram_id = 0;
  std::string template_version;  // the bot template version this instance runs
  bool webhook = false;          // false: long polling
  std::string webhook_secret;
  // The customer's package lapsed: the bot runs but tells every end user the service is
  // paused (Persian and English) and sells nothing.
  bool suspended = false;
};

struct InstanceHealth {
  bool running = false;
  std::optional<std::int64_t> started_at;    // unix seconds of the current run
  std::optional<std::int64_t> heartbeat_at;  // the last sign of life
  int restarts = 0;                          // since the instance was first started here
  std::string last_error;
  // Telegram answered 401 to the bot's own calls: the token was revoked or replaced. Only a
  // new token helps; restarting with this one would be refused again.
  bool token_refused = false;
};

// One way of running shop bots. Backends are told what should run; they never decide.
class Deployer {
 public:
  virtual ~Deployer() = default;
  virtual Backend backend() const = 0;
  // Runs the instance; a running instance whose spec changed (token, template version,
  // suspended) is restarted with the new one; the same spec again is a no-op.
  // Failure: kUnavailable (could not start now; the pipeline retries), kInvalidArgument.
  virtual Result<void> start(const InstanceSpec& spec) = 0;
  // Stops the instance; one that is not running here is not an error.
  virtual Result<void> stop(std::int64_t instance_id) = 0;
  // kNotFound when this backend does not run the instance.
  virtual Result<InstanceHealth> health(std::int64_t instance_id) = 0;
  virtual std::vector<std::int64_t> running() const = 0;
};

enum class Step { kTokenVerified, kTenantReady, kConfigured, kStarted, kHealthy };
enum class StepStatus { kStarted, kDone, kRetrying, kFailed };
std::string_view to_string(Step step);  // token_verified, tenant_ready, configured, started, healthy
std::string_view to_string(StepStatus status);

// One step of one deployment moved.
struct Progress {
  std::int64_t instance_id = 0;
  Step step = Step::kTokenVerified;
  StepStatus status = StepStatus::kStarted;
  int attempt = 1;
  std::string error;  // kRetrying/kFailed: why, in words an owner can act on
  std::int64_t at = 0;
  // kHealthy + kDone: milliseconds from the request to this moment.
  std::optional<std::int64_t> deploy_ms;
};

// Why a deployment or a bot failed, as a screen names it in the reader's own language (catalog
// key "deploy.failure.<name>"). The pipeline and the backends keep their English detail in
// last_error and Progress::error for logs and operators; owners read these instead.
enum class Failure {
  kTokenRefused,         // Telegram answers 401: revoked or wrong; only a new token helps
  kTokenTaken,           // another shop runs this bot
  kTelegramUnreachable,  // Telegram did not answer; retried
  kNoSignOfLife,         // started but never answered its first health check
  kBackend,              // the runner or the runtime could not run it
  kLapsed,               // the customer's package lapsed: suspended until renewed
  kLimit,                // the package allows no more of it
  kBusy,                 // the bot is in the middle of another change; try again shortly
  kUnavailable,          // something below is down for now; try again later
  kOther,                // anything else: support has the detail
};
std::string_view to_string(Failure failure);  // token_refused, token_taken, telegram, no_sign_of_life, ...
std::string failure_key(Failure failure);     // "deploy.failure.token_refused"
// Reads the pipeline's and the backends' own wording (last_error, Progress::error).
Failure failure_of(std::string_view error);
// A refused action: its code where that says enough, else its wording.
Failure failure_of(const Error& error);

struct NewInstance {
  std::int64_t customer_id = 0;
  std::string token;
  std::int64_t owner_telegram_id = 0;
  std::vector<std::int64_t> admin_ids;  // shop admins besides the owner
  std::string channel;                  // "@name" end users must join; empty: none
  Backend backend = Backend::kInProcess;
};

struct InstanceStatus {
  std::int64_t instance_id = 0;
  std::int64_t customer_id = 0;
  std::string bot_username;
  domain::BotState state = domain::BotState::kCreated;
  Backend backend = Backend::kInProcess;
  std::string template_version;
  std::optional<std::int64_t> started_at;
  std::optional<std::int64_t> heartbeat_at;
  std::optional<std::int64_t> deploy_ms;  // the last deployment's time
  std::string last_error;
};

// A subscription to Progress events; destroying it unsubscribes.
class ProgressSubscription {
 public:
  virtual ~ProgressSubscription() = default;
};

class Deployments {
 public:
  virtual ~Deployments() = default;
  // Records an instance for the customer and queues its deployment.
  // Success: the instance id. kInvalidArgument: the token's format; kAlreadyExists: another
  // instance uses this token; kPermissionDenied: the customer's package allows no more bots.
  virtual Result<std::int64_t> create(const NewInstance& instance) = 0;
  // (Re)queues the pipeline of an instance; a deployment already queued is not doubled.
  virtual Result<void> deploy(std::int64_t instance_id) = 0;
  virtual Result<void> stop(std::int64_t instance_id) = 0;
  virtual Result<void> start(std::int64_t instance_id) = 0;
  virtual Result<void> restart(std::int64_t instance_id) = 0;
  // A new token for the same bot shop (the old one was revoked or leaked): verified, then
  // the instance restarts with it. kAlreadyExists when another instance uses it.
  virtual Result<void> replace_token(std::int64_t instance_id, const std::string& token) = 0;
  // The package lapsed / was renewed: the bot keeps running in paused mode / sells again. A
  // bot still being set up is suspended too (its deployment ends; it never comes up selling)
  // and resume() finishes its setup.
  virtual Result<void> suspend(std::int64_t instance_id) = 0;
  virtual Result<void> resume(std::int64_t instance_id) = 0;
  // Stops the bot and marks it deleted; its tenant data is kept 30 days.
  virtual Result<void> remove(std::int64_t instance_id) = 0;
  virtual Result<InstanceStatus> status(std::int64_t instance_id) = 0;
  virtual Result<std::vector<InstanceStatus>> list(std::int64_t customer_id) = 0;
  virtual std::unique_ptr<ProgressSubscription> subscribe(std::function<void(const Progress&)> on_progress) = 0;
};

}  // namespace ms::deploy
