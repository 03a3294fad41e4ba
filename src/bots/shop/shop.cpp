#include "bots/shop/shop.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "core/i18n/calendar.hpp"
#include "core/i18n/digits.hpp"
#include "core/i18n/money_format.hpp"
#include "panels/marzban/marzban.hpp"
#include "bots/shop/shop_impl.hpp"

namespace ms::shop {

ShopBot::Impl::Impl(ShopDeps d) : deps(std::move(d)), store(*deps.db), panel_repo(*deps.db, *deps.secrets) {}

Result<void> ShopBot::Impl::load() {
  auto s = load_settings(*deps.db);
  if (!s) return fail(std::move(s.error()));
  {
    std::unique_lock lock(settings_mutex_);
    settings_ = std::move(*s);
  }
  // The owner's own wording of any text, per language.
  auto rows = deps.db->with_session([](storage::Session& s) { return s.query("SELECT lang, key, text FROM texts"); });
  if (!rows) return fail(std::move(rows.error()));
  for (const auto& r : *rows) {
    auto lang = i18n::parse_lang(r.get_string("lang"));
    if (lang) texts.set_override(*lang, r.get_string("key"), r.get_string("text"));
  }
  std::lock_guard lock(panels_mutex_);
  panels_.clear();  // credentials or addresses may have changed
  return ok();
}

ShopSettings ShopBot::Impl::settings() const {
  std::shared_lock lock(settings_mutex_);
  return settings_;
}

std::string ShopBot::Impl::t(Lang lang, std::string_view key, const i18n::Args& args) const {
  return texts.render(lang, key, args);
}

std::string ShopBot::Impl::money(Money m, Lang lang) const { return i18n::format_money(m, lang); }

std::string ShopBot::Impl::date(std::int64_t unix_seconds, Lang lang) const {
  return i18n::format_date(unix_seconds, lang);
}

std::string ShopBot::Impl::bytes(std::int64_t n, Lang lang) const {
  return i18n::format_size(n, lang == Lang::kFa);
}

std::string ShopBot::Impl::number(std::int64_t n, Lang lang) const {
  return lang == Lang::kFa ? i18n::to_persian_digits(std::to_string(n)) : std::to_string(n);
}

telegram::InlineKeyboardBuilder ShopBot::Impl::keyboard(Lang lang) const {
  return telegram::InlineKeyboardBuilder(router->callback_key(),
                                         lang == Lang::kFa ? telegram::Direction::kRtl : telegram::Direction::kLtr);
}

telegram::InlineKeyboardMarkup ShopBot::Impl::built(const telegram::InlineKeyboardBuilder& b) {
  auto markup = b.build();
  // Our own keyboards are within Telegram's limits; a failure here is a bug worth seeing.
  if (!markup) throw std::logic_error("shop keyboard: " + markup.error().to_string());
  return std::move(*markup);
}

void ShopBot::Impl::oops(Turn& turn, Lang lang, const Error& error, std::string_view key) {
  spdlog::warn("shop t{}: {} for {}: {}", deps.tenant_id, key, turn.user_id(), error.to_string());
  turn.answer();
  turn.reply(t(lang, key));
}

Result<std::shared_ptr<panels::Panel>> ShopBot::Impl::panel(std::int64_t panel_id) {
  std::lock_guard lock(panels_mutex_);
  if (auto it = panels_.find(panel_id); it != panels_.end()) return it->second;
  auto record = panel_repo.get(panel_id);
  if (!record) return fail(std::move(record.error()));
  if (!*record) return fail(ErrorCode::kNotFound, "panel " + std::to_string(panel_id) + " is gone");
  auto options = panels::marzban_options(**record, panel_repo, *deps.clock);
  std::shared_ptr<panels::Panel> p = std::make_shared<panels::MarzbanPanel>(*deps.http, std::move(options));
  panels_[panel_id] = p;
  return p;
}

void ShopBot::Impl::build_router() {
  router = std::make_shared<telegram::Router>(telegram::make_database_conversation_store(*deps.db), deps.callback_key,
                                              telegram::RouterOptions{}, *deps.clock);
  register_start(*router);
  register_buy(*router);
  register_services(*router);
  register_wallet(*router);
  register_admin(*router);
}

// ---- ShopBot ----------------------------------------------------------------------------------

ShopBot::ShopBot(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ShopBot::~ShopBot() = default;

Result<std::shared_ptr<ShopBot>> ShopBot::create(ShopDeps deps) {
  if (!deps.db || !deps.payments || !deps.secrets || !deps.http || !deps.clock) {
    return fail(ErrorCode::kInvalidArgument, "a shop bot needs its database, payments, secrets and HTTP client");
  }
  auto impl = std::make_unique<Impl>(std::move(deps));
  auto loaded = impl->load();
  if (!loaded) return fail(std::move(loaded.error()));
  impl->build_router();
  auto bot = std::shared_ptr<ShopBot>(new ShopBot(std::move(impl)));
  bot->impl_->hook = bot.get();
  return bot;
}

void ShopBot::handle(telegram::BotContext& bot, const telegram::Update& update) { impl_->router->handle(bot, update); }

Result<std::size_t> ShopBot::sweep() {
  if (!impl_->deps.runtime) return std::size_t{0};
  auto ctx = impl_->deps.runtime->context(impl_->deps.bot_key);
  if (!ctx) return std::size_t{0};
  return impl_->router->sweep(*ctx);
}

Result<void> ShopBot::reload() { return impl_->load(); }

void ShopBot::set_username(std::string username) {
  std::unique_lock lock(impl_->settings_mutex_);
  impl_->deps.bot_username = std::move(username);
}

}  // namespace ms::shop
