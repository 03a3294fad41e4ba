// DeployPipeline: the Deployments methods; the pipeline's insides are in pipeline_impl.hpp.
#include "deploy/pipeline.hpp"

#include <spdlog/spdlog.h>

#include "core/crypto/primitives.hpp"
#include "core/crypto/secret_box.hpp"
#include "deploy/pipeline_impl.hpp"
#include "domain/package.hpp"
#include "domain/rules.hpp"

namespace ms::deploy {

using domain::BotState;
using storage::Session;
using storage::Value;

using namespace internal;

namespace {

class Subscription final : public ProgressSubscription {
 public:
  Subscription(std::function<void(std::uint64_t)> drop, std::uint64_t id) : drop_(std::move(drop)), id_(id) {}
  ~Subscription() override { drop_(id_); }

 private:
  std::function<void(std::uint64_t)> drop_;
  std::uint64_t id_;
};

}  // namespace

Result<std::int64_t> ensure_template(storage::Database& master, const std::string& version, std::int64_t now) {
  return master.transaction([&](Session& s) -> Result<std::int64_t> {
    auto found = s.query_one("SELECT id FROM templates WHERE kind = 'shop' AND version = :v", {{"v", version}});
    if (!found) return fail(std::move(found.error()));
    if (*found) return (*found)->get_int("id");
    auto made = s.query_one(
        "INSERT INTO templates (kind, version, description, created_at) VALUES ('shop', :v, 'VPN shop bot', :now) "
        "RETURNING id",
        {{"v", version}, {"now", now}});
    if (!made) return fail(std::move(made.error()));
    return (*made)->get_int("id");
  });
}

DeployPipeline::DeployPipeline(storage::Storage& storage, const crypto::Keyring& keyring,
                               http::HttpClient& telegram_http, jobs::JobRunner& jobs, const Clock& clock,
                               PipelineOptions options)
    : impl_(std::make_shared<Impl>(storage, keyring, telegram_http, jobs, clock, std::move(options))) {
  std::weak_ptr<Impl> weak = impl_;
  jobs.handle(kDeployJob, [weak](const jobs::Job& job) {
    auto self = weak.lock();
    return self ? self->run_deploy(job) : jobs::Outcome::retry("the pipeline is shutting down");
  });
  jobs.handle(kRollJob, [weak](const jobs::Job& job) {
    auto self = weak.lock();
    return self ? self->run_roll(job) : jobs::Outcome::retry("the pipeline is shutting down");
  });
}

DeployPipeline::~DeployPipeline() = default;

void DeployPipeline::add_backend(Deployer& deployer) {
  std::lock_guard lock(impl_->mu);
  impl_->backends[deployer.backend()] = &deployer;
}

Result<std::int64_t> DeployPipeline::create(const NewInstance& instance) {
  auto& d = *impl_;
  // What is wrong with the request itself comes before what the package allows.
  if (auto valid = domain::validate_bot_token(instance.token); !valid) return fail(std::move(valid.error()));
  auto taken = d.master.with_session([&](Session& s) {
    return s.query_one("SELECT id FROM bot_instances WHERE token_hash = :h AND deleted_at IS NULL",
                       {{"h", crypto::sha256_hex(instance.token)}});
  });
  if (!taken) return fail(std::move(taken.error()));
  if (*taken) return fail(ErrorCode::kAlreadyExists, "another shop already uses this bot token");
  // The package: the customer's newest subscription that is current.
  auto limit = d.master.with_session([&](Session& s) -> Result<void> {
    auto pkg = s.query_one(
        "SELECT p.code, p.name_en, p.name_fa, p.max_bots FROM subscriptions s JOIN packages p ON p.id = s.package_id "
        "WHERE s.customer_id = :c AND s.state IN ('trial', 'active', 'grace') ORDER BY s.id DESC LIMIT 1",
        {{"c", instance.customer_id}});
    if (!pkg) return fail(std::move(pkg.error()));
    if (!*pkg) return fail(ErrorCode::kPermissionDenied, "no current package: buy or renew one to create a bot");
    auto max = (*pkg)->opt_int("max_bots");
    if (!max) return ok();
    auto count = s.query_one("SELECT count(*) AS n FROM bot_instances WHERE customer_id = :c AND deleted_at IS NULL",
                             {{"c", instance.customer_id}});
    if (!count) return fail(std::move(count.error()));
    const std::int64_t current = (*count)->get_int("n");
    if (current < *max) return ok();
    domain::LimitViolation v;
    v.kind = domain::LimitKind::kShopBots;
    v.limit = static_cast<int>(*max);
    v.current = current;
    v.package_code = (*pkg)->get_string("code");
    v.package_name_en = (*pkg)->get_string("name_en");
    v.package_name_fa = (*pkg)->get_string("name_fa");
    return fail(ErrorCode::kPermissionDenied, v.message_en());
  });
  if (!limit) return fail(std::move(limit.error()));
  return create_unmetered(instance);
}

Result<std::int64_t> DeployPipeline::create_unmetered(const NewInstance& instance) {
  auto& d = *impl_;
  if (auto valid = domain::validate_bot_token(instance.token); !valid) return fail(std::move(valid.error()));
  if (!instance.channel.empty() && instance.channel.front() != '@')
    return fail(ErrorCode::kInvalidArgument, "the channel must be given as @name");
  const std::int64_t now = d.clock.unix_seconds();
  auto template_id = ensure_template(d.master, d.options.template_version, now);
  if (!template_id) return fail(std::move(template_id.error()));
  const std::string hash = crypto::sha256_hex(instance.token);
  auto id = d.master.transaction([&](Session& s) -> Result<std::int64_t> {
    auto customer = s.query_one("SELECT id FROM customers WHERE id = :c", {{"c", instance.customer_id}});
    if (!customer) return fail(std::move(customer.error()));
    if (!*customer)
      return fail(ErrorCode::kNotFound, "customer " + std::to_string(instance.customer_id) + " does not exist");
    auto taken =
        s.query_one("SELECT id FROM bot_instances WHERE token_hash = :h AND deleted_at IS NULL", {{"h", hash}});
    if (!taken) return fail(std::move(taken.error()));
    if (*taken) return fail(ErrorCode::kAlreadyExists, "another shop already uses this bot token");
    auto row = s.query_one(
        "INSERT INTO bot_instances (customer_id, template_id, template_version, token_enc, token_hash, "
        "admin_telegram_id, channel, deploy_backend, status, deploy_generation, deploy_requested_at_ms, created_at, "
        "updated_at) VALUES (:c, :tpl, :v, :tok, :h, :owner, :ch, :b, 'created', 1, :at, :now, :now) RETURNING id",
        {{"c", instance.customer_id},
         {"tpl", *template_id},
         {"v", d.options.template_version},
         {"tok", crypto::encrypt(d.keyring, instance.token)},
         {"h", hash},
         {"owner", instance.owner_telegram_id},
         {"ch", instance.channel.empty() ? Value{} : Value{instance.channel}},
         {"b", std::string(to_string(instance.backend))},
         {"at", now_ms(d.clock)},
         {"now", now}});
    if (!row) return fail(std::move(row.error()));
    return (*row)->get_int("id");
  });
  if (!id) {
    if (id.error().code == ErrorCode::kAlreadyExists)
      return fail(ErrorCode::kAlreadyExists, "another shop already uses this bot token");
    return fail(std::move(id.error()));
  }
  jobs::NewJob job;
  job.kind = kDeployJob;
  job.payload = nlohmann::json{{"instance", *id}, {"admins", instance.admin_ids}};
  job.idempotency_key = deploy_key(*id, 1);
  job.max_attempts = d.options.max_attempts;
  if (auto queued = d.jobs.enqueue(job); !queued) return fail(std::move(queued.error()));
  return *id;
}

Result<void> DeployPipeline::deploy(std::int64_t instance_id) { return impl_->queue(instance_id, {}); }

Result<void> DeployPipeline::stop(std::int64_t instance_id) {
  auto& d = *impl_;
  // A deployment step running now finishes first; the rest of that deployment is superseded,
  // so it cannot start the bot again after this stop.
  auto instance_lock = d.lock_for(instance_id);
  auto hold = d.lock_ahead_of_steps(*instance_lock);
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  if (inst->state == BotState::kStopped) return ok();
  if (!domain::can_transition(inst->state, BotState::kStopped) && inst->state != BotState::kRestarting)
    return fail(ErrorCode::kConflict, "a " + std::string(domain::to_string(inst->state)) + " bot cannot be stopped");
  if (auto superseded = d.supersede(*inst); !superseded) return superseded;
  if (Deployer* deployer = d.backend_for(inst->backend)) {
    if (auto stopped = deployer->stop(instance_id); !stopped) return stopped;
  }
  // restarting -> stopped is no edge: the cut-short restart counts as failed, which is
  // stopped for every purpose (the owner starts it again the same way).
  if (inst->state == BotState::kRestarting) return d.move(instance_id, inst->state, BotState::kFailed);
  return d.move(instance_id, inst->state, BotState::kStopped);
}

Result<void> DeployPipeline::start(std::int64_t instance_id) {
  auto& d = *impl_;
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  if (domain::is_serving(inst->state) || inst->state == BotState::kStarting) return ok();
  if (inst->state == BotState::kSuspended)
    return fail(ErrorCode::kConflict, "the bot is suspended until the package is renewed");
  // A bot that was set up before starts again without the setup steps.
  const bool set_up = inst->telegram_bot_id && inst->tenant_id;
  if ((inst->state == BotState::kStopped || inst->state == BotState::kFailed) && set_up)
    return d.queue(instance_id, kSetupSteps);
  return d.queue(instance_id, {});
}

Result<void> DeployPipeline::restart(std::int64_t instance_id) {
  auto& d = *impl_;
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  if (inst->state == BotState::kSuspended)
    return fail(ErrorCode::kConflict, "the bot is suspended until the package is renewed");
  if (domain::is_serving(inst->state) || inst->state == BotState::kStopped || inst->state == BotState::kFailed) {
    // A real restart: the backend starts the bot afresh even with the same spec.
    if (inst->state == BotState::kRunning) {
      if (Deployer* deployer = d.backend_for(inst->backend)) (void)deployer->stop(instance_id);
    }
    return d.queue(instance_id, kSetupSteps);
  }
  return d.queue(instance_id, {});
}

Result<void> DeployPipeline::replace_token(std::int64_t instance_id, const std::string& token) {
  auto& d = *impl_;
  if (auto valid = domain::validate_bot_token(token); !valid) return fail(std::move(valid.error()));
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  if (inst->deleted_at) return fail(ErrorCode::kConflict, "the instance was removed");
  if (inst->state == BotState::kSuspended)
    return fail(ErrorCode::kConflict, "the bot is suspended until the package is renewed");
  const std::string hash = crypto::sha256_hex(token);
  auto taken = d.master.with_session([&](Session& s) {
    return s.query_one("SELECT id FROM bot_instances WHERE token_hash = :h AND id <> :id AND deleted_at IS NULL",
                       {{"h", hash}, {"id", instance_id}});
  });
  if (!taken) return fail(std::move(taken.error()));
  if (*taken) return fail(ErrorCode::kAlreadyExists, "another shop already uses this bot token");
  // The bot stops with its old token; the pipeline verifies the new one and starts it again.
  if (domain::is_serving(inst->state) || inst->state == BotState::kStarting) {
    if (auto stopped = stop(instance_id); !stopped) return stopped;
  } else {
    (void)d.cancel_queued(*inst);
  }
  auto set = d.master.with_session([&](Session& s) {
    return s.exec("UPDATE bot_instances SET token_enc = :tok, token_hash = :h, updated_at = :now WHERE id = :id",
                  {{"tok", crypto::encrypt(d.keyring, token)},
                   {"h", hash},
                   {"now", d.clock.unix_seconds()},
                   {"id", instance_id}});
  });
  if (!set) {
    if (set.error().code == ErrorCode::kAlreadyExists)
      return fail(ErrorCode::kAlreadyExists, "another shop already uses this bot token");
    return fail(std::move(set.error()));
  }
  return d.queue(instance_id, {});
}

Result<void> DeployPipeline::suspend(std::int64_t instance_id) {
  auto& d = *impl_;
  // As stop(): a deployment step running now finishes first, the rest is superseded, so a bot
  // being set up when its package lapsed never comes up selling.
  auto instance_lock = d.lock_for(instance_id);
  auto hold = d.lock_ahead_of_steps(*instance_lock);
  return d.suspend_locked(instance_id);
}

Result<void> DeployPipeline::resume(std::int64_t instance_id) {
  auto& d = *impl_;
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  if (inst->state != BotState::kSuspended) return ok();
  // A bot that never finished a deployment (suspended mid-setup) is set up from the token on;
  // one that was deployed starts again without the setup steps.
  if (!inst->deployed_at) return d.queue(instance_id, {});
  return d.queue(instance_id, kSetupSteps);
}

Result<void> DeployPipeline::remove(std::int64_t instance_id) {
  auto& d = *impl_;
  auto instance_lock = d.lock_for(instance_id);  // as stop(): after the running step, none after
  auto hold = d.lock_ahead_of_steps(*instance_lock);
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  if (inst->state == BotState::kDeleted) return ok();
  if (auto superseded = d.supersede(*inst); !superseded) return superseded;
  if (inst->state != BotState::kDeleting) {
    if (auto moved = d.move(instance_id, inst->state, BotState::kDeleting); !moved) return moved;
  }
  if (Deployer* deployer = d.backend_for(inst->backend)) {
    if (auto stopped = deployer->stop(instance_id); !stopped) return stopped;
  }
  const std::int64_t now = d.clock.unix_seconds();
  return d.move(instance_id, BotState::kDeleting, BotState::kDeleted, ", deleted_at = :del, purge_after = :purge",
                {{"del", now}, {"purge", now + d.options.retention_seconds}});
}

Result<InstanceStatus> DeployPipeline::status(std::int64_t instance_id) {
  auto& d = *impl_;
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  InstanceStatus s = status_of(*inst);
  // A bot this process runs: its backend knows the newest sign of life.
  if (Deployer* deployer = d.backend_for(inst->backend);
      deployer && (domain::is_serving(inst->state) || inst->state == BotState::kSuspended)) {
    if (auto h = deployer->health(instance_id); h && h->heartbeat_at) {
      if (!s.heartbeat_at || *h->heartbeat_at > *s.heartbeat_at) {
        s.heartbeat_at = h->heartbeat_at;
        (void)d.set_columns(instance_id, "heartbeat_at = :hb", {{"hb", *h->heartbeat_at}});
      }
      if (!h->last_error.empty()) s.last_error = h->last_error;
    }
  }
  return s;
}

Result<std::vector<InstanceStatus>> DeployPipeline::list(std::int64_t customer_id) {
  auto& d = *impl_;
  auto rows = d.master.with_session([&](Session& s) {
    return s.query("SELECT i.id FROM bot_instances i WHERE i.customer_id = :c AND i.deleted_at IS NULL ORDER BY i.id",
                   {{"c", customer_id}});
  });
  if (!rows) return fail(std::move(rows.error()));
  std::vector<InstanceStatus> out;
  for (const auto& r : *rows) {
    auto s = status(r.get_int("id"));
    if (!s) return fail(std::move(s.error()));
    out.push_back(std::move(*s));
  }
  return out;
}

std::unique_ptr<ProgressSubscription> DeployPipeline::subscribe(std::function<void(const Progress&)> on_progress) {
  std::uint64_t id;
  {
    std::lock_guard lock(impl_->mu);
    id = impl_->next_subscriber++;
    impl_->subscribers[id] = std::move(on_progress);
  }
  std::weak_ptr<Impl> weak = impl_;
  return std::make_unique<Subscription>(
      [weak](std::uint64_t sub) {
        if (auto self = weak.lock()) {
          {
            std::lock_guard lock(self->mu);
            self->subscribers.erase(sub);
          }
          // A publish that copied this callback may be calling it now: wait for it, so the
          // subscriber may be destroyed once this returns (never unsubscribe from a callback).
          std::unique_lock calls_done(self->publishing);
        }
      },
      id);
}

Result<int> DeployPipeline::recover() {
  auto& d = *impl_;
  auto rows = d.master.with_session([](Session& s) {
    return s.query(
        "SELECT i.id FROM bot_instances i WHERE i.deleted_at IS NULL AND i.status NOT IN ('stopped', 'failed', "
        "'deleting', 'deleted') ORDER BY i.id");
  });
  if (!rows) return fail(std::move(rows.error()));
  int started = 0;
  for (const auto& r : *rows) {
    auto inst = d.load(r.get_int("id"));
    if (!inst) continue;
    Deployer* deployer = d.backend_for(inst->backend);
    if (!deployer) continue;  // another process runs that backend
    auto open = d.jobs.find(deploy_key(inst->id, inst->generation));
    if (!open) {
      spdlog::warn("bot instance {}: finding its deployment: {}", inst->id, open.error().to_string());
      continue;
    }
    const bool job_open =
        *open && ((*open)->status == jobs::JobStatus::kQueued || (*open)->status == jobs::JobStatus::kRunning);
    const int rank = setup_rank(inst->state);
    if (rank >= 0 && rank <= 4) {
      // On its way up (created .. configured, starting, restarting): an open deployment job
      // carries on by itself; a lost one is queued again; one that ended (dead after its
      // attempts, cancelled) without bringing the bot up is followed by a new deployment, so
      // nothing stays half set up or restarting forever.
      if (job_open) continue;
      if (!*open) {
        jobs::NewJob job;
        job.kind = kDeployJob;
        job.payload = nlohmann::json{{"instance", inst->id}};
        job.idempotency_key = deploy_key(inst->id, inst->generation);
        job.max_attempts = d.options.max_attempts;
        if (auto queued = d.jobs.enqueue(job); !queued)
          spdlog::warn("bot instance {}: queueing its deployment: {}", inst->id, queued.error().to_string());
        continue;
      }
      // Starting or restarting: the setup was done; only the start and the health check are left.
      auto queued = d.queue(inst->id, rank == 4 ? kSetupSteps : std::vector<std::string>{});
      if (!queued)
        spdlog::warn("bot instance {}: queueing a new deployment: {}", inst->id, queued.error().to_string());
      else
        spdlog::info("bot instance {} was left {} by a deployment that ended; deploying it again", inst->id,
                     domain::to_string(inst->state));
      continue;
    }
    // Suspended before it was ever deployed (mid-setup): nothing to run until a renewal.
    if (inst->state == BotState::kSuspended && !inst->deployed_at) continue;
    if (job_open) continue;
    auto spec = d.spec_of(*inst, inst->state == BotState::kSuspended);
    if (!spec) {
      spdlog::error("bot instance {}: {}", inst->id, spec.error().message);
      continue;
    }
    if (auto ok_start = deployer->start(*spec); !ok_start) {
      spdlog::warn("bot instance {} did not start: {}; retrying through a deployment", inst->id,
                   ok_start.error().to_string());
      (void)d.set_columns(inst->id, "last_error = :e", {{"e", ok_start.error().message}});
      if (inst->state == BotState::kRunning) {
        if (d.move(inst->id, inst->state, BotState::kFailed)) (void)d.queue(inst->id, kSetupSteps);
      }
      continue;
    }
    (void)d.set_columns(inst->id, "started_at = :t", {{"t", d.clock.unix_seconds()}});
    ++started;
  }
  return started;
}

Result<int> DeployPipeline::check_running() {
  auto& d = *impl_;
  auto rows = d.master.with_session([](Session& s) {
    return s.query(
        "SELECT i.id FROM bot_instances i WHERE i.deleted_at IS NULL AND i.status = 'running' ORDER BY i.id");
  });
  if (!rows) return fail(std::move(rows.error()));
  int failed = 0;
  for (const auto& r : *rows) {
    auto inst = d.load(r.get_int("id"));
    if (!inst || inst->state != BotState::kRunning) continue;
    Deployer* deployer = d.backend_for(inst->backend);
    if (!deployer) continue;  // another process runs that backend
    auto health = deployer->health(inst->id);
    if (!health || !health->token_refused) continue;
    const std::string reason = "Telegram refused the bot token (revoked or wrong); send a new token";
    if (auto moved = d.move(inst->id, BotState::kRunning, BotState::kFailed, ", last_error = :e", {{"e", reason}});
        !moved) {
      continue;  // it moved meanwhile (stopped, removed, a new token): nothing to do here
    }
    if (auto stopped = deployer->stop(inst->id); !stopped)
      spdlog::warn("bot instance {}: stopping after its token was refused: {}", inst->id, stopped.error().to_string());
    spdlog::warn("bot instance {}: {}", inst->id, reason);
    d.publish({inst->id, Step::kHealthy, StepStatus::kFailed, 1, reason, d.clock.unix_seconds(), std::nullopt});
    ++failed;
  }
  return failed;
}

Result<std::int64_t> DeployPipeline::roll(const std::string& version) {
  auto& d = *impl_;
  if (version.empty()) return fail(ErrorCode::kInvalidArgument, "a template version is needed");
  if (auto t = ensure_template(d.master, version, d.clock.unix_seconds()); !t) return fail(std::move(t.error()));
  jobs::NewJob job;
  job.kind = kRollJob;
  job.payload = nlohmann::json{{"version", version}};
  job.idempotency_key = "roll:" + version + ":" + std::to_string(now_ms(d.clock));
  job.max_attempts = 1;  // a failed instance stops the roll; a person decides what next
  return d.jobs.enqueue(job);
}

Result<RollResult> DeployPipeline::roll_result(std::int64_t job_id) {
  auto job = impl_->jobs.get(job_id);
  if (!job) return fail(std::move(job.error()));
  if (job->kind != kRollJob) return fail(ErrorCode::kInvalidArgument, "job " + std::to_string(job_id) + " is no roll");
  RollResult r;
  r.version = job->payload.value("version", "");
  for (const auto& step : job->steps_done) {
    if (step.rfind("instance:", 0) == 0) r.restarted.push_back(std::stoll(step.substr(9)));
  }
  if (job->status == jobs::JobStatus::kDead) {
    r.error = job->last_error;
    if (r.error.rfind("instance ", 0) == 0) {
      try {
        r.failed = std::stoll(r.error.substr(9));
      } catch (const std::exception&) {
      }
    }
  }
  return r;
}

}  // namespace ms::deploy
