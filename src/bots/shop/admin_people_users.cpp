// The admins' people side, users: find a person by Telegram id or @username, their card
// (balance, ban, blocked, services, last orders), a balance change with a reason (one ledger
// row, never below zero), ban and unban, and a message to them. Support may find and message
// people; balances and bans are for the owner and admins.
#include "payments/ledger.hpp"
#include "bots/shop/admin_catalog_internal.hpp"
#include "telegram/keyboard.hpp"

namespace ms::shop {

namespace {

using admin::json;

// "+50000", "-20,000", "۵۰۰۰۰" (a plus is implied): the change in minor units, never zero.
auto signed_money_reader(std::function<Currency()> currency) {
  return [currency = std::move(currency)](Turn& turn) -> std::optional<json> {
    auto text = admin::trimmed(turn.text());
    std::int64_t sign = 1;
    if (text.rfind("-", 0) == 0 || text.rfind("\u2212", 0) == 0) {
      sign = -1;
      text = admin::trimmed(text.substr(text[0] == '-' ? 1 : 3));
    } else if (text.rfind("+", 0) == 0) {
      text = admin::trimmed(text.substr(1));
    }
    auto m = i18n::parse_money(text, currency());
    if (!m || m->minor <= 0) return std::nullopt;
    return json(sign * m->minor);
  };
}

// The person named by a Telegram id or an @username, as their users.id.
auto person_reader(ShopStore& store) {
  return [&store](Turn& turn) -> std::optional<json> {
    auto text = admin::trimmed(turn.text());
    Result<std::optional<Person>> p = std::optional<Person>();
    if (!text.empty() && text[0] == '@') {
      p = store.person_by_username(text.substr(1));
    } else if (auto id = i18n::parse_int(text)) {
      p = store.person_by_telegram(*id);
    } else {
      p = store.person_by_username(text);
    }
    if (!p || !*p) return std::nullopt;
    return json((*p)->id);
  };
}

}  // namespace

void ShopBot::Impl::show_user(Turn& turn, Lang lang, std::int64_t user_id, bool edit) {
  auto p = store.person(user_id);
  if (!p) return oops(turn, lang, p.error());
  if (!*p) return turn.reply(t(lang, "error.not_found"));
  const Person& person = **p;
  auto yes_no = [&](bool v) { return t(lang, v ? "common.yes" : "common.no"); };
  std::string text = t(lang, "shop.admin.user.card",
                       {{"name", person.first_name},
                        {"username", person.username.empty() ? "-" : "@" + person.username},
                        {"telegram_id", std::to_string(person.telegram_id)},
                        {"id", number(person.id, lang)},
                        {"balance", money(person.balance, lang)},
                        {"banned", yes_no(person.banned)},
                        {"blocked", yes_no(person.blocked_bot)},
                        {"joined", date(person.created_at, lang)}});
  auto services = store.services_of(person.id);
  if (!services) return oops(turn, lang, services.error());
  text += "\n\n" + t(lang, "shop.admin.user.services");
  if (services->empty()) text += "\n" + t(lang, "shop.admin.user.none");
  for (const auto& s : *services) {
    text += "\n" + t(lang, "shop.admin.user.service_line",
                     {{"name", s.panel_username},
                      {"status", s.status},
                      {"date", s.expires_at ? date(*s.expires_at, lang) : t(lang, "shop.unlimited")}});
  }
  auto orders = deps.db->with_session([&](storage::Session& s) {
    return s.query(
        "SELECT id, kind, status, amount_minor, currency, created_at FROM orders WHERE user_id = :u ORDER BY id DESC "
        "LIMIT 5",
        {{"u", person.id}});
  });
  if (!orders) return oops(turn, lang, orders.error());
  text += "\n\n" + t(lang, "shop.admin.user.orders");
  if (orders->empty()) text += "\n" + t(lang, "shop.admin.user.none");
  for (const auto& o : *orders) {
    const Money amount{o.get_int("amount_minor"),
                       currency_from_code(o.get_string("currency")).value_or(Currency::kIrr)};
    text += "\n" + t(lang, "shop.admin.user.order_line",
                     {{"id", number(o.get_int("id"), lang)},
                      {"kind", o.get_string("kind")},
                      {"status", o.get_string("status")},
                      {"amount", money(amount, lang)},
                      {"date", date(o.get_int("created_at"), lang)}});
  }
  auto kb = keyboard(lang);
  const auto role = settings().role_of(turn.user_id());
  if (role && *role != AdminRole::kSupport) {
    kb.button("💰 " + t(lang, "shop.admin.user.balance_button"), "a_ubal", {person.id})
        .button(t(lang, person.banned ? "shop.admin.user.unban_button" : "shop.admin.user.ban_button"), "a_uban",
                {person.id})
        .row();
  }
  kb.button("✉️ " + t(lang, "shop.admin.user.message_button"), "a_umsg", {person.id}).row();
  kb.button("🔎 " + t(lang, "shop.admin.user.another"), "a_users").button(t(lang, "common.back"), "admin");
  if (edit) {
    turn.edit(std::move(text), built(kb));
  } else {
    turn.reply(std::move(text), built(kb));
  }
}

void ShopBot::Impl::register_admin_users(telegram::Router& r) {
  r.on_callback("a_users", [this](Turn& turn) {
    if (!admin_gate(turn)) return;
    start_form(turn, admin_lang(turn.user_id()), "user_find");
  });
  AdminForm find{{{"who", "shop.admin.user.ask", person_reader(store), "shop.admin.user.not_found"}},
                 "",
                 {},
                 [this](Turn& turn, Lang lang, const json& v, const json&, const std::string&) {
                   show_user(turn, lang, v["who"].get<std::int64_t>(), false);
                 }};
  find.support_ok = true;
  admin_forms["user_find"] = std::move(find);

  r.on_callback("a_u", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn)) return;
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    turn.answer();
    show_user(turn, admin_lang(turn.user_id()), *id, true);
  });

  // Balance: a signed amount and a reason, one ledger row (admin_adjustment).
  r.on_callback("a_ubal", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    start_form(turn, admin_lang(turn.user_id()), "user_balance", {{"user", *id}});
  });
  admin_forms["user_balance"] = AdminForm{
      {{"delta", "shop.admin.user.ask_amount", signed_money_reader([this] { return settings().currency; }),
        "shop.admin.user.bad_amount"},
       {"reason", "shop.admin.user.ask_reason", admin::text_reader(1, 200)}},
      "",
      {},
      [this](Turn& turn, Lang lang, const json& v, const json& ctx, const std::string&) {
        const std::int64_t user_id = ctx["user"].get<std::int64_t>();
        auto p = store.person(user_id);
        if (!p) return oops(turn, lang, p.error());
        if (!*p) return turn.reply(t(lang, "error.not_found"));
        payments::LedgerChange change;
        change.user_id = user_id;
        change.delta = Money{v["delta"].get<std::int64_t>(), (*p)->balance.currency};
        change.reason = domain::LedgerReason::kAdminAdjustment;
        // The reason's message names the change: a redelivered update changes nothing twice.
        const std::int64_t message_id = turn.update.message ? turn.update.message->message_id : now();
        change.ref = "admin:" + std::to_string(turn.user_id()) + ":" + std::to_string(message_id);
        change.note = v["reason"].get<std::string>() + " (admin " + std::to_string(turn.user_id()) + ")";
        payments::Ledger ledger(*deps.db, *deps.clock);
        auto balance = ledger.apply(change);
        auto kb = keyboard(lang);
        kb.button(t(lang, "common.back"), "a_u", {user_id});
        if (!balance && balance.error().code == ErrorCode::kLimitExceeded) {
          return turn.reply(t(lang, "shop.admin.user.balance_refused", {{"balance", money((*p)->balance, lang)}}),
                            built(kb));
        }
        if (!balance) return oops(turn, lang, balance.error());
        turn.reply(t(lang, "shop.admin.user.balance_done",
                     {{"delta", money(change.delta, lang)}, {"balance", money(*balance, lang)}}),
                   built(kb));
      }};

  r.on_callback("a_uban", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    auto p = store.person(*id);
    if (!p) return oops(turn, lang, p.error());
    if (!*p) return turn.answer(t(lang, "error.not_found"), true);
    if (settings().role_of((*p)->telegram_id)) return turn.answer(t(lang, "shop.admin.user.not_admins"), true);
    const bool ban = !(*p)->banned;
    if (auto set = store.set_banned(*id, ban, now()); !set) return oops(turn, lang, set.error());
    turn.answer(t(lang, ban ? "shop.admin.user.banned_now" : "shop.admin.user.unbanned_now"));
    show_user(turn, lang, *id, true);
  });

  // A message to the person, from the shop.
  r.on_callback("a_umsg", [this](Turn& turn) {
    if (!admin_gate(turn)) return;
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    start_form(turn, admin_lang(turn.user_id()), "user_message", {{"user", *id}});
  });
  AdminForm message{
      {{"text", "shop.admin.user.ask_message", admin::text_reader(1, 3500)}},
      "",
      {},
      [this](Turn& turn, Lang lang, const json& v, const json& ctx, const std::string&) {
        const std::int64_t user_id = ctx["user"].get<std::int64_t>();
        auto p = store.person(user_id);
        if (!p) return oops(turn, lang, p.error());
        if (!*p) return turn.reply(t(lang, "error.not_found"));
        auto sent = send_to((*p)->telegram_id, t((*p)->lang, "shop.admin.user.message_header",
                                                 {{"text", telegram::escape_html(v["text"].get<std::string>())}}));
        if (!sent) return oops(turn, lang, sent.error());
        auto after = store.person(user_id);  // send_to marks people who blocked the bot
        const bool blocked = after && *after && (*after)->blocked_bot;
        auto kb = keyboard(lang);
        kb.button(t(lang, "common.back"), "a_u", {user_id});
        turn.reply(t(lang, blocked ? "shop.admin.user.message_blocked" : "shop.admin.user.message_sent"), built(kb));
      }};
  message.support_ok = true;
  admin_forms["user_message"] = std::move(message);
}

}  // namespace ms::shop
