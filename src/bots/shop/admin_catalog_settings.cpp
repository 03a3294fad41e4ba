// The admins' catalog side, part three: the shop's settings (trial, referral percent, required
// channels, delivery mode, admins and roles, anti-spam), each saved and applied at once, and the
// most visible texts, overridden per language in the tenant's `texts` table.
#include <spdlog/spdlog.h>

#include <array>
#include <cctype>
#include <set>

#include "bots/shop/admin_catalog_internal.hpp"

namespace ms::shop {

namespace {

using admin::json;

// The texts an owner changes most; each keeps the placeholders its default has.
constexpr std::array<std::string_view, 5> kTextKeys = {"shop.menu.text", "shop.deliver.guide", "shop.pay.card",
                                                       "shop.referral.text", "shop.support.ask"};

// The {placeholder} names in a template.
std::set<std::string> placeholders(std::string_view text) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') continue;
    const auto end = text.find('}', i + 1);
    if (end == std::string_view::npos) break;
    auto name = text.substr(i + 1, end - i - 1);
    bool ok = !name.empty();
    for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.');
    if (ok) out.insert(std::string(name));
    i = end;
  }
  return out;
}

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + ("{" + n + "}");
  return out.empty() ? "-" : out;
}

}  // namespace

void ShopBot::Impl::register_admin_settings(telegram::Router& r) {
  r.on_callback("a_set", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    const auto s = settings();
    auto on_off = [&](bool on) { return t(lang, on ? "shop.admin.cat.on" : "shop.admin.cat.off"); };
    std::string text = t(lang, "shop.admin.set.summary",
                         {{"trial", on_off(s.trial.enabled)},
                          {"trial_size", bytes(s.trial.traffic_bytes, lang)},
                          {"trial_days", number(s.trial.days, lang)},
                          {"referral", number(s.referral_percent, lang)},
                          {"channels", number(static_cast<std::int64_t>(s.channels.size()), lang)},
                          {"delivery", t(lang, s.delivery == Delivery::kLink ? "shop.admin.set.delivery_link"
                                                                             : "shop.admin.set.delivery_configs")},
                          {"admins", number(static_cast<std::int64_t>(s.admins.size()), lang)},
                          {"max", number(s.antispam.max_updates, lang)},
                          {"window", number(s.antispam.window_seconds, lang)},
                          {"mute", number(s.antispam.mute_seconds, lang)}});
    auto kb = keyboard(lang);
    kb.button((s.trial.enabled ? "✅ " : "☑️ ") + t(lang, "shop.admin.set.trial"), "a_sttr")
        .button(t(lang, "shop.admin.set.trial_size"), "a_sttz")
        .row();
    kb.button(t(lang, "shop.admin.set.referral"), "a_stref").button(t(lang, "shop.admin.set.delivery"), "a_stdl").row();
    kb.button(t(lang, "shop.admin.set.channels"), "a_stch").button(t(lang, "shop.admin.set.admins"), "a_stad").row();
    kb.button(t(lang, "shop.admin.set.antispam"), "a_stsp").row();
    kb.button(t(lang, "common.back"), "admin");
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });

  // After a change: a short answer and the way back to the settings.
  auto saved_reply = [this](Turn& turn, Lang lang, const Result<void>& saved, std::string_view back = "a_set") {
    if (!saved) return oops(turn, lang, saved.error());
    auto kb = keyboard(lang);
    kb.button(t(lang, "common.back"), back);
    turn.answer();
    if (turn.callback()) {
      turn.edit(t(lang, "shop.admin.cat.saved"), built(kb));
    } else {
      turn.reply(t(lang, "shop.admin.cat.saved"), built(kb));
    }
  };

  r.on_callback("a_sttr", [this, saved_reply](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    saved_reply(turn, admin_lang(turn.user_id()),
                change_setting("trial", [](ShopSettings& s) { s.trial.enabled = !s.trial.enabled; }));
  });
  r.on_callback("a_stdl", [this, saved_reply](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    saved_reply(turn, admin_lang(turn.user_id()), change_setting("delivery", [](ShopSettings& s) {
                  s.delivery = s.delivery == Delivery::kLink ? Delivery::kLinkAndConfigs : Delivery::kLink;
                }));
  });

  // Forms for the numbers.
  auto form_button = [this](std::string form) {
    return [this, form](Turn& turn) {
      if (!admin_gate(turn, true)) return;
      start_form(turn, admin_lang(turn.user_id()), form);
    };
  };
  r.on_callback("a_sttz", form_button("trial"));
  r.on_callback("a_stref", form_button("referral"));
  r.on_callback("a_stsp", form_button("antispam"));

  admin_forms["trial"] =
      AdminForm{{{"size", "shop.admin.set.ask_trial_size", admin::gb_reader(false)},
                 {"days", "shop.admin.set.ask_trial_days", admin::int_reader(1, 365)}},
                "",
                {},
                [this, saved_reply](Turn& turn, Lang lang, const json& v, const json&, const std::string&) {
                  saved_reply(turn, lang, change_setting("trial", [&](ShopSettings& s) {
                                s.trial.traffic_bytes = v["size"].get<std::int64_t>();
                                s.trial.days = v["days"].get<std::int64_t>();
                              }));
                }};
  admin_forms["referral"] =
      AdminForm{{{"percent", "shop.admin.set.ask_referral", admin::int_reader(0, 100)}},
                "",
                {},
                [this, saved_reply](Turn& turn, Lang lang, const json& v, const json&, const std::string&) {
                  saved_reply(turn, lang, change_setting("referral_percent", [&](ShopSettings& s) {
                                s.referral_percent = static_cast<int>(v["percent"].get<std::int64_t>());
                              }));
                }};
  admin_forms["antispam"] =
      AdminForm{{{"max", "shop.admin.set.ask_spam_max", admin::int_reader(1, 1000)},
                 {"window", "shop.admin.set.ask_spam_window", admin::int_reader(1, 3600)},
                 {"mute", "shop.admin.set.ask_spam_mute", admin::int_reader(0, 86'400)}},
                "",
                {},
                [this, saved_reply](Turn& turn, Lang lang, const json& v, const json&, const std::string&) {
                  saved_reply(turn, lang, change_setting("antispam", [&](ShopSettings& s) {
                                s.antispam.max_updates = static_cast<int>(v["max"].get<std::int64_t>());
                                s.antispam.window_seconds = static_cast<int>(v["window"].get<std::int64_t>());
                                s.antispam.mute_seconds = static_cast<int>(v["mute"].get<std::int64_t>());
                              }));
                }};

  // ---- required channels ----
  r.on_callback("a_stch", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    const auto s = settings();
    std::string text = t(lang, "shop.admin.set.channels_title");
    auto kb = keyboard(lang);
    for (const auto& c : s.channels) {
      const std::string name = c.title.empty() ? std::to_string(c.chat_id) : c.title;
      text += "\n• " + name + (c.url.empty() ? "" : " " + c.url);
      kb.button("❌ " + name, "a_stchrm", {c.chat_id}).row();
    }
    if (s.channels.empty()) text += "\n" + t(lang, "shop.admin.set.channels_none");
    kb.button("➕ " + t(lang, "shop.admin.set.channel_add"), "a_stchad").row();
    kb.button(t(lang, "common.back"), "a_set");
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });
  r.on_callback("a_stchrm", [this, saved_reply](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    saved_reply(turn, admin_lang(turn.user_id()),
                change_setting("channels",
                               [&](ShopSettings& s) {
                                 std::erase_if(s.channels, [&](const Channel& c) { return c.chat_id == *id; });
                               }),
                "a_stch");
  });
  r.on_callback("a_stchad", form_button("channel"));

  // A channel by @username or by a post forwarded from it; the bot must be an admin there
  // (otherwise Telegram does not tell it who is a member).
  admin_forms["channel"] =
      AdminForm{{{"chat", "shop.admin.set.ask_channel",
                  [](Turn& turn) -> std::optional<json> {
                    const auto* m = turn.update.message ? &*turn.update.message : nullptr;
                    if (m && m->forward_origin && m->forward_origin->chat) return json(m->forward_origin->chat->id);
                    auto text = admin::trimmed(turn.text());
                    if (text.rfind("https://t.me/", 0) == 0) text = "@" + text.substr(13);
                    if (text.size() < 2 || text[0] != '@' || text.size() > 40) return std::nullopt;
                    for (char c : text.substr(1)) {
                      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return std::nullopt;
                    }
                    return json(text);
                  },
                  "shop.admin.set.bad_channel"}},
                "",
                {},
                [this, saved_reply](Turn& turn, Lang lang, const json& v, const json&, const std::string&) {
                  telegram::GetChat get;
                  if (v["chat"].is_string()) {
                    get.chat_id = v["chat"].get<std::string>();
                  } else {
                    get.chat_id = v["chat"].get<std::int64_t>();
                  }
                  auto chat = turn.bot.client().call_sync(get);
                  if (!chat) return turn.reply(t(lang, "shop.admin.set.channel_not_found"));
                  auto me = turn.bot.client().call_sync(telegram::GetMe{});
                  if (!me) return oops(turn, lang, Error{ErrorCode::kUnavailable, me.error().to_string()});
                  telegram::GetChatMember q;
                  q.chat_id = chat->id;
                  q.user_id = me->id;
                  auto member = turn.bot.client().call_sync(q);
                  using S = telegram::ChatMemberStatus;
                  if (!member || (member->status != S::kAdministrator && member->status != S::kCreator)) {
                    return turn.reply(t(lang, "shop.admin.set.channel_not_admin"));
                  }
                  Channel c;
                  c.chat_id = chat->id;
                  c.title = chat->title.value_or("");
                  if (chat->username) c.url = "https://t.me/" + *chat->username;
                  saved_reply(turn, lang,
                              change_setting("channels",
                                             [&](ShopSettings& s) {
                                               std::erase_if(s.channels,
                                                             [&](const Channel& x) { return x.chat_id == c.chat_id; });
                                               s.channels.push_back(c);
                                             }),
                              "a_stch");
                }};

  // ---- admins and roles (the owner's to manage) ----
  r.on_callback("a_stad", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    const auto s = settings();
    std::string text = t(lang, "shop.admin.set.admins_title");
    auto kb = keyboard(lang);
    for (const auto& a : s.admins) {
      const std::string role = t(lang, "shop.admin.role." + std::string(to_string(a.role)));
      text += "\n• " + std::to_string(a.telegram_id) + " · " + role;
      if (a.role != AdminRole::kOwner) {
        kb.button("❌ " + std::to_string(a.telegram_id) + " · " + role, "a_stadrm", {a.telegram_id}).row();
      }
    }
    kb.button("➕ " + t(lang, "shop.admin.set.admin_add"), "a_stadad").row();
    kb.button(t(lang, "common.back"), "a_set");
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });

  auto owner_only = [this](Turn& turn) {
    if (settings().role_of(turn.user_id()) == AdminRole::kOwner) return true;
    turn.answer(t(admin_lang(turn.user_id()), "shop.admin.set.owner_only"), true);
    return false;
  };
  r.on_callback("a_stadrm", [this, saved_reply, owner_only](Turn& turn) {
    if (!admin_gate(turn, true) || !owner_only(turn)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    if (settings().role_of(*id) == AdminRole::kOwner) return turn.answer(t(lang, "shop.admin.set.owner_stays"), true);
    saved_reply(turn, lang,
                change_setting("admins",
                               [&](ShopSettings& s) {
                                 std::erase_if(s.admins, [&](const Admin& a) {
                                   return a.telegram_id == *id && a.role != AdminRole::kOwner;
                                 });
                               }),
                "a_stad");
  });
  r.on_callback("a_stadad", [this, owner_only](Turn& turn) {
    if (!admin_gate(turn, true) || !owner_only(turn)) return;
    start_form(turn, admin_lang(turn.user_id()), "admin");
  });
  admin_forms["admin"] = AdminForm{
      {{"id", "shop.admin.set.ask_admin_id", admin::int_reader(1, 1'000'000'000'000'000LL)}},
      "shop.admin.set.ask_admin_role",
      [this](Lang lang, const json&) {
        return std::vector<AdminChoice>{{t(lang, "shop.admin.role.admin"), "admin"},
                                        {t(lang, "shop.admin.role.support"), "support"}};
      },
      [this, saved_reply](Turn& turn, Lang lang, const json& v, const json&, const std::string& choice) {
        auto role = parse_admin_role(choice);
        if (!role || *role == AdminRole::kOwner) return;
        if (settings().role_of(turn.user_id()) != AdminRole::kOwner) return;
        const std::int64_t id = v["id"].get<std::int64_t>();
        if (settings().role_of(id) == AdminRole::kOwner) return turn.reply(t(lang, "shop.admin.set.owner_stays"));
        saved_reply(turn, lang,
                    change_setting("admins",
                                   [&](ShopSettings& s) {
                                     std::erase_if(s.admins, [&](const Admin& a) { return a.telegram_id == id; });
                                     s.admins.push_back({id, *role});
                                   }),
                    "a_stad");
      }};

  // ---- texts ----
  r.on_callback("a_txt", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto kb = keyboard(lang);
    for (std::size_t i = 0; i < kTextKeys.size(); ++i) {
      kb.button(t(lang, "shop.admin.txt.name." + std::string(kTextKeys[i])), "a_tk", {static_cast<std::int64_t>(i)})
          .row();
    }
    kb.button(t(lang, "common.back"), "admin");
    turn.answer();
    turn.edit(t(lang, "shop.admin.txt.title"), built(kb));
  });

  // One text: what it says now in each language, change or reset.
  r.on_callback("a_tk", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto i = turn.callback()->int_at(0);
    if (!i || *i < 0 || *i >= static_cast<std::int64_t>(kTextKeys.size())) return turn.answer();
    const std::string key(kTextKeys[*i]);
    auto current = [&](Lang l) {
      auto text = texts.lookup(l, key).value_or("");
      return text.size() > 1500 ? text.substr(0, 1500) + "…" : text;
    };
    std::string text = t(lang, "shop.admin.txt.current",
                         {{"name", t(lang, "shop.admin.txt.name." + key)},
                          {"fa", current(Lang::kFa)},
                          {"en", current(Lang::kEn)},
                          {"placeholders", joined(placeholders(i18n::Catalog().render(Lang::kEn, key)))}});
    auto kb = keyboard(lang);
    kb.button("✏️ فارسی", "a_te", {*i, std::string("fa")})
        .button("✏️ English", "a_te", {*i, std::string("en")})
        .row();
    kb.button("↩️ " + t(lang, "shop.admin.txt.reset") + " (fa)", "a_tr", {*i, std::string("fa")})
        .button("↩️ " + t(lang, "shop.admin.txt.reset") + " (en)", "a_tr", {*i, std::string("en")})
        .row();
    kb.button(t(lang, "common.back"), "a_txt");
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });

  r.on_callback("a_te", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    auto i = turn.callback()->int_at(0);
    auto l = turn.callback()->string_at(1);
    if (!i || !l || *i < 0 || *i >= static_cast<std::int64_t>(kTextKeys.size()) || !i18n::parse_lang(*l)) {
      return turn.answer();
    }
    start_form(turn, admin_lang(turn.user_id()), "text", {{"key", *i}, {"lang", *l}});
  });

  admin_forms["text"] = AdminForm{
      {{"text", "shop.admin.txt.ask", admin::text_reader(1, 3500)}},
      "",
      {},
      [this](Turn& turn, Lang lang, const json& v, const json& ctx, const std::string&) {
        const std::string key(kTextKeys.at(ctx["key"].get<std::size_t>()));
        const auto text_lang = i18n::parse_lang(ctx["lang"].get<std::string>()).value_or(Lang::kFa);
        const auto text = v["text"].get<std::string>();
        // A placeholder the default does not have would be shown as is: refuse it.
        const auto known = placeholders(i18n::Catalog().render(Lang::kEn, key));
        for (const auto& p : placeholders(text)) {
          if (!known.contains(p)) {
            return turn.reply(t(lang, "shop.admin.txt.unknown_placeholder", {{"name", p}, {"known", joined(known)}}));
          }
        }
        auto saved = deps.db->with_session([&](storage::Session& s) {
          return s.exec(
              "INSERT INTO texts (lang, key, text, updated_at) VALUES (:lang, :key, :text, :now) "
              "ON CONFLICT (lang, key) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
              {{"lang", std::string(i18n::to_string(text_lang))}, {"key", key}, {"text", text}, {"now", now()}});
        });
        if (!saved) return oops(turn, lang, saved.error());
        texts.set_override(text_lang, key, text);
        auto kb = keyboard(lang);
        kb.button(t(lang, "common.back"), "a_tk", {ctx["key"].get<std::int64_t>()});
        turn.reply(t(lang, "shop.admin.cat.saved"), built(kb));
      }};

  r.on_callback("a_tr", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto i = turn.callback()->int_at(0);
    auto l = turn.callback()->string_at(1);
    auto text_lang = l ? i18n::parse_lang(*l) : std::nullopt;
    if (!i || !text_lang || *i < 0 || *i >= static_cast<std::int64_t>(kTextKeys.size())) return turn.answer();
    const std::string key(kTextKeys[*i]);
    auto n = deps.db->with_session([&](storage::Session& s) {
      return s.exec("DELETE FROM texts WHERE lang = :lang AND key = :key",
                    {{"lang", std::string(i18n::to_string(*text_lang))}, {"key", key}});
    });
    if (!n) return oops(turn, lang, n.error());
    texts.clear_override(*text_lang, key);
    auto kb = keyboard(lang);
    kb.button(t(lang, "common.back"), "a_tk", {*i});
    turn.answer();
    turn.edit(t(lang, "shop.admin.txt.was_reset"), built(kb));
  });
}

}  // namespace ms::shop
