// Entry to the shop bot: /start with deep links (referrer, campaign tag), the owner's
// channels, language, the main menu, and the gate every turn passes (banned people get one
// short answer, a flood is muted for a while).
#include <spdlog/spdlog.h>

#include "bots/shop/shop_impl.hpp"

namespace ms::shop {

namespace {

struct DeepLink {
  std::optional<std::int64_t> referrer;  // Telegram id of who shared the link
  std::optional<std::string> campaign;
};

// "r<telegram id>" and "c<tag>", joined by '-': t.me/shop_bot?start=r42-cinstagram.
DeepLink parse_deep_link(std::string_view args) {
  DeepLink out;
  while (!args.empty()) {
    const auto dash = args.find('-');
    auto part = args.substr(0, dash);
    args = dash == std::string_view::npos ? std::string_view{} : args.substr(dash + 1);
    if (part.size() > 1 && part[0] == 'r') {
      std::int64_t id = 0;
      bool digits = true;
      for (char c : part.substr(1)) {
        if (c < '0' || c > '9' || id > 1'000'000'000'000'000LL) {
          digits = false;
          break;
        }
        id = id * 10 + (c - '0');
      }
      if (digits && id > 0) out.referrer = id;
    } else if (part.size() > 1 && part[0] == 'c') {
      out.campaign = std::string(part.substr(1, 32));
    }
  }
  return out;
}

}  // namespace

std::optional<Person> ShopBot::Impl::gate(Turn& turn, bool check_channels) {
  const auto s = settings();
  const telegram::User* from = turn.user();
  if (!from || from->is_bot) return std::nullopt;
  // Flood: more than max_updates in the window mutes the person; they hear it once.
  {
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deps.clock->steady_now().time_since_epoch()).count();
    std::lock_guard lock(spam_mutex_);
    auto& f = flood_[from->id];
    if (f.muted_until > now_ms) {
      if (!f.told) {
        f.told = true;
        turn.answer();
        turn.reply(t(from->language_code.value_or("fa").rfind("en", 0) == 0 ? Lang::kEn : Lang::kFa, "shop.muted",
                     {{"seconds", std::to_string(s.antispam.mute_seconds)}}));
      }
      return std::nullopt;
    }
    f.times.push_back(now_ms);
    while (!f.times.empty() && f.times.front() < now_ms - s.antispam.window_seconds * 1000LL) f.times.pop_front();
    if (static_cast<int>(f.times.size()) > s.antispam.max_updates) {
      f.muted_until = now_ms + s.antispam.mute_seconds * 1000LL;
      f.times.clear();
      f.told = false;
    } else {
      f.told = false;
    }
    if (flood_.size() > 100'000) flood_.clear();  // bounded memory; forgetting a window is harmless
  }
  Visitor v{from->id, from->username.value_or(""), from->first_name, from->language_code.value_or("")};
  std::optional<std::int64_t> referrer;
  std::optional<std::string> campaign;
  if (turn.command() == "/start") {
    auto link = parse_deep_link(turn.args());
    referrer = link.referrer;
    campaign = link.campaign;
  }
  auto entered = store.enter(v, referrer, campaign, s.currency, now());
  if (!entered) {
    spdlog::warn("shop t{}: entering {} failed: {}", deps.tenant_id, from->id, entered.error().to_string());
    turn.answer();
    turn.reply(t(Lang::kFa, "error.unavailable"));
    return std::nullopt;
  }
  Person p = std::move(entered->first);
  if (p.banned && !s.role_of(p.telegram_id)) {
    turn.answer();
    if (turn.command() == "/start" || turn.callback()) turn.reply(t(p.lang, "shop.banned"));
    return std::nullopt;
  }
  if (check_channels && !s.channels.empty() && !s.role_of(p.telegram_id) && !in_channels(turn)) {
    auto kb = keyboard(p.lang);
    for (const auto& c : s.channels) {
      if (!c.url.empty()) kb.link(c.title.empty() ? t(p.lang, "shop.channel.join") : c.title, c.url).row();
    }
    kb.button(t(p.lang, "shop.channel.joined"), "joined");
    turn.answer(turn.callback() && turn.callback()->action == "joined" ? t(p.lang, "shop.channel.still_not") : "",
                true);
    turn.reply(t(p.lang, "shop.channel.required"), built(kb));
    return std::nullopt;
  }
  return p;
}

bool ShopBot::Impl::in_channels(Turn& turn) {
  for (const auto& c : settings().channels) {
    telegram::GetChatMember q;
    q.chat_id = c.chat_id;
    q.user_id = turn.user_id();
    auto m = turn.bot.client().call_sync(q);
    if (!m) {
      // The bot is not an admin there (or the channel is gone): the owner must fix it, the
      // person must not be locked out for it.
      spdlog::warn("shop t{}: getChatMember in {} failed: {}", deps.tenant_id, c.chat_id, m.error().to_string());
      continue;
    }
    using S = telegram::ChatMemberStatus;
    if (m->status == S::kLeft || m->status == S::kKicked || (m->status == S::kRestricted && !m->is_member)) {
      return false;
    }
  }
  return true;
}

void ShopBot::Impl::show_menu(Turn& turn, const Person& p, bool edit) {
  const auto s = settings();
  auto kb = keyboard(p.lang);
  kb.button("🛒 " + t(p.lang, "menu.buy"), "buy").row();
  if (s.trial.enabled && !p.trial_used_at) kb.button("🎁 " + t(p.lang, "shop.menu.trial"), "trial").row();
  kb.button("📦 " + t(p.lang, "menu.my_services"), "svcs").button("👛 " + t(p.lang, "menu.wallet"), "wallet").row();
  kb.button("👥 " + t(p.lang, "shop.menu.referral"), "ref").button("🆘 " + t(p.lang, "menu.support"), "support").row();
  kb.button("🌐 " + t(p.lang, "menu.language"), "lang");
  if (s.role_of(p.telegram_id)) kb.row().button("⚙️ " + t(p.lang, "shop.menu.admin"), "admin");
  auto text = t(p.lang, "shop.menu.text", {{"name", p.first_name}});
  if (edit && turn.callback()) {
    turn.answer();
    turn.edit(std::move(text), built(kb));
  } else {
    turn.reply(std::move(text), built(kb));
  }
}

void ShopBot::Impl::register_start(telegram::Router& r) {
  r.on_command("start", [this](Turn& turn) {
    turn.end();
    auto p = gate(turn);
    if (!p) return;
    show_menu(turn, *p);
  });
  r.on_command("menu", [this](Turn& turn) {
    turn.end();
    if (auto p = gate(turn)) show_menu(turn, *p);
  });
  r.on_command("cancel", [this](Turn& turn) {
    const bool had = !turn.conversation().state.empty();
    turn.end();
    auto p = gate(turn, false);
    if (!p) return;
    if (had) turn.reply(t(p->lang, "common.cancelled"));
    show_menu(turn, *p);
  });
  r.on_callback("menu", [this](Turn& turn) {
    turn.end();
    if (auto p = gate(turn)) show_menu(turn, *p, true);
  });
  r.on_callback("joined", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    turn.answer(t(p->lang, "shop.channel.thanks"));
    show_menu(turn, *p, true);
  });
  r.on_callback("lang", [this](Turn& turn) {
    auto p = gate(turn, false);
    if (!p) return;
    auto kb = keyboard(p->lang);
    kb.button("🇮🇷 فارسی", "setlang", {std::string("fa")}).button("🇬🇧 English", "setlang", {std::string("en")});
    turn.answer();
    turn.edit(t(p->lang, "language.choose"), built(kb));
  });
  r.on_callback("setlang", [this](Turn& turn) {
    auto p = gate(turn, false);
    if (!p) return;
    auto code = turn.callback()->string_at(0);
    auto lang = code ? i18n::parse_lang(*code) : std::nullopt;
    if (!lang) return turn.answer();
    if (auto saved = store.set_language(p->id, *lang, now()); !saved) return oops(turn, p->lang, saved.error());
    p->lang = *lang;
    turn.answer(t(p->lang, "language.changed"));
    show_menu(turn, *p, true);
  });
  r.on_text([this](Turn& turn) {
    if (auto p = gate(turn)) show_menu(turn, *p);
  });
  r.on_photo([this](Turn& turn) {
    if (auto p = gate(turn)) show_menu(turn, *p);
  });
  r.on_expired([this](Turn& turn) {
    auto p = store.person_by_telegram(turn.user_id());
    const Lang lang = p && *p ? (*p)->lang : Lang::kFa;
    turn.reply(t(lang, "error.session_expired"));
  });
}

}  // namespace ms::shop
