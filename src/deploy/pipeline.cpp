#include "deploy/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "core/crypto/primitives.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/i18n/catalog.hpp"
#include "core/i18n/lang.hpp"
#include "core/metrics.hpp"
#include "domain/package.hpp"
#include "domain/rules.hpp"
#include "shop/settings.hpp"
#include "telegram/bot_client.hpp"

namespace ms::deploy {

using domain::BotState;
using storage::Row;
using storage::Session;
using storage::Value;

namespace {

constexpr std::array kSteps = {Step::kTokenVerified, Step::kTenantReady, Step::kConfigured, Step::kStarted,
                               Step::kHealthy};
const std::vector<std::string> kSetupSteps = {"token_verified", "tenant_ready", "configured"};

std::int64_t now_ms(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch()).count();
}

// Where a state sits on the way to running; -1 off that way.
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

struct Instance {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::optional<std::int64_t> tenant_id;
  std::string name;
  BotState state = BotState::kCreated;
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
};

constexpr std::string_view kInstanceColumns =
    "i.id, i.customer_id, c.tenant_id, i.name, i.status, i.deploy_backend, i.token_enc, i.bot_username, "
    "i.telegram_bot_id, i.admin_telegram_id, i.channel, i.template_version, i.webhook_secret_enc, "
    "i.deploy_generation, i.deploy_requested_at_ms, i.deploy_ms, i.started_at, i.heartbeat_at, i.last_error, "
    "i.deleted_at";

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

std::string deploy_key(std::int64_t id, std::int64_t generation) {
  return "deploy:" + std::to_string(id) + ":" + std::to_string(generation);
}

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

struct DeployPipeline::Impl : std::enable_shared_from_this<Impl> {
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

  Impl(storage::Storage& s, const crypto::Keyring& k, http::HttpClient& h, jobs::JobRunner& j, const Clock& c,
       PipelineOptions o)
      : storage(s), master(s.master()), keyring(k), http(h), jobs(j), clock(c), options(std::move(o)) {}

  // ---- reading and moving instances ----

  Result<Instance> load(std::int64_t id) {
    auto row = master.with_session([&](Session& s) {
      return s.query_one("SELECT " + std::string(kInstanceColumns) +
                             " FROM bot_instances i JOIN customers c ON c.id = i.customer_id WHERE i.id = :id",
                         {{"id", id}});
    });
    if (!row) return fail(std::move(row.error()));
    if (!*row) return fail(ErrorCode::kNotFound, "bot instance " + std::to_string(id) + " does not exist");
    return instance_of(**row);
  }

  // Moves the instance from exactly `from` to `to` (a conditional UPDATE); kConflict when the
  // table forbids it or the row moved meanwhile.
  Result<void> move(std::int64_t id, BotState from, BotState to, const std::string& extra_set = "",
                    storage::Params extra = {}) {
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

  // Brings a deployment's instance to `target` on its way to running: moves it when the
  // table allows, accepts it when it is there or already past it (steps are idempotent).
  Result<void> advance(std::int64_t id, BotState target) {
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

  Result<void> set_columns(std::int64_t id, const std::string& set, storage::Params params) {
    params.push_back({"id", id});
    params.push_back({"now", clock.unix_seconds()});
    auto r = master.with_session([&](Session& s) {
      return s.exec("UPDATE bot_instances SET " + set + ", updated_at = :now WHERE id = :id", params);
    });
    if (!r) return fail(std::move(r.error()));
    return ok();
  }

  Deployer* backend_for(Backend b) {
    std::lock_guard lock(mu);
    auto it = backends.find(b);
    return it == backends.end() ? nullptr : it->second;
  }

  Result<InstanceSpec> spec_of(const Instance& inst, bool suspended) {
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
    spec.webhook = options.webhook;
    if (options.webhook && inst.webhook_secret_enc) {
      auto secret = crypto::decrypt(keyring, *inst.webhook_secret_enc);
      if (!secret) return fail(ErrorCode::kCorrupted, "the webhook secret cannot be opened");
      spec.webhook_secret = *secret;
    }
    spec.suspended = suspended;
    return spec;
  }

  // ---- progress ----

  void publish(const Progress& p) {
    std::vector<std::function<void(const Progress&)>> to_call;
    {
      std::lock_guard lock(mu);
      for (const auto& [id, fn] : subscribers) to_call.push_back(fn);
    }
    for (const auto& fn : to_call) {
      try {
        fn(p);
      } catch (const std::exception& e) {
        spdlog::warn("deploy: a progress subscriber threw: {}", e.what());
      }
    }
  }

  // Records a step's move in deployment_steps; returns the step's attempt number.
  int record_step(std::int64_t instance, std::int64_t job, Step step, StepStatus status, const std::string& error) {
    const std::int64_t at = now_ms(clock);
    const std::string name(to_string(step));
    auto attempts = master.transaction([&](Session& s) -> Result<std::int64_t> {
      auto row = s.query_one("SELECT attempts FROM deployment_steps WHERE job_id = :j AND step = :s",
                             {{"j", job}, {"s", name}});
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

  // ---- the steps ----

  telegram::BotClient client_for(const std::string& token) {
    return telegram::BotClient(http, options.telegram_api_url, token);
  }

  Result<void> verify_token(const Instance& inst) {
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

  // The customer's tenant: theirs if linked; else the one numbered like the customer
  // (adopted when an earlier attempt made it and died before linking it), else the next free.
  Result<std::int64_t> ensure_tenant(const Instance& inst) {
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

  Result<void> prepare_tenant(const Instance& inst, const jobs::Job& job) {
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

  Result<void> configure(const Instance& inst) {
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
    if (options.webhook) {
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

  Result<void> start_backend(const Instance& inst) {
    Deployer* deployer = backend_for(inst.backend);
    if (!deployer)
      return fail(ErrorCode::kUnavailable,
                  "no " + std::string(to_string(inst.backend)) + " backend runs in this process");
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

  // Waits (real time, like a network timeout) for the backend's first sign of life.
  Result<InstanceHealth> await_health(Deployer& deployer, std::int64_t id) {
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
    return fail(ErrorCode::kUnavailable, "no sign of life within " +
                                             std::to_string(options.health_wait.count() / 1000) + " s" +
                                             (last.empty() ? std::string() : ": " + last));
  }

  Result<std::optional<std::int64_t>> check_health(const Instance& inst) {
    Deployer* deployer = backend_for(inst.backend);
    if (!deployer)
      return fail(ErrorCode::kUnavailable,
                  "no " + std::string(to_string(inst.backend)) + " backend runs in this process");
    auto h = await_health(*deployer, inst.id);
    if (!h) return fail(std::move(h.error()));
    auto fresh = load(inst.id);
    if (!fresh) return fail(std::move(fresh.error()));
    if (fresh->state != BotState::kRunning) {
      if (auto moved = move(inst.id, fresh->state, BotState::kRunning); !moved) return fail(std::move(moved.error()));
    }
    const std::int64_t at = now_ms(clock);
    std::optional<std::int64_t> took;
    if (fresh->requested_at_ms) took = std::max<std::int64_t>(0, at - *fresh->requested_at_ms);
    auto set = set_columns(inst.id,
                           "heartbeat_at = :hb, started_at = :st, deploy_ms = :ms, deployed_at = :t, last_error = NULL",
                           {{"hb", *h->heartbeat_at},
                            {"st", *h->started_at},
                            {"ms", took ? Value{*took} : Value{}},
                            {"t", clock.unix_seconds()}});
    if (!set) return fail(std::move(set.error()));
    if (took) {
      metrics::histogram("mothership_deploy_seconds", "Deployment time: requested to the first passed health check",
                         {{"backend", std::string(to_string(inst.backend))}},
                         {0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300})
          .Observe(static_cast<double>(*took) / 1000.0);
    }
    return took;
  }

  // ---- the deploy job ----

  jobs::Outcome run_deploy(const jobs::Job& job) {
    const std::int64_t id = job.payload.value("instance", std::int64_t{0});
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

  // Queues a new deployment unless one of this instance is queued or running.
  Result<void> queue(std::int64_t id, std::vector<std::string> steps_done, nlohmann::json extra = {}) {
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

  Result<void> cancel_queued(const Instance& inst) {
    auto open = jobs.find(deploy_key(inst.id, inst.generation));
    if (!open) return fail(std::move(open.error()));
    if (*open && (*open)->status == jobs::JobStatus::kQueued) (void)jobs.cancel((*open)->id);
    return ok();
  }

  // ---- the roll job ----

  jobs::Outcome run_roll(const jobs::Job& job) {
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
};

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
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  if (inst->state == BotState::kStopped) return ok();
  if (!domain::can_transition(inst->state, BotState::kStopped) && inst->state != BotState::kRestarting)
    return fail(ErrorCode::kConflict, "a " + std::string(domain::to_string(inst->state)) + " bot cannot be stopped");
  (void)d.cancel_queued(*inst);
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
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  if (inst->state == BotState::kSuspended) return ok();
  if (!domain::can_transition(inst->state, BotState::kSuspended))
    return fail(ErrorCode::kConflict, "a " + std::string(domain::to_string(inst->state)) + " bot cannot be suspended");
  (void)d.cancel_queued(*inst);
  if (auto moved = d.move(instance_id, inst->state, BotState::kSuspended); !moved) return moved;
  Deployer* deployer = d.backend_for(inst->backend);
  if (!deployer) return ok();  // its backend runs elsewhere: recover() there starts it paused
  auto spec = d.spec_of(*inst, true);
  if (!spec) return fail(std::move(spec.error()));
  if (auto started = deployer->start(*spec); !started) return started;
  return d.set_columns(instance_id, "started_at = :t", {{"t", d.clock.unix_seconds()}});
}

Result<void> DeployPipeline::resume(std::int64_t instance_id) {
  auto& d = *impl_;
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  if (inst->state != BotState::kSuspended) return ok();
  return d.queue(instance_id, kSetupSteps);
}

Result<void> DeployPipeline::remove(std::int64_t instance_id) {
  auto& d = *impl_;
  auto inst = d.load(instance_id);
  if (!inst) return fail(std::move(inst.error()));
  if (inst->state == BotState::kDeleted) return ok();
  (void)d.cancel_queued(*inst);
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
          std::lock_guard lock(self->mu);
          self->subscribers.erase(sub);
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
    const bool job_open =
        open && *open && ((*open)->status == jobs::JobStatus::kQueued || (*open)->status == jobs::JobStatus::kRunning);
    if (setup_rank(inst->state) >= 0 && setup_rank(inst->state) <= 4 && inst->state != BotState::kRestarting) {
      // On its way up: its deployment job carries on; a lost one is queued again.
      if (!job_open && !(open && *open)) {
        jobs::NewJob job;
        job.kind = kDeployJob;
        job.payload = nlohmann::json{{"instance", inst->id}};
        job.idempotency_key = deploy_key(inst->id, inst->generation);
        job.max_attempts = d.options.max_attempts;
        (void)d.jobs.enqueue(job);
      }
      continue;
    }
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
      if (inst->state == BotState::kRunning || inst->state == BotState::kRestarting) {
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
