// The support desk's flows. The shop's tickets (shop/wallet.cpp) go to one shop's admins
// from its end users; these go to the platform's operators from customers, with a subject,
// several open tickets, photos both ways and a rating, so only the sending is shared
// (desk_common.hpp), not the flow.
#include "bots/master/support.hpp"

#include <spdlog/spdlog.h>

#include "bots/master/desk_common.hpp"

namespace ms::master {

namespace {

using desk::Lang;
using desk::t;
using telegram::Turn;

constexpr std::size_t kSubjectMax = 100;
constexpr auto kFlowTimeout = std::chrono::hours(1);

struct TicketRow {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::string subject;
  std::string status;
  std::optional<std::int64_t> rating;
  std::int64_t created_at = 0;
};

TicketRow ticket_from(const storage::Row& r) {
  return {r.get_int("id"),        r.get_int("customer_id"), r.get_string("subject"),
          r.get_string("status"), r.opt_int("rating"),      r.get_int("created_at")};
}

Result<std::optional<TicketRow>> load_ticket(storage::Database& db, std::int64_t id) {
  return db.with_session([&](storage::Session& s) -> Result<std::optional<TicketRow>> {
    auto row = s.query_one("SELECT id, customer_id, subject, status, rating, created_at FROM tickets WHERE id = :id",
                           {{"id", id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<TicketRow>();
    return std::optional<TicketRow>(ticket_from(**row));
  });
}

// A new message on a ticket; the ticket becomes `status` (open: waits for an operator).
Result<void> add_message(storage::Session& s, std::int64_t ticket, std::string_view author_kind, std::int64_t author,
                         const std::string& body, const std::optional<std::string>& photo, std::string_view status,
                         std::int64_t now) {
  auto m = s.exec(
      "INSERT INTO ticket_messages (ticket_id, author_kind, author_id, body, attachment_file_id, created_at) "
      "VALUES (:t, :kind, :a, :body, :photo, :now)",
      {{"t", ticket},
       {"kind", std::string(author_kind)},
       {"a", author},
       {"body", body},
       {"photo", photo ? storage::Value{*photo} : storage::Value{}},
       {"now", now}});
  if (!m) return fail(std::move(m.error()));
  auto u = s.exec("UPDATE tickets SET status = :st, updated_at = :now WHERE id = :id",
                  {{"st", std::string(status)}, {"now", now}, {"id", ticket}});
  if (!u) return fail(std::move(u.error()));
  return ok();
}

// A message as the ticket's screen shows it: the first 300 characters (the operators got it whole).
std::string shortened(const std::string& body) {
  auto parts = telegram::split_message(body, 300);
  if (parts.size() <= 1) return body;
  return parts.front() + "…";
}

std::string status_text(Lang lang, const std::string& status) { return t(lang, "master.support.status." + status); }

}  // namespace

std::vector<MenuEntry> SupportDesk::menu(std::int64_t) const { return {{"master.support.menu", "support.menu"}}; }

Result<Satisfaction> SupportDesk::satisfaction(storage::Database& db) {
  return db.with_session([](storage::Session& s) -> Result<Satisfaction> {
    auto row = s.query_one(
        "SELECT count(rating) AS n, COALESCE(sum(rating), 0) AS total FROM tickets WHERE rating IS NOT NULL");
    if (!row) return fail(std::move(row.error()));
    Satisfaction out;
    out.ratings = (*row)->get_int("n");
    if (out.ratings > 0) out.average = static_cast<double>((*row)->get_int("total")) / out.ratings;
    return out;
  });
}

void SupportDesk::install(telegram::Router& r) {
  auto& ctx = ctx_;
  auto now = [&ctx] { return ctx.clock->unix_seconds(); };
  // Answers a failed step in the person's language; details to the log.
  auto oops = [](Turn& turn, Lang lang, const Error& error) {
    spdlog::warn("master support: for {}: {}", turn.user_id(), error.to_string());
    turn.answer();
    turn.reply(t(lang, "error.internal"));
  };
  // The customer writing, entered if new.
  auto customer = [&ctx, now, oops](Turn& turn, Lang lang) -> std::optional<desk::CustomerRow> {
    if (!turn.user()) return std::nullopt;
    auto c = desk::ensure_customer(*ctx.db, *turn.user(), now());
    if (!c) {
      oops(turn, lang, c.error());
      return std::nullopt;
    }
    return *c;
  };
  // The ticket of the button's first argument when it is this customer's (answered when not).
  auto own_ticket = [&ctx, oops](Turn& turn, Lang lang, const desk::CustomerRow& c) -> std::optional<TicketRow> {
    auto id = turn.callback() ? turn.callback()->int_at(0) : Result<std::int64_t>(std::int64_t{0});
    if (!id) {
      turn.answer();
      return std::nullopt;
    }
    auto ticket = load_ticket(*ctx.db, *id);
    if (!ticket) {
      oops(turn, lang, ticket.error());
      return std::nullopt;
    }
    if (!*ticket || (*ticket)->customer_id != c.id) {
      turn.answer(t(lang, "error.not_found"), true);
      return std::nullopt;
    }
    return **ticket;
  };
  // Every operator hears of a customer's new ticket or message, with Answer and Close.
  auto tell_operators = [&ctx](Turn& turn, const desk::CustomerRow& c, const TicketRow& ticket, bool is_new,
                               const std::string& body, const std::optional<std::string>& photo) {
    for (std::int64_t op : ctx.operator_ids) {
      const Lang ol = desk::lang_of(ctx, op);
      auto kb = desk::keyboard(ctx, ol);
      kb.button("✍️ " + t(ol, "master.support.answer"), "support.answer", {ticket.id})
          .button("✔️ " + t(ol, "master.support.close"), "support.close", {ticket.id});
      const std::string head = t(ol, is_new ? "master.support.op_new" : "master.support.op_message",
                                 {{"id", desk::number(ticket.id, ol)},
                                  {"name", telegram::escape_html(c.name)},
                                  {"username", c.username.empty() ? "-" : "@" + c.username},
                                  {"customer", desk::number(c.id, ol)},
                                  {"subject", telegram::escape_html(ticket.subject)}});
      desk::send(turn.bot, op, head + "\n\n" + telegram::escape_html(body), photo, desk::built(kb));
    }
  };

  r.on_callback("support.menu", [&ctx](Turn& turn) {
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    auto kb = desk::keyboard(ctx, lang);
    kb.button("🆕 " + t(lang, "master.support.new"), "support.new")
        .row()
        .button("🗂 " + t(lang, "master.support.mine"), "support.list");
    turn.answer();
    turn.reply(t(lang, "master.support.intro"), desk::built(kb));
  });

  r.on_callback("support.new", [&ctx](Turn& turn) {
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    turn.begin("support.subject", nlohmann::json::object(), kFlowTimeout);
    turn.answer();
    turn.reply(t(lang, "master.support.ask_subject"));
  });

  r.on_state("support.subject", [&ctx](Turn& turn) {
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    const std::string subject = desk::trimmed(turn.text());
    if (subject.empty() || subject.size() > kSubjectMax) {
      return turn.reply(t(lang, "master.support.ask_subject"));
    }
    turn.begin("support.body", {{"subject", subject}}, kFlowTimeout);
    turn.reply(t(lang, "master.support.ask_body"));
  });

  r.on_state("support.body", [&ctx, now, customer, oops, tell_operators](Turn& turn) {
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    const std::string body = desk::trimmed(turn.text());
    const auto photo = desk::photo_of(turn);
    if (body.empty() && !photo) return turn.reply(t(lang, "master.support.ask_body"));
    auto c = customer(turn, lang);
    if (!c) return;
    TicketRow ticket;
    ticket.customer_id = c->id;
    ticket.subject = turn.data().value("subject", std::string());
    ticket.status = "open";
    ticket.created_at = now();
    auto id = ctx.db->transaction([&](storage::Session& s) -> Result<std::int64_t> {
      auto row = s.query_one(
          "INSERT INTO tickets (customer_id, subject, created_at, updated_at) VALUES (:c, :subject, :now, :now) "
          "RETURNING id",
          {{"c", c->id}, {"subject", ticket.subject}, {"now", ticket.created_at}});
      if (!row) return fail(std::move(row.error()));
      const std::int64_t id = (*row)->get_int("id");
      if (auto m = add_message(s, id, "customer", c->id, body, photo, "open", ticket.created_at); !m) {
        return fail(std::move(m.error()));
      }
      return id;
    });
    if (!id) return oops(turn, lang, id.error());
    ticket.id = *id;
    turn.end();
    auto kb = desk::keyboard(ctx, lang);
    kb.button("🗂 " + t(lang, "master.support.mine"), "support.list");
    turn.reply(t(lang, "master.support.opened", {{"id", desk::number(ticket.id, lang)}}), desk::built(kb));
    tell_operators(turn, *c, ticket, true, body, photo);
  });

  r.on_callback("support.list", [&ctx, customer, oops](Turn& turn) {
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    auto c = customer(turn, lang);
    if (!c) return;
    auto rows = ctx.db->with_session([&](storage::Session& s) {
      return s.query(
          "SELECT id, customer_id, subject, status, rating, created_at FROM tickets WHERE customer_id = :c "
          "ORDER BY id DESC LIMIT 10",
          {{"c", c->id}});
    });
    if (!rows) return oops(turn, lang, rows.error());
    auto kb = desk::keyboard(ctx, lang);
    std::string text = t(lang, rows->empty() ? "master.support.none" : "master.support.list");
    for (const auto& row : *rows) {
      const TicketRow ticket = ticket_from(row);
      text += "\n" + t(lang, "master.support.list_line",
                       {{"id", desk::number(ticket.id, lang)},
                        {"subject", telegram::escape_html(ticket.subject)},
                        {"status", status_text(lang, ticket.status)}});
      kb.button("#" + desk::number(ticket.id, lang) + " " + ticket.subject.substr(0, 40), "support.view", {ticket.id})
          .row();
    }
    kb.button("🆕 " + t(lang, "master.support.new"), "support.new");
    turn.answer();
    desk::send(turn.bot, turn.chat_id(), text, std::nullopt, desk::built(kb));
  });

  r.on_callback("support.view", [&ctx, customer, own_ticket, oops](Turn& turn) {
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    auto c = customer(turn, lang);
    if (!c) return;
    auto ticket = own_ticket(turn, lang, *c);
    if (!ticket) return;
    auto messages = ctx.db->with_session([&](storage::Session& s) {
      return s.query(
          "SELECT author_kind, body, attachment_file_id, created_at FROM ticket_messages WHERE ticket_id = :t "
          "ORDER BY id DESC LIMIT 10",
          {{"t", ticket->id}});
    });
    if (!messages) return oops(turn, lang, messages.error());
    std::string text = t(lang, "master.support.ticket",
                         {{"id", desk::number(ticket->id, lang)},
                          {"subject", telegram::escape_html(ticket->subject)},
                          {"status", status_text(lang, ticket->status)}});
    for (auto it = messages->rbegin(); it != messages->rend(); ++it) {
      const bool mine = it->get_string("author_kind") == "customer";
      std::string line = (mine ? "👤 " : "🎧 ") + t(lang, mine ? "master.support.you" : "master.support.team") + " · " +
                         desk::moment(it->get_int("created_at"), lang) + "\n" +
                         telegram::escape_html(shortened(it->get_string("body")));
      if (!it->is_null("attachment_file_id")) line += " 📷";
      text += "\n\n" + line;
    }
    auto kb = desk::keyboard(ctx, lang);
    if (ticket->status != "closed") {
      kb.button("✍️ " + t(lang, "master.support.add"), "support.add", {ticket->id}).row();
    } else if (!ticket->rating) {
      for (std::int64_t n = 1; n <= 5; ++n) kb.button(desk::number(n, lang) + "⭐", "support.rate", {ticket->id, n});
      kb.row();
    }
    kb.button(t(lang, "common.back"), "support.list");
    turn.answer();
    desk::send(turn.bot, turn.chat_id(), text, std::nullopt, desk::built(kb));
  });

  r.on_callback("support.add", [&ctx, customer, own_ticket](Turn& turn) {
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    auto c = customer(turn, lang);
    if (!c) return;
    auto ticket = own_ticket(turn, lang, *c);
    if (!ticket) return;
    if (ticket->status == "closed") return turn.answer(t(lang, "master.support.is_closed"), true);
    turn.begin("support.add", {{"ticket", ticket->id}}, kFlowTimeout);
    turn.answer();
    turn.reply(t(lang, "master.support.ask_more", {{"id", desk::number(ticket->id, lang)}}));
  });

  r.on_state("support.add", [&ctx, now, customer, oops, tell_operators](Turn& turn) {
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    const std::int64_t id = turn.data().value("ticket", std::int64_t{0});
    const std::string body = desk::trimmed(turn.text());
    const auto photo = desk::photo_of(turn);
    if (body.empty() && !photo) return turn.reply(t(lang, "master.support.ask_more", {{"id", desk::number(id, lang)}}));
    auto c = customer(turn, lang);
    if (!c) return;
    auto ticket = ctx.db->transaction([&](storage::Session& s) -> Result<std::optional<TicketRow>> {
      auto row = s.query_one(
          "SELECT id, customer_id, subject, status, rating, created_at FROM tickets WHERE id = :id AND "
          "customer_id = :c",
          {{"id", id}, {"c", c->id}});
      if (!row) return fail(std::move(row.error()));
      if (!*row) return std::optional<TicketRow>();
      TicketRow ticket = ticket_from(**row);
      if (ticket.status == "closed") return std::optional<TicketRow>(ticket);
      if (auto m = add_message(s, id, "customer", c->id, body, photo, "open", now()); !m) {
        return fail(std::move(m.error()));
      }
      return std::optional<TicketRow>(ticket);
    });
    turn.end();
    if (!ticket) return oops(turn, lang, ticket.error());
    if (!*ticket) return turn.reply(t(lang, "error.not_found"));
    if ((*ticket)->status == "closed") return turn.reply(t(lang, "master.support.is_closed"));
    turn.reply(t(lang, "master.support.added", {{"id", desk::number(id, lang)}}));
    tell_operators(turn, *c, **ticket, false, body, photo);
  });

  // ---- operators ----
  auto operator_only = [&ctx](Turn& turn) {
    if (ctx.is_operator(turn.user_id())) return true;
    turn.answer(t(desk::lang_of(ctx, turn.user_id()), "master.ops.refused"), true);
    return false;
  };

  r.on_callback("support.answer", [&ctx, operator_only](Turn& turn) {
    if (!operator_only(turn)) return;
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    turn.begin("support.answer", {{"ticket", *id}}, kFlowTimeout);
    turn.answer();
    turn.reply(t(lang, "master.support.write_answer", {{"id", desk::number(*id, lang)}}));
  });

  r.on_state("support.answer", [&ctx, now, oops](Turn& turn) {
    if (!ctx.is_operator(turn.user_id())) return turn.end();
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    const std::int64_t id = turn.data().value("ticket", std::int64_t{0});
    const std::string body = desk::trimmed(turn.text());
    const auto photo = desk::photo_of(turn);
    if (body.empty() && !photo) {
      return turn.reply(t(lang, "master.support.write_answer", {{"id", desk::number(id, lang)}}));
    }
    // The customer's Telegram id, or nullopt when the ticket is closed already.
    auto to = ctx.db->transaction([&](storage::Session& s) -> Result<std::optional<std::int64_t>> {
      auto row = s.query_one(
          "SELECT t.status, c.telegram_id FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = :id",
          {{"id", id}});
      if (!row) return fail(std::move(row.error()));
      if (!*row) return fail(ErrorCode::kNotFound, "ticket " + std::to_string(id));
      if ((*row)->get_string("status") == "closed") return std::optional<std::int64_t>();
      if (auto m = add_message(s, id, "operator", turn.user_id(), body, photo, "answered", now()); !m) {
        return fail(std::move(m.error()));
      }
      return std::optional<std::int64_t>((*row)->opt_int("telegram_id").value_or(0));
    });
    turn.end();
    if (!to) return oops(turn, lang, to.error());
    if (!*to) return turn.reply(t(lang, "master.support.is_closed"));
    if (**to != 0) {
      const Lang cl = desk::lang_of(ctx, **to);
      auto kb = desk::keyboard(ctx, cl);
      kb.button("✍️ " + t(cl, "master.support.reply"), "support.add", {id});
      desk::send(
          turn.bot, **to,
          t(cl, "master.support.answered", {{"id", desk::number(id, cl)}}) + "\n\n" + telegram::escape_html(body),
          photo, desk::built(kb));
    }
    turn.reply(t(lang, "master.support.sent_answer", {{"id", desk::number(id, lang)}}));
  });

  r.on_callback("support.close", [&ctx, now, operator_only](Turn& turn) {
    if (!operator_only(turn)) return;
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    const std::int64_t at = now();
    auto closed = ctx.db->transaction([&](storage::Session& s) -> Result<std::optional<std::int64_t>> {
      auto n = s.exec(
          "UPDATE tickets SET status = 'closed', closed_at = :now, updated_at = :now WHERE id = :id AND "
          "status <> 'closed'",
          {{"now", at}, {"id", *id}});
      if (!n) return fail(std::move(n.error()));
      if (*n == 0) return std::optional<std::int64_t>();
      auto row = s.query_one(
          "SELECT c.telegram_id FROM tickets t JOIN customers c ON c.id = t.customer_id "
          "WHERE t.id = :id",
          {{"id", *id}});
      if (!row) return fail(std::move(row.error()));
      return std::optional<std::int64_t>(*row ? (*row)->opt_int("telegram_id").value_or(0) : 0);
    });
    if (!closed) {
      spdlog::warn("master support: closing ticket {}: {}", *id, closed.error().to_string());
      return turn.answer(t(lang, "error.internal"), true);
    }
    if (!*closed) return turn.answer(t(lang, "master.support.already_closed"));
    turn.answer(t(lang, "master.support.closed_op", {{"id", desk::number(*id, lang)}}));
    if (**closed != 0) {
      const Lang cl = desk::lang_of(ctx, **closed);
      auto kb = desk::keyboard(ctx, cl);
      for (std::int64_t n = 1; n <= 5; ++n) kb.button(desk::number(n, cl) + "⭐", "support.rate", {*id, n});
      desk::send(turn.bot, **closed, t(cl, "master.support.closed", {{"id", desk::number(*id, cl)}}), std::nullopt,
                 desk::built(kb));
    }
  });

  r.on_callback("support.rate", [&ctx, now, customer](Turn& turn) {
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    auto id = turn.callback()->int_at(0);
    auto stars = turn.callback()->int_at(1);
    if (!id || !stars || *stars < 1 || *stars > 5) return turn.answer();
    auto c = customer(turn, lang);
    if (!c) return;
    // Once: only a closed, unrated ticket of this customer takes a rating.
    auto rated = ctx.db->with_session([&](storage::Session& s) {
      return s.exec(
          "UPDATE tickets SET rating = :r, updated_at = :now WHERE id = :id AND customer_id = :c AND "
          "status = 'closed' AND rating IS NULL",
          {{"r", *stars}, {"now", now()}, {"id", *id}, {"c", c->id}});
    });
    if (!rated) {
      spdlog::warn("master support: rating ticket {}: {}", *id, rated.error().to_string());
      return turn.answer(t(lang, "error.internal"), true);
    }
    if (*rated == 0) return turn.answer(t(lang, "master.support.rated_before"), true);
    turn.answer();
    turn.edit(
        t(lang, "master.support.thanks", {{"id", desk::number(*id, lang)}, {"stars", desk::number(*stars, lang)}}));
  });
}

}  // namespace ms::master
