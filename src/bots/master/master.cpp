#include "bots/master/master.hpp"

#include <spdlog/spdlog.h>

#include "core/i18n/calendar.hpp"
#include "core/i18n/digits.hpp"
#include "core/i18n/money_format.hpp"
#include "bots/master/master_impl.hpp"
#include "telegram/errors.hpp"

namespace ms::master {

std::string_view step_name(deploy::Step step) {
  switch (step) {
    case deploy::Step::kTokenVerified: return "token_verified";
    case deploy::Step::kTenantReady: return "tenant_ready";
    case deploy::Step::kConfigured: return "configured";
    case deploy::Step::kStarted: return "started";
    case deploy::Step::kHealthy: return "healthy";
  }
  return "unknown";
}

MasterBot::Impl::Impl(MasterContext& c, MasterOptions o, std::vector<std::shared_ptr<MasterFeature>> f)
    : ctx(c), opt(std::move(o)), features(std::move(f)), store(*c.db), subs(*c.db) {}

MasterBot::Impl::~Impl() {
  {
    std::lock_guard lock(subscribe_mutex);
    progress_subscription.reset();  // no more events from the pipeline
  }
  {
    std::lock_guard lock(progress_mutex);
    stopping = true;
  }
  progress_wake.notify_all();
  if (progress_thread.joinable()) progress_thread.join();
}

std::string MasterBot::Impl::t(Lang lang, std::string_view key, const i18n::Args& args) const {
  return texts.render(lang, key, args);
}

std::string MasterBot::Impl::money(Money m, Lang lang) const { return i18n::format_money(m, lang); }

std::string MasterBot::Impl::date(std::int64_t unix_seconds, Lang lang) const {
  return i18n::format_date(unix_seconds, lang);
}

std::string MasterBot::Impl::number(std::int64_t n, Lang lang) const {
  return lang == Lang::kFa ? i18n::to_persian_digits(std::to_string(n)) : std::to_string(n);
}

telegram::InlineKeyboardBuilder MasterBot::Impl::keyboard(Lang lang) const {
  return telegram::InlineKeyboardBuilder(ctx.callback_key,
                                         lang == Lang::kFa ? telegram::Direction::kRtl : telegram::Direction::kLtr);
}

telegram::InlineKeyboardMarkup MasterBot::Impl::built(const telegram::InlineKeyboardBuilder& b) {
  auto markup = b.build();
  // Our own keyboards are within Telegram's limits; a failure here is a bug worth seeing.
  if (!markup) throw std::logic_error("master keyboard: " + markup.error().to_string());
  return std::move(*markup);
}

Lang MasterBot::Impl::lang_of(std::int64_t telegram_id) {
  auto c = store.customer_by_telegram(telegram_id);
  return c && *c ? (*c)->lang : Lang::kFa;
}

void MasterBot::Impl::oops(Turn& turn, Lang lang, const Error& error, std::string_view key) {
  spdlog::warn("master bot: {} for {}: {}", key, turn.user_id(), error.to_string());
  turn.answer();
  turn.reply(t(lang, key));
}

std::shared_ptr<telegram::BotContext> MasterBot::Impl::bot_context() const {
  return opt.runtime ? opt.runtime->context(opt.bot_key) : nullptr;
}

Result<void> MasterBot::Impl::send_to(std::int64_t chat_id, const std::string& text,
                                      std::optional<telegram::InlineKeyboardMarkup> markup) {
  if (ctx.send) return ctx.send(chat_id, text, std::move(markup));
  if (!opt.runtime) return fail(ErrorCode::kUnavailable, "the master bot is not running");
  return make_sender(*opt.runtime, opt.bot_key)(chat_id, text, std::move(markup));
}

void MasterBot::Impl::build_router() {
  router = std::make_shared<telegram::Router>(telegram::make_database_conversation_store(*ctx.db), ctx.callback_key,
                                              telegram::RouterOptions{}, *ctx.clock);
  // Features first: a feature's own commands and states are its own; the bot's catch-alls
  // (text, photo) are registered last by register_start.
  for (auto& f : features) f->install(*router);
  register_packages(*router);
  register_wizard(*router);
  register_my_bots(*router);
  register_start(*router);
}

void MasterBot::Impl::kick_outbox() {
  if (!hook) return;
  for (;;) {
    if (dispatching.exchange(true)) {
      again = true;  // the running dispatcher goes round once more
      return;
    }
    again = false;
    auto n = ctx.payments->dispatch_outbox(*hook);
    if (!n) spdlog::warn("master bot: outbox: {}", n.error().to_string());
    dispatching = false;
    if (!again.load()) return;
  }
}

// ---- MasterBot ---------------------------------------------------------------------------------

MasterBot::MasterBot(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MasterBot::~MasterBot() = default;

Result<std::shared_ptr<MasterBot>> MasterBot::create(MasterContext& ctx, MasterOptions options,
                                                     std::vector<std::shared_ptr<MasterFeature>> features) {
  // ctx.deployments may be missing (no deploy pipeline in this build): packages, payments
  // and /panel work; creating and managing bots answer that it is unavailable.
  if (!ctx.db || !ctx.payments || !ctx.clock) {
    return fail(ErrorCode::kInvalidArgument, "the master bot needs the master database and payments");
  }
  if (!options.secrets || !options.http || options.telegram_api_url.empty()) {
    return fail(ErrorCode::kInvalidArgument, "the master bot needs secrets, an HTTP client and the Bot API URL");
  }
  if (!ctx.language_of) ctx.language_of = make_language_of(*ctx.db);
  auto impl = std::make_unique<Impl>(ctx, std::move(options), std::move(features));
  impl->build_router();
  auto bot = std::shared_ptr<MasterBot>(new MasterBot(std::move(impl)));
  bot->impl_->hook = bot.get();
  bot->impl_->progress_thread = std::thread([raw = bot->impl_.get()] { raw->progress_loop(); });
  if (ctx.deployments) {
    Impl* raw = bot->impl_.get();
    std::lock_guard lock(raw->subscribe_mutex);
    raw->progress_subscription = ctx.deployments->subscribe([raw](const deploy::Progress& p) { raw->on_progress(p); });
  }
  return bot;
}

void MasterBot::handle(telegram::BotContext& bot, const telegram::Update& update) {
  impl_->router->handle(bot, update);
}

Result<int> MasterBot::resume() { return impl_->resume_progress(); }

TickReport MasterBot::tick(std::int64_t now) {
  TickReport report;
  auto& impl = *impl_;
  if (auto n = impl.ctx.payments->expire_due(); n) {
    report.payments_expired = *n;
  } else {
    spdlog::warn("master bot: expiring payments: {}", n.error().to_string());
  }
  if (auto n = impl.ctx.payments->dispatch_outbox(*this); n) {
    report.outbox_done = *n;
  } else {
    spdlog::warn("master bot: outbox: {}", n.error().to_string());
  }
  if (auto bot = impl.bot_context()) {
    if (auto n = impl.router->sweep(*bot); n) report.flows_timed_out = static_cast<int>(*n);
  }
  for (auto& f : impl.features) {
    try {
      auto n = f->tick(now);
      if (n) {
        report.features_done += *n;
      } else {
        spdlog::warn("master bot: a feature's periodic work failed: {}", n.error().to_string());
      }
    } catch (const std::exception& e) {
      spdlog::error("master bot: a feature's periodic work threw: {}", e.what());
    }
  }
  return report;
}

std::function<Result<void>(std::int64_t, const std::string&, std::optional<telegram::InlineKeyboardMarkup>)>
make_sender(telegram::BotRuntime& runtime, telegram::BotKey key) {
  return [&runtime, key](std::int64_t chat_id, const std::string& text,
                         std::optional<telegram::InlineKeyboardMarkup> markup) -> Result<void> {
    auto bot = runtime.context(key);
    if (!bot) return fail(ErrorCode::kUnavailable, "the master bot is not running");
    auto parts = telegram::split_message(text);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      telegram::SendMessage m;
      m.chat_id = chat_id;
      m.text = std::move(parts[i]);
      m.parse_mode = "HTML";
      m.disable_link_preview = true;
      if (markup && i + 1 == parts.size()) m.reply_markup = *markup;
      auto sent = bot->send_sync(m);
      if (!sent) {
        if (telegram::is_unreachable_user(sent.error()))
          return fail(ErrorCode::kPermissionDenied, sent.error().description);
        return fail(ErrorCode::kUnavailable, sent.error().description);
      }
    }
    return ok();
  };
}

std::function<std::string(std::int64_t)> make_language_of(storage::Database& master) {
  return [&master](std::int64_t telegram_id) {
    auto lang = MasterStore(master).customer_by_telegram(telegram_id);
    return lang && *lang ? std::string(i18n::to_string((*lang)->lang)) : std::string("fa");
  };
}

}  // namespace ms::master
