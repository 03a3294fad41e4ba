// DeployPipeline::Impl: reading and moving instances, Progress, deployment_steps, and
// queueing deployments (the steps themselves are in pipeline_steps.cpp).
#include <spdlog/spdlog.h>

#include "core/crypto/secret_box.hpp"
#include "deploy/pipeline_impl.hpp"

namespace ms::deploy {

using namespace internal;
using domain::BotState;
using storage::Row;
using storage::Session;
using storage::Value;

namespace internal {

int setup_rank(BotState s) {
  switch (s) {
    case BotState::kCreated: return 0;
    case BotState::kTokenVerified: return 1;
    case BotState::kTenantReady: return 2;
    case BotState::kConfigured: return 3;
    case BotState::kStarting: return 4;
    case BotState::kRestarting: return 4;
    case BotState::kRunning: return 5;
    default: return -1;
  }
}

Instance instance_of(const Row& r) {
  Instance i;
  i.id = r.get_int("id");
  i.customer_id = r.get_int("customer_id");
  i.tenant_id = r.opt_int("tenant_id");
  i.name = r.get_string("name");
  i.state = domain::parse<BotState>(r.get_string("status")).value_or(BotState::kFailed);
  i.backend = parse_backend(r.get_string("deploy_backend")).value_or(Backend::kInProcess);
  i.token_enc = r.get_string("token_enc");
  i.bot_username = r.opt_string("bot_username").value_or("");
  i.telegram_bot_id = r.opt_int("telegram_bot_id");
  i.owner = r.get_int("admin_telegram_id");
  i.channel = r.opt_string("channel").value_or("");
  i.template_version = r.get_string("template_version");
  i.webhook_secret_enc = r.opt_string("webhook_secret_enc");
  i.generation = r.get_int("deploy_generation");
  i.requested_at_ms = r.opt_int("deploy_requested_at_ms");
  i.deploy_ms = r.opt_int("deploy_ms");
  i.started_at = r.opt_int("started_at");
  i.heartbeat_at = r.opt_int("heartbeat_at");
  i.last_error = r.opt_string("last_error").value_or("");
  i.deleted_at = r.opt_int("deleted_at");
  i.deployed_at = r.opt_int("deployed_at");
  return i;
}

InstanceStatus status_of(const Instance& i) {
  InstanceStatus s;
  s.instance_id = i.id;
  s.customer_id = i.customer_id;
  s.bot_username = i.bot_username;
  s.state = i.state;
  s.backend = i.backend;
  s.template_version = i.template_version;
  s.started_at = i.started_at;
  s.heartbeat_at = i.heartbeat_at;
  s.deploy_ms = i.deploy_ms;
  s.last_error = i.last_error;
  return s;
}

}  // namespace internal

Result<Instance> DeployPipeline::Impl::load(std::int64_t id) {
  auto row = master.with_session([&](Session& s) {
    return s.query_one("SELECT " + std::string(kInstanceColumns) +
                           " FROM bot_instances i JOIN customers c ON c.id = i.customer_id WHERE i.id = :id",
                       {{"id", id}});
  });
  if (!row) return fail(std::move(row.error()));
  if (!*row) return fail(ErrorCode::kNotFound, "bot instance " + std::to_string(id) + " does not exist");
  return instance_of(**row);
}

Result<void> DeployPipeline::Impl::move(std::int64_t id, BotState from, BotState to, const std::string& extra_set,
                                        storage::Params extra) {
  if (auto allowed = domain::transition(from, to); !allowed) return fail(std::move(allowed.error()));
  storage::Params params{{"id", id},
                         {"from", std::string(domain::to_string(from))},
                         {"to", std::string(domain::to_string(to))},
                         {"now", clock.unix_seconds()}};
  for (auto& p : extra) params.push_back(std::move(p));
  auto changed = master.with_session([&](Session& s) {
    return s.exec(
        "UPDATE bot_instances SET status = :to, updated_at = :now" + extra_set + " WHERE id = :id AND status = :from",
        params);
  });
  if (!changed) return fail(std::move(changed.error()));
  if (*changed != 1)
    return fail(ErrorCode::kConflict, "bot instance " + std::to_string(id) + " changed state meanwhile");
  return ok();
}

Result<void> DeployPipeline::Impl::advance(std::int64_t id, BotState target) {
  for (int tries = 0; tries < 3; ++tries) {
    auto inst = load(id);
    if (!inst) return fail(std::move(inst.error()));
    if (inst->state == target) return ok();
    if (domain::can_transition(inst->state, target)) {
      auto moved = move(id, inst->state, target);
      if (moved || moved.error().code != ErrorCode::kConflict) return moved;
      continue;  // it moved under us: look again
    }
    const int rank = setup_rank(inst->state);
    if (rank >= 0 && rank > setup_rank(target) && setup_rank(target) <= 3) return ok();
    return fail(ErrorCode::kConflict, "bot instance " + std::to_string(id) + " is " +
                                          std::string(domain::to_string(inst->state)) + ", not on its way to " +
                                          std::string(domain::to_string(target)));
  }
  return fail(ErrorCode::kConflict, "bot instance " + std::to_string(id) + " keeps changing state");
}

Result<void> DeployPipeline::Impl::set_columns(std::int64_t id, const std::string& set, storage::Params params) {
  params.push_back({"id", id});
  params.push_back({"now", clock.unix_seconds()});
  auto r = master.with_session([&](Session& s) {
    return s.exec("UPDATE bot_instances SET " + set + ", updated_at = :now WHERE id = :id", params);
  });
  if (!r) return fail(std::move(r.error()));
  return ok();
}

Deployer* DeployPipeline::Impl::backend_for(Backend b) {
  std::lock_guard lock(mu);
  auto it = backends.find(b);
  return it == backends.end() ? nullptr : it->second;
}

Result<InstanceSpec> DeployPipeline::Impl::spec_of(const Instance& inst, bool suspended) {
  auto token = crypto::decrypt(keyring, inst.token_enc);
  if (!token) return fail(ErrorCode::kCorrupted, "the bot token cannot be opened: " + token.error().message);
  if (!inst.tenant_id) return fail(ErrorCode::kConflict, "the customer has no tenant database yet");
  InstanceSpec spec;
  spec.instance_id = inst.id;
  spec.tenant_id = *inst.tenant_id;
  spec.token = *token;
  spec.bot_username = inst.bot_username;
  spec.owner_telegram_id = inst.owner;
  spec.template_version = inst.template_version;
  spec.webhook = uses_webhook(inst);
  if (spec.webhook && inst.webhook_secret_enc) {
    auto secret = crypto::decrypt(keyring, *inst.webhook_secret_enc);
    if (!secret) return fail(ErrorCode::kCorrupted, "the webhook secret cannot be opened");
    spec.webhook_secret = *secret;
  }
  spec.suspended = suspended;
  return spec;
}

void DeployPipeline::Impl::publish(const Progress& p) {
  std::vector<std::function<void(const Progress&)>> to_call;
  {
    std::lock_guard lock(mu);
    for (const auto& [id, fn] : subscribers) to_call.push_back(fn);
  }
  std::shared_lock calling(publishing);  // an unsubscribe waits for these calls
  for (const auto& fn : to_call) {
    try {
      fn(p);
    } catch (const std::exception& e) {
      spdlog::warn("deploy: a progress subscriber threw: {}", e.what());
    }
  }
}

int DeployPipeline::Impl::record_step(std::int64_t instance, std::int64_t job, Step step, StepStatus status,
                                      const std::string& error) {
  const std::int64_t at = now_ms(clock);
  const std::string name(to_string(step));
  auto attempts = master.transaction([&](Session& s) -> Result<std::int64_t> {
    auto row =
        s.query_one("SELECT attempts FROM deployment_steps WHERE job_id = :j AND step = :s", {{"j", job}, {"s", name}});
    if (!row) return fail(std::move(row.error()));
    if (status == StepStatus::kStarted) {
      if (!*row) {
        auto r = s.exec(
            "INSERT INTO deployment_steps (instance_id, job_id, step, status, attempts, started_at_ms) VALUES (:i, "
            ":j, :s, 'started', 1, :at)",
            {{"i", instance}, {"j", job}, {"s", name}, {"at", at}});
        if (!r) return fail(std::move(r.error()));
        return 1;
      }
      auto r = s.exec(
          "UPDATE deployment_steps SET status = 'started', attempts = attempts + 1, error = NULL WHERE job_id = :j "
          "AND step = :s",
          {{"j", job}, {"s", name}});
      if (!r) return fail(std::move(r.error()));
      return (*row)->get_int("attempts") + 1;
    }
    auto r = s.exec(
        "UPDATE deployment_steps SET status = :st, finished_at_ms = :at, error = :e WHERE job_id = :j AND step = :s",
        {{"st", std::string(to_string(status))},
         {"at", at},
         {"e", error.empty() ? Value{} : Value{error}},
         {"j", job},
         {"s", name}});
    if (!r) return fail(std::move(r.error()));
    return *row ? (*row)->get_int("attempts") : 1;
  });
  if (!attempts) {
    spdlog::warn("deploy: recording step {} of instance {}: {}", name, instance, attempts.error().to_string());
    return 1;
  }
  return static_cast<int>(*attempts);
}

Result<void> DeployPipeline::Impl::queue(std::int64_t id, std::vector<std::string> steps_done, nlohmann::json extra) {
  for (int tries = 0; tries < 3; ++tries) {
    auto inst = load(id);
    if (!inst) return fail(std::move(inst.error()));
    if (inst->deleted_at) return fail(ErrorCode::kConflict, "the instance was removed");
    auto open = jobs.find(deploy_key(id, inst->generation));
    if (!open) return fail(std::move(open.error()));
    if (*open && ((*open)->status == jobs::JobStatus::kQueued || (*open)->status == jobs::JobStatus::kRunning))
      return ok();
    const std::int64_t next = inst->generation + 1;
    auto bumped = master.with_session([&](Session& s) {
      return s.exec(
          "UPDATE bot_instances SET deploy_generation = :n, deploy_requested_at_ms = :at, updated_at = :now WHERE "
          "id = :id AND deploy_generation = :g",
          {{"n", next}, {"at", now_ms(clock)}, {"now", clock.unix_seconds()}, {"id", id}, {"g", inst->generation}});
    });
    if (!bumped) return fail(std::move(bumped.error()));
    if (*bumped != 1) continue;  // another caller queued one meanwhile: look again
    jobs::NewJob job;
    job.kind = kDeployJob;
    job.payload = nlohmann::json{{"instance", id}};
    if (extra.is_object()) job.payload.update(extra);
    job.idempotency_key = deploy_key(id, next);
    job.max_attempts = options.max_attempts;
    job.steps_done = std::move(steps_done);
    auto queued = jobs.enqueue(job);
    if (!queued) return fail(std::move(queued.error()));
    return ok();
  }
  return ok();
}

Result<void> DeployPipeline::Impl::cancel_queued(const Instance& inst) {
  auto open = jobs.find(deploy_key(inst.id, inst.generation));
  if (!open) return fail(std::move(open.error()));
  if (*open && (*open)->status == jobs::JobStatus::kQueued) (void)jobs.cancel((*open)->id);
  return ok();
}

std::unique_lock<std::mutex> DeployPipeline::Impl::lock_ahead_of_steps(InstanceLock& lock) {
  lock.waiting_stops.fetch_add(1);
  std::unique_lock held(lock.mutex);
  lock.waiting_stops.fetch_sub(1);
  return held;
}

std::shared_ptr<DeployPipeline::Impl::InstanceLock> DeployPipeline::Impl::lock_for(std::int64_t id) {
  std::lock_guard lock(instance_locks_mu);
  for (auto it = instance_locks.begin(); it != instance_locks.end();) {
    it = it->second.expired() ? instance_locks.erase(it) : std::next(it);
  }
  auto& weak = instance_locks[id];
  auto held = weak.lock();
  if (!held) {
    held = std::make_shared<InstanceLock>();
    weak = held;
  }
  return held;
}

Result<void> DeployPipeline::Impl::supersede(const Instance& inst) {
  auto open = jobs.find(deploy_key(inst.id, inst.generation));
  if (!open) return fail(std::move(open.error()));
  if (!*open || ((*open)->status != jobs::JobStatus::kQueued && (*open)->status != jobs::JobStatus::kRunning))
    return ok();  // nothing under way
  if ((*open)->status == jobs::JobStatus::kQueued) (void)jobs.cancel((*open)->id);
  auto bumped = master.with_session([&](Session& s) {
    return s.exec(
        "UPDATE bot_instances SET deploy_generation = deploy_generation + 1, updated_at = :now WHERE id = :id AND "
        "deploy_generation = :g",
        {{"now", clock.unix_seconds()}, {"id", inst.id}, {"g", inst.generation}});
  });
  if (!bumped) return fail(std::move(bumped.error()));
  return ok();
}

Result<void> DeployPipeline::Impl::suspend_locked(std::int64_t id) {
  for (int tries = 0; tries < 3; ++tries) {
    auto inst = load(id);
    if (!inst) return fail(std::move(inst.error()));
    // Whatever deployment it has ends here: a renewal queues a new one (resume()).
    if (auto superseded = supersede(*inst); !superseded) return superseded;
    if (inst->state == BotState::kSuspended) return ok();
    if (!domain::can_transition(inst->state, BotState::kSuspended))
      return fail(ErrorCode::kConflict,
                  "a " + std::string(domain::to_string(inst->state)) + " bot cannot be suspended");
    auto moved = move(id, inst->state, BotState::kSuspended);
    if (!moved) {
      if (moved.error().code == ErrorCode::kConflict) continue;  // it moved meanwhile: look again
      return moved;
    }
    return run_suspended(*inst);
  }
  return fail(ErrorCode::kConflict, "bot instance " + std::to_string(id) + " keeps changing state");
}

Result<void> DeployPipeline::Impl::run_suspended(const Instance& inst) {
  Deployer* deployer = backend_for(inst.backend);
  if (!deployer) return ok();  // its backend runs elsewhere: recover() there runs it paused
  // Never deployed (the `started` step may have it up already): it must not sell unpaid.
  if (!inst.deployed_at) return deployer->stop(inst.id);
  auto spec = spec_of(inst, true);
  if (!spec) return fail(std::move(spec.error()));
  if (auto started = deployer->start(*spec); !started) return started;
  return set_columns(inst.id, "started_at = :t", {{"t", clock.unix_seconds()}});
}

Result<bool> DeployPipeline::Impl::may_serve(const Instance& inst) {
  if (!options.may_serve) return true;
  return options.may_serve(inst.customer_id);
}

Error DeployPipeline::Impl::land_suspended(const Instance& inst) {
  const Error lapsed{ErrorCode::kPermissionDenied, kLapsed};
  auto fresh = load(inst.id);
  if (!fresh) return fresh.error();
  if (fresh->state != BotState::kSuspended) {
    if (auto moved = move(inst.id, fresh->state, BotState::kSuspended); !moved) return moved.error();
  }
  spdlog::info("bot instance {}: {}", inst.id, kLapsed);
  (void)set_columns(inst.id, "last_error = :e", {{"e", std::string(kLapsed)}});
  // What this deployment started must not sell: paused when the bot served before, else down.
  if (auto ran = run_suspended(*fresh); !ran) return ran.error();
  return lapsed;
}

}  // namespace ms::deploy
