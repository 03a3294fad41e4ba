// Entry to the master bot: /start (a customers row per Telegram id), the language, the main
// menu (with the features' buttons), /panel (a one-time web panel login link), /cancel.
#include <spdlog/spdlog.h>

#include "bots/master/login.hpp"
#include "bots/master/master_impl.hpp"

namespace ms::master {

std::optional<CustomerRow> MasterBot::Impl::gate(Turn& turn) {
  const telegram::User* from = turn.user();
  if (!from || from->is_bot) return std::nullopt;
  const Lang guess = from->language_code.value_or("fa").rfind("en", 0) == 0 ? Lang::kEn : Lang::kFa;
  auto entered = store.enter(from->id, from->first_name, guess, now());
  if (!entered) {
    spdlog::warn("master bot: entering {} failed: {}", from->id, entered.error().to_string());
    turn.answer();
    turn.reply(t(guess, "error.unavailable"));
    return std::nullopt;
  }
  return entered->first;
}

void MasterBot::Impl::show_menu(Turn& turn, const CustomerRow& c, bool edit) {
  const Lang lang = c.lang;
  auto kb = keyboard(lang);
  kb.button("📦 " + t(lang, "master.menu.packages"), "pkgs").row();
  kb.button("🤖 " + t(lang, "master.menu.create_bot"), "wz")
      .button("🗂 " + t(lang, "master.menu.my_bots"), "bots")
      .row();
  kb.columns(2);
  for (const auto& f : features) {
    for (const auto& entry : f->menu(c.telegram_id)) kb.button(t(lang, entry.label_key), entry.action);
  }
  kb.columns(0).row();
  kb.button("🔑 " + t(lang, "master.menu.panel"), "panel").button("🌐 " + t(lang, "menu.language"), "lang");
  std::string text = t(lang, "master.menu.text", {{"name", c.name}});
  auto sub = subs.usable(c.id, now());
  if (sub && *sub) {
    text +=
        "\n\n" + t(lang, "master.menu.package",
                   {{"package", package_name((*sub)->second, lang)}, {"date", date((*sub)->first.period_end, lang)}});
  } else {
    text += "\n\n" + t(lang, "master.menu.no_package");
  }
  if (edit && turn.callback()) {
    turn.answer();
    turn.edit(std::move(text), built(kb));
  } else {
    turn.reply(std::move(text), built(kb));
  }
}

void MasterBot::Impl::show_language(Turn& turn, const CustomerRow& c, bool edit) {
  auto kb = keyboard(c.lang);
  kb.button("🇮🇷 فارسی", "setlang", {std::string("fa")}).button("🇬🇧 English", "setlang", {std::string("en")});
  // Both languages: the person may not read the one we guessed.
  std::string text = t(Lang::kFa, "language.choose") + "\n" + t(Lang::kEn, "language.choose");
  if (edit && turn.callback()) {
    turn.answer();
    turn.edit(std::move(text), built(kb));
  } else {
    turn.reply(std::move(text), built(kb));
  }
}

void MasterBot::Impl::register_start(telegram::Router& r) {
  r.on_command("start", [this](Turn& turn) {
    turn.end();
    const telegram::User* from = turn.user();
    if (!from || from->is_bot) return;
    auto known = store.customer_by_telegram(from->id);
    auto c = gate(turn);
    if (!c) return;
    // A newcomer chooses the language first.
    if (known && !*known) return show_language(turn, *c, false);
    show_menu(turn, *c);
  });
  r.on_command("menu", [this](Turn& turn) {
    turn.end();
    if (auto c = gate(turn)) show_menu(turn, *c);
  });
  r.on_command("cancel", [this](Turn& turn) {
    const bool had = !turn.conversation().state.empty();
    turn.end();
    auto c = gate(turn);
    if (!c) return;
    if (had) turn.reply(t(c->lang, "common.cancelled"));
    show_menu(turn, *c);
  });
  r.on_callback("menu", [this](Turn& turn) {
    turn.end();
    if (auto c = gate(turn)) show_menu(turn, *c, true);
  });
  r.on_callback("lang", [this](Turn& turn) {
    if (auto c = gate(turn)) show_language(turn, *c, true);
  });
  r.on_callback("setlang", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto code = turn.callback()->string_at(0);
    auto lang = code ? i18n::parse_lang(*code) : std::nullopt;
    if (!lang) return turn.answer();
    if (auto saved = store.set_language(c->id, *lang, now()); !saved) return oops(turn, c->lang, saved.error());
    c->lang = *lang;
    turn.answer(t(c->lang, "language.changed"));
    show_menu(turn, *c, true);
  });

  // /panel: a one-time link to the web panel.
  auto panel = [this](Turn& turn) {
    turn.end();
    auto c = gate(turn);
    if (!c) return;
    auto token = issue_login_token(*ctx.db, {"customer", c->id}, now(), opt.login_ttl);
    if (!token) return oops(turn, c->lang, token.error());
    std::string url = opt.public_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    url += "/panel/login?token=" + *token;
    turn.answer();
    // No preview: Telegram would fetch the link (the page it opens changes nothing, though).
    telegram::SendMessage m;
    m.chat_id = turn.chat_id();
    m.text = t(c->lang, "master.panel.link",
               {{"url", url}, {"minutes", number(std::max<std::int64_t>(1, opt.login_ttl.count() / 60), c->lang)}});
    m.disable_link_preview = true;
    turn.bot.send(m, telegram::Priority::kInteractive, [](telegram::Reply<telegram::SendMessage> r) {
      if (!r) spdlog::warn("master bot: the /panel link was not sent: {}", r.error().to_string());
    });
  };
  r.on_command("panel", panel);
  r.on_callback("panel", panel);

  r.on_text([this](Turn& turn) {
    if (auto c = gate(turn)) show_menu(turn, *c);
  });
  r.on_photo([this](Turn& turn) {
    if (auto c = gate(turn)) show_menu(turn, *c);
  });
  r.on_expired([this](Turn& turn) { turn.reply(t(lang_of(turn.user_id()), "error.session_expired")); });
}

}  // namespace ms::master
