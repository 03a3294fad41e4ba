// Wallet (balance, history, top-up through any enabled method), referral (personal link,
// people brought, earnings) and support tickets (text and photos to the owner's admins,
// answers back in the bot).
#include <spdlog/spdlog.h>

#include "core/i18n/digits.hpp"
#include "core/i18n/money_format.hpp"
#include "domain/enum_names.hpp"
#include "payments/ledger.hpp"
#include "bots/shop/shop_impl.hpp"

namespace ms::shop {

void ShopBot::Impl::register_wallet(telegram::Router& r) {
  r.on_callback("wallet", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto rows = deps.payments->ledger().rows(p->id);
    std::string history;
    if (rows) {
      const std::size_t from = rows->size() > 10 ? rows->size() - 10 : 0;
      for (std::size_t i = rows->size(); i > from; --i) {
        const auto& row = (*rows)[i - 1];
        history += "\n" + std::string(row.delta.minor > 0 ? "➕ " : "➖ ") +
                   money(Money{row.delta.minor > 0 ? row.delta.minor : -row.delta.minor, row.delta.currency}, p->lang) +
                   " · " + t(p->lang, "shop.ledger." + row.reason) + " · " + date(row.created_at, p->lang);
      }
    }
    if (history.empty()) history = "\n" + t(p->lang, "shop.wallet.no_history");
    auto kb = keyboard(p->lang);
    if (!offered_methods().empty()) kb.button("➕ " + t(p->lang, "shop.wallet.top_up"), "topup").row();
    kb.button(t(p->lang, "common.back"), "menu");
    std::string text = t(p->lang, "shop.wallet.text", {{"balance", money(p->balance, p->lang)}}) + "\n" + history;
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });

  r.on_callback("topup", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    turn.begin("topup_amount");
    turn.answer();
    turn.reply(t(p->lang, "shop.wallet.ask_amount",
                 {{"unit", p->balance.currency == Currency::kIrr ? t(p->lang, "shop.toman")
                                                                 : std::string(currency_code(p->balance.currency))}}));
  });

  r.on_state("topup_amount", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto amount = i18n::parse_money(turn.text(), p->balance.currency);
    if (!amount || amount->minor <= 0) {
      turn.reply(t(p->lang, "error.invalid_amount"));
      return;
    }
    turn.end();
    auto kb = keyboard(p->lang);
    add_methods(kb, *p, "tpay", amount->minor, false);
    kb.button(t(p->lang, "common.back"), "wallet");
    turn.reply(t(p->lang, "shop.wallet.choose_method", {{"amount", money(*amount, p->lang)}}), built(kb));
  });

  r.on_callback("tpay", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto minor = turn.callback()->int_at(0);
    auto name = turn.callback()->string_at(1);
    auto method = name ? domain::parse<domain::PaymentMethod>(*name) : std::nullopt;
    if (!minor || !method) return turn.answer();
    const Money amount{*minor, p->balance.currency};
    std::string what = t(p->lang, "shop.wallet.top_up_of", {{"amount", money(amount, p->lang)}});
    auto checkout = deps.payments->top_up(p->id, amount, *method, what);
    if (!checkout) return oops(turn, p->lang, checkout.error(), "shop.pay.unavailable");
    turn.answer();
    show_checkout(turn, *p, *checkout, what);
  });

  r.on_callback("ref", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto summary = store.referral_summary(p->id);
    if (!summary) return oops(turn, p->lang, summary.error());
    const std::string link = "https://t.me/" + bot_username() + "?start=r" + std::to_string(p->telegram_id);
    std::string text = t(p->lang, "shop.referral.text",
                         {{"link", link},
                          {"percent", std::to_string(settings().referral_percent)},
                          {"people", std::to_string(summary->people)},
                          {"earned", money(Money{summary->earned_minor, p->balance.currency}, p->lang)}});
    auto kb = keyboard(p->lang);
    kb.copy(t(p->lang, "shop.referral.copy"), link).row().button(t(p->lang, "common.back"), "menu");
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });

  // ---- support ----
  r.on_callback("support", [this](Turn& turn) {
    auto p = gate(turn, false);
    if (!p) return;
    turn.begin("ticket", {}, std::chrono::hours(1));
    turn.answer();
    turn.reply(t(p->lang, "shop.support.ask"));
  });

  r.on_state("ticket", [this](Turn& turn) {
    auto p = gate(turn, false);
    if (!p) return;
    const auto* m = turn.update.message ? &*turn.update.message : nullptr;
    std::string body(turn.text());
    std::optional<std::string> photo;
    if (m && !m->photo.empty()) photo = m->photo.back().file_id;
    if (body.empty() && !photo) return turn.reply(t(p->lang, "shop.support.ask"));
    const std::int64_t t_now = now();
    auto ticket = deps.db->transaction([&](storage::Session& s) -> Result<std::int64_t> {
      // One open ticket per person: a new message goes into it.
      auto open = s.query_one(
          "SELECT id FROM tickets WHERE user_id = :u AND status <> 'closed' ORDER BY id DESC LIMIT 1", {{"u", p->id}});
      if (!open) return fail(std::move(open.error()));
      std::int64_t id = 0;
      if (*open) {
        id = (*open)->get_int("id");
        auto u = s.exec("UPDATE tickets SET status = 'open', updated_at = :now WHERE id = :id",
                        {{"now", t_now}, {"id", id}});
        if (!u) return fail(std::move(u.error()));
      } else {
        auto row = s.query_one(
            "INSERT INTO tickets (user_id, subject, created_at, updated_at) VALUES (:u, :subject, :now, :now) "
            "RETURNING id",
            {{"u", p->id}, {"subject", body.substr(0, 64)}, {"now", t_now}});
        if (!row) return fail(std::move(row.error()));
        id = (*row)->get_int("id");
      }
      auto msg = s.exec(
          "INSERT INTO ticket_messages (ticket_id, author_kind, author_id, body, attachment_file_id, created_at) "
          "VALUES (:t, 'user', :u, :body, :photo, :now)",
          {{"t", id},
           {"u", p->id},
           {"body", body},
           {"photo", photo ? storage::Value{*photo} : storage::Value{}},
           {"now", t_now}});
      if (!msg) return fail(std::move(msg.error()));
      return id;
    });
    if (!ticket) return oops(turn, p->lang, ticket.error());
    turn.end();
    turn.reply(t(p->lang, "shop.support.sent", {{"id", std::to_string(*ticket)}}));
    // Every admin (support included) sees it with a reply button.
    auto ctx = deps.runtime ? deps.runtime->context(deps.bot_key) : nullptr;
    for (const auto& admin : settings().admins) {
      const Lang al = admin_lang(admin.telegram_id);
      auto kb = keyboard(al);
      kb.button("✍️ " + t(al, "shop.support.reply"), "tkr", {*ticket})
          .button("✔️ " + t(al, "shop.support.close"), "tkc", {*ticket});
      const std::string head = t(al, "shop.support.to_admin",
                                 {{"id", std::to_string(*ticket)},
                                  {"name", telegram::escape_html(p->first_name)},
                                  {"user", std::to_string(p->telegram_id)}});
      if (photo && ctx) {
        telegram::SendPhoto ph;
        ph.chat_id = admin.telegram_id;
        ph.photo = telegram::InputFile::from_reference(*photo);
        ph.caption = head + "\n" + body;
        ph.reply_markup = built(kb);
        ctx->send(ph);
      } else {
        (void)send_to(admin.telegram_id, head + "\n\n" + telegram::escape_html(body), built(kb));
      }
    }
  });

  r.on_callback("tkr", [this](Turn& turn) {
    if (!admin_gate(turn)) return;
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    turn.begin("ticket_reply", {{"ticket", *id}}, std::chrono::hours(1));
    turn.answer();
    turn.reply(t(admin_lang(turn.user_id()), "shop.support.write_reply", {{"id", std::to_string(*id)}}));
  });

  r.on_state("ticket_reply", [this](Turn& turn) {
    if (!settings().role_of(turn.user_id())) return turn.end();
    const Lang lang = admin_lang(turn.user_id());
    const std::int64_t id = turn.data().value("ticket", std::int64_t{0});
    std::string body(turn.text());
    if (body.empty()) return turn.reply(t(lang, "shop.support.write_reply", {{"id", std::to_string(id)}}));
    const std::int64_t t_now = now();
    auto user = deps.db->transaction([&](storage::Session& s) -> Result<std::int64_t> {
      auto row = s.query_one("SELECT user_id FROM tickets WHERE id = :id", {{"id", id}});
      if (!row) return fail(std::move(row.error()));
      if (!*row) return fail(ErrorCode::kNotFound, "ticket " + std::to_string(id));
      auto msg = s.exec(
          "INSERT INTO ticket_messages (ticket_id, author_kind, author_id, body, created_at) VALUES (:t, 'admin', "
          ":a, :body, :now)",
          {{"t", id}, {"a", turn.user_id()}, {"body", body}, {"now", t_now}});
      if (!msg) return fail(std::move(msg.error()));
      auto u = s.exec("UPDATE tickets SET status = 'answered', updated_at = :now WHERE id = :id",
                      {{"now", t_now}, {"id", id}});
      if (!u) return fail(std::move(u.error()));
      return (*row)->get_int("user_id");
    });
    turn.end();
    if (!user) return oops(turn, lang, user.error());
    auto person = store.person(*user);
    if (person && *person) {
      auto kb = keyboard((*person)->lang);
      kb.button(t((*person)->lang, "shop.support.answer_back"), "support");
      (void)send_to((*person)->telegram_id,
                    t((*person)->lang, "shop.support.answer", {{"id", std::to_string(id)}}) + "\n\n" +
                        telegram::escape_html(body),
                    built(kb));
    }
    turn.reply(t(lang, "shop.support.replied", {{"id", std::to_string(id)}}));
  });

  r.on_callback("tkc", [this](Turn& turn) {
    if (!admin_gate(turn)) return;
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    const std::int64_t t_now = now();
    auto closed = deps.db->with_session([&](storage::Session& s) -> Result<std::int64_t> {
      return s.exec(
          "UPDATE tickets SET status = 'closed', closed_at = :now, updated_at = :now WHERE id = :id AND "
          "status <> 'closed'",
          {{"now", t_now}, {"id", *id}});
    });
    turn.answer(
        t(admin_lang(turn.user_id()), closed && *closed == 1 ? "shop.support.closed" : "shop.support.already_closed"));
  });
}

}  // namespace ms::shop
