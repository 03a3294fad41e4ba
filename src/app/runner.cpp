// `mothership runner --instance ID`: one customer's shop bot in a process of its own (the
// `process` deployment backend, deploy/process/). The token is read from the master database
// and opened with the keyring here, never handed over on the command line or in the
// environment. A heartbeat row in instance_heartbeats says the runner is alive.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "app/app.hpp"
#include "app/runtime.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/i18n/catalog.hpp"
#include "core/i18n/lang.hpp"
#include "core/timer_queue.hpp"
#include "deploy/process/process_deployer.hpp"
#include "http/client.hpp"
#include "payments/registry.hpp"
#include "bots/shop/host.hpp"
#include "telegram/runtime.hpp"

namespace ms::app {
namespace {

using storage::Session;

// A suspended shop (its package lapsed): every person is told the service is paused, in
// their language, and nothing is sold.
class PausedBot final : public telegram::UpdateHandler {
 public:
  void handle(telegram::BotContext& bot, const telegram::Update& update) override {
    const telegram::User* who = update.sender();
    auto lang = who && who->language_code ? i18n::parse_lang(*who->language_code) : std::nullopt;
    const std::string text = catalog_.render(lang.value_or(i18n::Lang::kFa), "error.service_paused");
    if (update.callback_query) {
      telegram::AnswerCallbackQuery answer;
      answer.callback_query_id = update.callback_query->id;
      answer.text = text;  // a short sentence, within the 200 characters Telegram allows
      bot.client().call(answer, [](auto) {});
    }
    if (update.pre_checkout_query) {
      telegram::AnswerPreCheckoutQuery answer;
      answer.pre_checkout_query_id = update.pre_checkout_query->id;
      answer.ok = false;
      answer.error_message = text;
      bot.client().call(answer, [](auto) {});
      return;
    }
    if (update.message && update.message->chat.type == telegram::ChatType::kPrivate && who) {
      telegram::SendMessage message;
      message.chat_id = update.message->chat.id;
      message.text = text;
      bot.send(message);
    }
  }

 private:
  i18n::Catalog catalog_;
};

struct InstanceRow {
  std::int64_t tenant_id = 0;
  std::string token_enc;
  std::string bot_username;
  std::int64_t owner = 0;
  std::string status;
};

Result<InstanceRow> read_instance(storage::Database& master, std::int64_t id) {
  return master.with_session([&](Session& s) -> Result<InstanceRow> {
    auto row = s.query_one(
        "SELECT i.token_enc, i.bot_username, i.admin_telegram_id, i.status, c.tenant_id FROM bot_instances i JOIN "
        "customers c ON c.id = i.customer_id WHERE i.id = :id",
        {{"id", id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return fail(ErrorCode::kNotFound, "instance " + std::to_string(id) + " does not exist");
    InstanceRow r;
    r.tenant_id = (*row)->opt_int("tenant_id").value_or(0);
    r.token_enc = (*row)->get_string("token_enc");
    r.bot_username = (*row)->opt_string("bot_username").value_or("");
    r.owner = (*row)->get_int("admin_telegram_id");
    r.status = (*row)->get_string("status");
    return r;
  });
}

Result<void> heartbeat(storage::Database& master, std::int64_t id, std::int64_t started_at, int restarts,
                       const std::string& host) {
  return master.with_session([&](Session& s) -> Result<void> {
    auto r = s.exec(
        "INSERT INTO instance_heartbeats (instance_id, pid, host, started_at, heartbeat_at, restarts) VALUES (:id, "
        ":pid, :host, :started, :now, :restarts) ON CONFLICT (instance_id) DO UPDATE SET pid = excluded.pid, host = "
        "excluded.host, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, restarts = "
        "excluded.restarts",
        {{"id", id},
         {"pid", std::int64_t{::getpid()}},
         {"host", host},
         {"started", started_at},
         {"now", SystemClock::instance().unix_seconds()},
         {"restarts", std::int64_t{restarts}}});
    if (!r) return fail(std::move(r.error()));
    return ok();
  });
}

}  // namespace

int runner(const Config& config, const RunnerOptions& options) {
  const std::string what = "runner (instance " + std::to_string(options.instance) + ")";
  // SIGTERM/SIGINT are taken by sigtimedwait below; every thread started from here on
  // inherits the blocked mask, so none of them is interrupted by it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // The master only: serve migrates every tenant; this process touches just its own, so its
  // start-up does not grow with the number of shops.
  auto storage = open_storage(config, nullptr, false);
  if (!storage) return report_failure(what, storage_failure(storage.error()));
  auto& master = (*storage)->master();
  auto instance = read_instance(master, options.instance);
  if (!instance) return report(what, instance.error());
  if (instance->status == "deleted" || instance->status == "deleting")
    return report(what, {ErrorCode::kNotFound, "the instance was deleted"});
  // The flag, or the instance's own state once bot_instances knows 'suspended' (issue 7).
  const bool suspended = options.suspended || instance->status == "suspended";
  if (instance->tenant_id == 0)
    return report(what, {ErrorCode::kNotFound, "the instance's customer has no tenant database"});
  if (auto migrated = migrate_tenant(**storage, instance->tenant_id); !migrated)
    return report_failure(what, storage_failure(migrated.error()));
  auto keyring = open_keyring(config, master);
  if (!keyring) return report_failure(what, keyring_failure(keyring.error()));
  auto token = crypto::decrypt(**keyring, instance->token_enc);
  if (!token)
    return report(
        what, {token.error().code, "the bot token cannot be opened with this secret key: " + token.error().message});

  // One runner per bot on this machine: a second one (a parent that lost track of the
  // first) stops here instead of polling the same bot twice.
  const auto run_dir = std::filesystem::path(config.data_dir) / "run";
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  const std::string lock_path = (run_dir / ("instance-" + std::to_string(options.instance) + ".lock")).string();
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return report(what, {ErrorCode::kUnavailable, "cannot open " + lock_path});
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
    return report(what, {ErrorCode::kAlreadyExists, "another runner of this instance is running on this machine"});

  char host_name[256] = {};
  ::gethostname(host_name, sizeof host_name - 1);
  const std::int64_t started_at = SystemClock::instance().unix_seconds();
  if (auto beat = heartbeat(master, options.instance, started_at, options.restarts, host_name); !beat)
    return report(what, beat.error());

  // The same parts `serve` builds for its in-process shops, for this one bot.
  http::CurlClient telegram_client;
  http::CurlClient payments_client;
  http::CurlClientOptions panels_client_options;  // the same address policy as `serve`'s shops
  panels_client_options.refuse_private_addresses = !config.effective_panels_allow_private_addresses();
  http::CurlClient panels_client(panels_client_options);
  TimerQueue timers;
  payments::GatewayUrls urls{config.nowpayments_api_url, config.zarinpal_api_url, config.stripe_api_url,
                             config.paypal_api_url, config.effective_public_url() + "/payments"};
  const crypto::Keyring* keys = keyring->get();
  payments::PaymentRegistry payments(**storage, payments_client, SystemClock::instance(), urls,
                                     [keys](const std::string& envelope) { return crypto::decrypt(*keys, envelope); });
  crypto::SecretBox secrets(**keyring);
  telegram::BotRuntime runtime(telegram_client, timers, config.telegram_api_url);
  std::optional<shop::ShopHost> host;
  if (suspended) {
    auto added = runtime.add({options.instance, *token, telegram::Intake::kPolling, "", std::make_shared<PausedBot>()});
    if (!added) return report(what, added.error());
  } else {
    host.emplace(**storage, payments, secrets, panels_client, runtime, SystemClock::instance());
    shop::HostedShop spec;
    spec.instance_id = options.instance;
    spec.tenant_id = instance->tenant_id;
    spec.token = *token;
    spec.bot_username = instance->bot_username;
    spec.owner_telegram_id = instance->owner;
    if (auto started = host->start(spec); !started) return report(what, started.error());
  }
  spdlog::info("runner: instance {} (tenant {}{}) is running as pid {}; Bot API {}", options.instance,
               instance->tenant_id, suspended ? ", suspended" : "", ::getpid(), config.telegram_api_url);

  const auto every = std::chrono::milliseconds(std::max(100, options.heartbeat_ms));
  timespec wait{static_cast<time_t>(every.count() / 1000), static_cast<long>((every.count() % 1000) * 1'000'000)};
  int signal = 0;
  bool token_refused = false;
  while (true) {
    siginfo_t info{};
    signal = ::sigtimedwait(&stop_signals, &info, &wait);
    if (signal > 0) break;
    // Telegram refused the token (revoked at @BotFather): the runtime has stopped the bot's
    // intake; the runner ends with the code that tells its deployer not to restart it.
    if (auto st = runtime.status(options.instance); st && st->state == telegram::BotState::kUnauthorized) {
      spdlog::error("runner: instance {}: Telegram refused the bot token; stopping", options.instance);
      token_refused = true;
      break;
    }
    if (auto beat = heartbeat(master, options.instance, started_at, options.restarts, host_name); !beat)
      spdlog::warn("runner: instance {}: heartbeat not written: {}", options.instance, beat.error().message);
  }
  if (!token_refused)
    spdlog::info("runner: instance {}: {} received; finishing the updates in hand", options.instance,
                 strsignal(signal));
  // The bot's intake stops and its running handlers finish; then the sender and the host.
  if (host) {
    (void)host->stop(options.instance);
  } else {
    (void)runtime.remove(options.instance);
  }
  host.reset();
  runtime.shutdown();
  ::close(lock_fd);
  spdlog::info("runner: instance {} stopped", options.instance);
  return token_refused ? deploy::kRunnerTokenRefusedExit : 0;
}

deploy::ProcessDeployerOptions process_deployer_options(const Config& config, const std::string& telegram_api_url) {
  deploy::ProcessDeployerOptions o;
  o.data_dir = config.data_dir;
  auto& env = o.environment;
  // Configuration only: where the data and the key file are, and which Telegram to poll.
  // Never a bot token: the runner reads its own from the master database.
  env.push_back("MOTHERSHIP_DATA_DIR=" + config.data_dir);
  if (!config.database_url.empty()) env.push_back("MOTHERSHIP_DATABASE_URL=" + config.database_url);
  env.push_back("MOTHERSHIP_SECRET_KEY_FILE=" + config.effective_secret_key_file());
  // An operator who keeps the key in the environment (not in a file) gave it to this
  // process that way; the runner needs the same key to open the token.
  if (!config.secret_key.empty()) env.push_back("MOTHERSHIP_SECRET_KEY=" + config.secret_key);
  env.push_back("MOTHERSHIP_TELEGRAM_API_URL=" + telegram_api_url);
  env.push_back("MOTHERSHIP_PUBLIC_URL=" + config.effective_public_url());
  env.push_back(std::string("MOTHERSHIP_LOG_FORMAT=") + std::string(to_string(config.log_format)));
  env.push_back(std::string("MOTHERSHIP_LOG_LEVEL=") + std::string(to_string(config.log_level)));
  env.push_back("MOTHERSHIP_NOWPAYMENTS_API_URL=" + config.nowpayments_api_url);
  env.push_back("MOTHERSHIP_ZARINPAL_API_URL=" + config.zarinpal_api_url);
  env.push_back("MOTHERSHIP_STRIPE_API_URL=" + config.stripe_api_url);
  env.push_back("MOTHERSHIP_PAYPAL_API_URL=" + config.paypal_api_url);
  // One bot needs few connections; hundreds of runners must not each hold the default pool.
  env.push_back("MOTHERSHIP_DB_POOL_SIZE=2");
  env.push_back("MOTHERSHIP_DB_WORKERS=2");
  return o;
}

}  // namespace ms::app
