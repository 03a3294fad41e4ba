#include "deploy/inprocess/inprocess_deployer.hpp"

#include <spdlog/spdlog.h>

#include "core/i18n/lang.hpp"

namespace ms::deploy {
namespace {

// A suspended shop: every end user hears that the service is paused, in their language
// (Persian unless Telegram says English), and nothing can be bought.
class PausedHandler final : public telegram::UpdateHandler {
 public:
  explicit PausedHandler(std::shared_ptr<i18n::Catalog> catalog) : catalog_(std::move(catalog)) {}

  void handle(telegram::BotContext& bot, const telegram::Update& update) override {
    const telegram::User* who = update.sender();
    i18n::Lang lang = i18n::Lang::kFa;
    if (who && who->language_code) lang = i18n::parse_lang(*who->language_code).value_or(i18n::Lang::kFa);
    const std::string text = catalog_->render(lang, "deploy.paused");
    if (update.pre_checkout_query) {
      telegram::AnswerPreCheckoutQuery answer;
      answer.pre_checkout_query_id = update.pre_checkout_query->id;
      answer.ok = false;
      answer.error_message = text;
      (void)bot.client().call_sync(answer);
      return;
    }
    if (update.callback_query) {
      telegram::AnswerCallbackQuery answer;
      answer.callback_query_id = update.callback_query->id;
      answer.text = text.substr(0, 190);
      answer.show_alert = true;
      (void)bot.client().call_sync(answer);
    }
    auto chat = update.chat_id();
    if (!chat || !who || *chat != who->id) return;  // private chats only: never into groups
    telegram::SendMessage message;
    message.chat_id = *chat;
    message.text = text;
    bot.send(message);
  }

 private:
  std::shared_ptr<i18n::Catalog> catalog_;
};

bool same_spec(const InstanceSpec& a, const InstanceSpec& b) {
  return a.token == b.token && a.tenant_id == b.tenant_id && a.template_version == b.template_version &&
         a.webhook == b.webhook && a.webhook_secret == b.webhook_secret && a.suspended == b.suspended &&
         a.owner_telegram_id == b.owner_telegram_id && a.bot_username == b.bot_username;
}

}  // namespace

InProcessDeployer::InProcessDeployer(shop::ShopHost& host, telegram::BotRuntime& runtime, const Clock& clock)
    : host_(host), runtime_(runtime), clock_(clock), catalog_(std::make_shared<i18n::Catalog>()) {}

InProcessDeployer::~InProcessDeployer() {
  std::lock_guard lock(mu_);
  for (const auto& [id, entry] : entries_) (void)stop_locked(id, entry);
  entries_.clear();
}

Result<void> InProcessDeployer::start(const InstanceSpec& spec) {
  if (spec.instance_id <= 0) return fail(ErrorCode::kInvalidArgument, "an instance id is needed");
  std::lock_guard lock(mu_);
  auto it = entries_.find(spec.instance_id);
  if (it != entries_.end() && same_spec(it->second.spec, spec) && runtime_.status(spec.instance_id)) return ok();
  const auto intake = spec.webhook ? telegram::Intake::kWebhook : telegram::Intake::kPolling;
  if (spec.suspended) {
    // The shop goes; the paused handler takes its place under the same key.
    if (it != entries_.end() && !it->second.spec.suspended) (void)host_.stop(spec.instance_id);
    auto handler = std::make_shared<PausedHandler>(catalog_);
    Result<void> added = runtime_.status(spec.instance_id)
                             ? runtime_.restart(spec.instance_id, spec.token, handler)
                             : runtime_.add({spec.instance_id, spec.token, intake, spec.webhook_secret, handler});
    if (!added) return fail(ErrorCode::kUnavailable, "the paused bot did not start: " + added.error().message);
  } else {
    if (it != entries_.end() && it->second.spec.suspended) (void)runtime_.remove(spec.instance_id);
    shop::HostedShop shop;
    shop.instance_id = spec.instance_id;
    shop.tenant_id = spec.tenant_id;
    shop.token = spec.token;
    shop.bot_username = spec.bot_username;
    shop.owner_telegram_id = spec.owner_telegram_id;
    shop.intake = intake;
    shop.webhook_secret = spec.webhook_secret;
    // A changed template version or intake needs a fresh bot, not a token swap.
    if (it != entries_.end() && !it->second.spec.suspended && !same_spec(it->second.spec, spec))
      (void)host_.stop(spec.instance_id);
    auto started = host_.start(shop);
    if (!started) {
      const ErrorCode code =
          started.error().code == ErrorCode::kInvalidArgument ? ErrorCode::kInvalidArgument : ErrorCode::kUnavailable;
      return fail(code, "the shop did not start: " + started.error().message);
    }
  }
  int& restarts = restarts_[spec.instance_id];
  if (it != entries_.end()) ++restarts;
  entries_[spec.instance_id] = Entry{spec, clock_.unix_seconds(), std::nullopt, restarts, false};
  return ok();
}

Result<void> InProcessDeployer::stop_locked(std::int64_t instance_id, const Entry& entry) {
  if (entry.spec.suspended) return runtime_.remove(instance_id);
  return host_.stop(instance_id);
}

Result<void> InProcessDeployer::stop(std::int64_t instance_id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(instance_id);
  if (it == entries_.end()) return ok();
  auto stopped = stop_locked(instance_id, it->second);
  entries_.erase(it);
  if (!stopped && stopped.error().code != ErrorCode::kNotFound) return stopped;
  return ok();
}

Result<InstanceHealth> InProcessDeployer::health(std::int64_t instance_id) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(instance_id);
  if (it == entries_.end())
    return fail(ErrorCode::kNotFound, "instance " + std::to_string(instance_id) + " does not run in this process");
  InstanceHealth h;
  h.started_at = it->second.started_at;
  h.restarts = it->second.restarts;
  h.heartbeat_at = it->second.heartbeat_at;
  const std::int64_t started_at = it->second.started_at;
  const bool answered = it->second.answered;
  lock.unlock();
  auto status = runtime_.status(instance_id);
  if (!status) {
    h.last_error = "the bot is not in the runtime";
    return h;
  }
  h.last_error = status->last_error;
  h.running = status->state == telegram::BotState::kRunning;
  h.token_refused = status->state == telegram::BotState::kUnauthorized;
  if (!h.running || !status->last_error.empty()) return h;
  // Alive: running with no intake error, and Telegram has answered this bot's own client
  // since the start (a getMe once; later the runtime's running state is the sign).
  if (!answered) {
    auto ctx = runtime_.context(instance_id);
    if (!ctx) return h;
    auto me = ctx->client().call_sync(telegram::GetMe{});
    if (!me) {
      h.last_error = me.error().to_string();
      return h;
    }
  }
  lock.lock();
  it = entries_.find(instance_id);
  if (it == entries_.end() || it->second.started_at != started_at) return h;  // restarted meanwhile
  it->second.answered = true;
  it->second.heartbeat_at = clock_.unix_seconds();
  h.heartbeat_at = it->second.heartbeat_at;
  return h;
}

std::vector<std::int64_t> InProcessDeployer::running() const {
  std::lock_guard lock(mu_);
  std::vector<std::int64_t> out;
  for (const auto& [id, entry] : entries_) out.push_back(id);
  return out;
}

}  // namespace ms::deploy
