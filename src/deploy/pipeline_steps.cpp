// The steps of a deployment (token verified, tenant ready, configured, started, healthy)
// and the deploy and roll jobs that run them on the JobRunner's workers.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "core/crypto/primitives.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/i18n/lang.hpp"
#include "core/metrics.hpp"
#include "deploy/pipeline_impl.hpp"
#include "bots/shop/settings.hpp"

namespace ms::deploy {

using namespace internal;
using domain::BotState;
using storage::Session;
using storage::Value;

namespace {

// Failures a retry cannot fix end the deployment at once.
bool permanent(ErrorCode code) {
  return code == ErrorCode::kInvalidArgument || code == ErrorCode::kAlreadyExists ||
         code == ErrorCode::kUnauthenticated || code == ErrorCode::kPermissionDenied || code == ErrorCode::kNotFound;
}

Error telegram_failure(std::string_view what, const telegram::TelegramError& err) {
  if (telegram::is_unauthorized(err))
    return Error{ErrorCode::kUnauthenticated, "Telegram refused the bot token (revoked or wrong)"};
  if (telegram::is_transient(err) || telegram::is_rate_limited(err) || err.error_code >= 500 || err.error_code == 0)
    return Error{ErrorCode::kUnavailable, std::string(what) + ": Telegram did not answer: " + err.to_string()};
  return Error{ErrorCode::kInvalidArgument, std::string(what) + ": " + err.to_string()};
}

// setMyName, which telegram/methods.hpp does not carry yet: a bot's name per language.
struct SetMyName {
  static constexpr std::string_view kName = "setMyName";
  using Response = bool;
  std::string name;  // at most 64 characters; Telegram checks
  std::optional<std::string> language_code;
  telegram::Json to_params() const {
    telegram::Json j{{"name", name}};
    if (language_code) j["language_code"] = *language_code;
    return j;
  }
};

}  // namespace

telegram::BotClient DeployPipeline::Impl::client_for(const std::string& token) {
  return telegram::BotClient(http, options.telegram_api_url, token);
}

Result<void> DeployPipeline::Impl::verify_token(const Instance& inst) {
  auto token = crypto::decrypt(keyring, inst.token_enc);
  if (!token) return fail(ErrorCode::kCorrupted, "the bot token cannot be opened");
  auto client = client_for(*token);
  auto me = client.call_sync(telegram::GetMe{});
  if (!me) return fail(telegram_failure("getMe", me.error()));
  auto taken = master.with_session([&](Session& s) {
    return s.query_one("SELECT id FROM bot_instances WHERE telegram_bot_id = :b AND id <> :id AND deleted_at IS NULL",
                       {{"b", me->id}, {"id", inst.id}});
  });
  if (!taken) return fail(std::move(taken.error()));
  if (*taken) return fail(ErrorCode::kAlreadyExists, "another shop already runs this bot");
  if (auto set = set_columns(inst.id, "telegram_bot_id = :b, bot_username = :u",
                             {{"b", me->id}, {"u", me->username.value_or("")}});
      !set)
    return set;
  return advance(inst.id, BotState::kTokenVerified);
}

Result<std::int64_t> DeployPipeline::Impl::ensure_tenant(const Instance& inst) {
  if (inst.tenant_id) {
    auto db = storage.tenant(*inst.tenant_id);
    if (db) return *inst.tenant_id;
    if (db.error().code != ErrorCode::kNotFound) return fail(std::move(db.error()));
    auto made = storage.create_tenant(*inst.tenant_id);
    if (!made && made.error().code != ErrorCode::kAlreadyExists) return fail(std::move(made.error()));
    return *inst.tenant_id;
  }
  auto linked = master.with_session([&](Session& s) {
    return s.query_one("SELECT id FROM customers WHERE tenant_id = :t", {{"t", inst.customer_id}});
  });
  if (!linked) return fail(std::move(linked.error()));
  std::int64_t tenant = inst.customer_id;
  if (*linked) {
    auto next = master.with_session(
        [](Session& s) { return s.query_one("SELECT coalesce(max(id), 0) + 1 AS n FROM tenants"); });
    if (!next) return fail(std::move(next.error()));
    tenant = (*next)->get_int("n");
  }
  auto made = storage.create_tenant(tenant);
  if (!made && made.error().code != ErrorCode::kAlreadyExists) return fail(std::move(made.error()));
  auto link = master.with_session([&](Session& s) {
    return s.exec("UPDATE customers SET tenant_id = :t, updated_at = :now WHERE id = :id AND tenant_id IS NULL",
                  {{"t", tenant}, {"now", clock.unix_seconds()}, {"id", inst.customer_id}});
  });
  if (!link) return fail(std::move(link.error()));
  if (*link != 1) {
    auto again = load(inst.id);  // someone linked another one meanwhile: use it
    if (!again) return fail(std::move(again.error()));
    if (again->tenant_id) return *again->tenant_id;
  }
  return tenant;
}

Result<void> DeployPipeline::Impl::prepare_tenant(const Instance& inst, const jobs::Job& job) {
  auto tenant = ensure_tenant(inst);
  if (!tenant) return fail(std::move(tenant.error()));
  auto db = storage.tenant(*tenant);
  if (!db) return fail(std::move(db.error()));
  auto settings = shop::load_settings(**db);
  if (!settings) return fail(std::move(settings.error()));
  bool changed = false;
  auto add_admin = [&](std::int64_t telegram_id, shop::AdminRole role) {
    if (telegram_id == 0 || settings->role_of(telegram_id)) return;
    settings->admins.push_back({telegram_id, role});
    changed = true;
  };
  add_admin(inst.owner, shop::AdminRole::kOwner);
  for (const auto& a : job.payload.value("admins", nlohmann::json::array())) {
    if (a.is_number_integer()) add_admin(a.get<std::int64_t>(), shop::AdminRole::kAdmin);
  }
  if (!inst.channel.empty()) {
    std::string name = inst.channel.front() == '@' ? inst.channel.substr(1) : inst.channel;
    const std::string url = "https://t.me/" + name;
    const bool known = std::any_of(settings->channels.begin(), settings->channels.end(),
                                   [&](const shop::Channel& c) { return c.url == url; });
    if (!known) {
      auto token = crypto::decrypt(keyring, inst.token_enc);
      if (!token) return fail(ErrorCode::kCorrupted, "the bot token cannot be opened");
      auto client = client_for(*token);
      auto chat = client.call_sync(telegram::GetChat{"@" + name});
      if (!chat) return fail(telegram_failure("the channel @" + name, chat.error()));
      settings->channels.push_back({chat->id, chat->title.value_or(name), url});
      changed = true;
    }
  }
  if (changed) {
    if (auto saved = shop::save_settings(**db, *settings, clock.unix_seconds()); !saved) return saved;
  }
  return advance(inst.id, BotState::kTenantReady);
}

Result<void> DeployPipeline::Impl::configure(const Instance& inst) {
  auto token = crypto::decrypt(keyring, inst.token_enc);
  if (!token) return fail(ErrorCode::kCorrupted, "the bot token cannot be opened");
  auto client = client_for(*token);
  auto check = [](std::string_view what, const auto& reply) -> Result<void> {
    if (!reply) return fail(telegram_failure(what, reply.error()));
    return ok();
  };
  // Persian is the default for everyone; English for people whose Telegram speaks it.
  for (auto [lang, code] : {std::pair{i18n::Lang::kFa, std::optional<std::string>()},
                            std::pair{i18n::Lang::kEn, std::optional<std::string>("en")}}) {
    telegram::SetMyCommands commands;
    for (const char* c : {"start", "menu", "cancel"})
      commands.commands.push_back({c, catalog.render(lang, std::string("deploy.command.") + c)});
    commands.language_code = code;
    if (auto r = check("setMyCommands", client.call_sync(commands)); !r) return r;
    telegram::SetMyDescription description;
    description.description = catalog.render(lang, "deploy.bot.description");
    description.language_code = code;
    if (auto r = check("setMyDescription", client.call_sync(description)); !r) return r;
    telegram::SetMyShortDescription short_description;
    short_description.short_description = catalog.render(lang, "deploy.bot.short_description");
    short_description.language_code = code;
    if (auto r = check("setMyShortDescription", client.call_sync(short_description)); !r) return r;
  }
  if (!inst.name.empty()) {
    SetMyName name;
    name.name = inst.name;
    if (auto r = check("setMyName", client.call_sync(name)); !r) return r;
  }
  if (uses_webhook(inst)) {
    std::string secret;
    if (inst.webhook_secret_enc) {
      auto opened = crypto::decrypt(keyring, *inst.webhook_secret_enc);
      if (!opened) return fail(ErrorCode::kCorrupted, "the webhook secret cannot be opened");
      secret = *opened;
    } else {
      secret = crypto::random_token(24);
      if (auto set = set_columns(inst.id, "webhook_secret_enc = :s", {{"s", crypto::encrypt(keyring, secret)}}); !set)
        return set;
    }
    telegram::SetWebhook hook;
    hook.url = options.public_url + "/telegram/" + std::to_string(inst.id);
    hook.secret_token = secret;
    if (auto r = check("setWebhook", client.call_sync(hook)); !r) return r;
  } else {
    if (auto r = check("deleteWebhook", client.call_sync(telegram::DeleteWebhook{})); !r) return r;
  }
  return advance(inst.id, BotState::kConfigured);
}

Result<void> DeployPipeline::Impl::start_backend(const Instance& inst) {
  Deployer* deployer = backend_for(inst.backend);
  if (!deployer)
    return fail(ErrorCode::kUnavailable,
                "no " + std::string(to_string(inst.backend)) + " backend runs in this process");
  // The package first: a bot whose package lapsed does not start selling. (A suspended one
  // starts here when resume() queued this deployment; a suspension after that superseded it.)
  auto may = may_serve(inst);
  if (!may) return fail(std::move(may.error()));
  if (!*may) return fail(land_suspended(inst));
  // A serving bot is restarting; any other is starting.
  const BotState target = domain::is_serving(inst.state) ? BotState::kRestarting : BotState::kStarting;
  if (inst.state != target && !(inst.state == BotState::kStarting || inst.state == BotState::kRestarting)) {
    if (auto moved = move(inst.id, inst.state, target); !moved) return moved;
  }
  auto fresh = load(inst.id);
  if (!fresh) return fail(std::move(fresh.error()));
  auto spec = spec_of(*fresh, false);
  if (!spec) return fail(std::move(spec.error()));
  if (auto started = deployer->start(*spec); !started) return started;
  return set_columns(inst.id, "started_at = :t, heartbeat_at = NULL", {{"t", clock.unix_seconds()}});
}

Result<InstanceHealth> DeployPipeline::Impl::await_health(Deployer& deployer, std::int64_t id) {
  const auto until = std::chrono::steady_clock::now() + options.health_wait;
  std::string last;
  while (true) {
    auto h = deployer.health(id);
    if (h && h->running && h->heartbeat_at && h->started_at && *h->heartbeat_at >= *h->started_at) return h;
    if (h) last = h->last_error;
    if (!h) last = h.error().message;
    if (std::chrono::steady_clock::now() >= until) break;
    std::this_thread::sleep_for(options.health_poll);
  }
  return fail(ErrorCode::kUnavailable, "no sign of life within " + std::to_string(options.health_wait.count() / 1000) +
                                           " s" + (last.empty() ? std::string() : ": " + last));
}

Result<std::optional<std::int64_t>> DeployPipeline::Impl::check_health(const Instance& inst) {
  Deployer* deployer = backend_for(inst.backend);
  if (!deployer)
    return fail(ErrorCode::kUnavailable,
                "no " + std::string(to_string(inst.backend)) + " backend runs in this process");
  auto h = await_health(*deployer, inst.id);
  if (!h) return fail(std::move(h.error()));
  auto fresh = load(inst.id);
  if (!fresh) return fail(std::move(fresh.error()));
  // The last line before running: the package may have lapsed, or the bot been suspended by
  // another process, while it was being set up; then it lands in suspended, never running.
  auto may = may_serve(*fresh);
  if (!may) return fail(std::move(may.error()));
  if (!*may || fresh->state == BotState::kSuspended) return fail(land_suspended(*fresh));
  if (fresh->state != BotState::kRunning) {
    if (auto moved = move(inst.id, fresh->state, BotState::kRunning); !moved) return fail(std::move(moved.error()));
  }
  const std::int64_t at = now_ms(clock);
  std::optional<std::int64_t> took;
  if (fresh->requested_at_ms) took = std::max<std::int64_t>(0, at - *fresh->requested_at_ms);
  auto set =
      set_columns(inst.id, "heartbeat_at = :hb, started_at = :st, deploy_ms = :ms, deployed_at = :t, last_error = NULL",
                  {{"hb", *h->heartbeat_at},
                   {"st", *h->started_at},
                   {"ms", took ? Value{*took} : Value{}},
                   {"t", clock.unix_seconds()}});
  if (!set) return fail(std::move(set.error()));
  if (took) {
    metrics::histogram("mothership_deploy_seconds", "Deployment time: requested to the first passed health check",
                       {{"backend", std::string(to_string(inst.backend))}}, {0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300})
        .Observe(static_cast<double>(*took) / 1000.0);
  }
  return took;
}

jobs::Outcome DeployPipeline::Impl::run_deploy(const jobs::Job& job) {
  const std::int64_t id = job.payload.value("instance", std::int64_t{0});
  auto instance_lock = lock_for(id);
  // A stop or remove waiting for the previous step goes first (it supersedes the rest).
  for (int i = 0; i < 2'000 && instance_lock->waiting_stops.load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::lock_guard hold(instance_lock->mutex);
  auto inst = load(id);
  if (!inst) {
    if (inst.error().code == ErrorCode::kNotFound) return jobs::Outcome::fail(inst.error().message);
    return jobs::Outcome::retry(inst.error().message);
  }
  if (inst->deleted_at || inst->state == BotState::kDeleting || inst->state == BotState::kDeleted)
    return jobs::Outcome::fail("the instance was removed");
  if (inst->generation != 0 && job.idempotency_key != deploy_key(id, inst->generation))
    return jobs::Outcome::fail("a newer deployment of this instance replaced this one");
  for (Step step : kSteps) {
    const std::string name(to_string(step));
    if (job.step_done(name)) continue;
    const int attempt = record_step(id, job.id, step, StepStatus::kStarted, "");
    publish({id, step, StepStatus::kStarted, attempt, "", clock.unix_seconds(), std::nullopt});
    Result<void> result = ok();
    std::optional<std::int64_t> took;
    switch (step) {
      case Step::kTokenVerified: result = verify_token(*inst); break;
      case Step::kTenantReady: result = prepare_tenant(*inst, job); break;
      case Step::kConfigured: result = configure(*inst); break;
      case Step::kStarted: result = start_backend(*inst); break;
      case Step::kHealthy: {
        auto h = check_health(*inst);
        if (h)
          took = *h;
        else
          result = fail(std::move(h.error()));
        break;
      }
    }
    if (result) {
      record_step(id, job.id, step, StepStatus::kDone, "");
      publish({id, step, StepStatus::kDone, attempt, "", clock.unix_seconds(),
               step == Step::kHealthy ? took : std::nullopt});
      if (step == Step::kHealthy)
        spdlog::info("bot instance {} is live{}", id,
                     took ? " (deployed in " + std::to_string(*took) + " ms)" : std::string());
      return jobs::Outcome::step_done(name);  // the next call finds every step done
    }
    const Error& err = result.error();
    const bool last = permanent(err.code) || job.attempts >= job.max_attempts;
    record_step(id, job.id, step, last ? StepStatus::kFailed : StepStatus::kRetrying, err.message);
    (void)set_columns(id, "last_error = :e", {{"e", err.message}});
    if (last) {
      // A bot that was starting or serving has failed; setup steps leave the state as is.
      if (auto now = load(id); now && (now->state == BotState::kStarting || now->state == BotState::kRestarting))
        (void)move(id, now->state, BotState::kFailed);
    }
    publish({id, step, last ? StepStatus::kFailed : StepStatus::kRetrying, attempt, err.message, clock.unix_seconds(),
             std::nullopt});
    return permanent(err.code) ? jobs::Outcome::fail(err.message) : jobs::Outcome::retry(err.message);
  }
  return jobs::Outcome::done();
}

jobs::Outcome DeployPipeline::Impl::run_roll(const jobs::Job& job) {
  const std::string version = job.payload.value("version", "");
  if (version.empty()) return jobs::Outcome::fail("a roll needs a version");
  auto ids = master.with_session([](Session& s) {
    return s.query(
        "SELECT id FROM bot_instances WHERE deleted_at IS NULL AND status IN ('running', 'restarting') ORDER BY id");
  });
  if (!ids) return jobs::Outcome::retry(ids.error().message);
  for (const auto& r : *ids) {
    const std::int64_t id = r.get_int("id");
    const std::string step = "instance:" + std::to_string(id);
    if (job.step_done(step)) continue;
    auto inst = load(id);
    if (!inst) return jobs::Outcome::retry(inst.error().message);
    if (inst->template_version == version && inst->state == BotState::kRunning) return jobs::Outcome::step_done(step);
    if (auto set = set_columns(id, "template_version = :v", {{"v", version}}); !set)
      return jobs::Outcome::retry(set.error().message);
    auto fresh = load(id);
    if (!fresh) return jobs::Outcome::retry(fresh.error().message);
    auto started = start_backend(*fresh);
    Result<std::optional<std::int64_t>> healthy =
        started ? check_health(*fresh) : Result<std::optional<std::int64_t>>(fail(started.error()));
    if (!healthy && landed_suspended(healthy.error())) return jobs::Outcome::step_done(step);  // paused, not rolled
    if (!healthy) {
      const std::string why = "instance " + std::to_string(id) +
                              (inst->bot_username.empty() ? "" : " (@" + inst->bot_username + ")") +
                              " did not pass its health check on version " + version + ": " + healthy.error().message;
      (void)set_columns(id, "last_error = :e", {{"e", why}});
      if (auto now = load(id); now && (now->state == BotState::kStarting || now->state == BotState::kRestarting))
        (void)move(id, now->state, BotState::kFailed);
      return jobs::Outcome::fail(why);
    }
    return jobs::Outcome::step_done(step);
  }
  // Instances not running take the version when they next start.
  auto rest = master.with_session([&](Session& s) {
    return s.exec("UPDATE bot_instances SET template_version = :v WHERE deleted_at IS NULL", {{"v", version}});
  });
  if (!rest) return jobs::Outcome::retry(rest.error().message);
  return jobs::Outcome::done();
}

}  // namespace ms::deploy
