// The operators' screens: /ops and its menu, the customer card (lookup, message), the
// instances' health and the figures. Every entry checks the person is an operator.
#include <spdlog/spdlog.h>

#include "core/i18n/digits.hpp"
#include "domain/subscription_state.hpp"
#include "bots/master/desk_common.hpp"
#include "bots/master/operators.hpp"

namespace ms::master {

namespace {

using desk::Lang;
using desk::t;
using telegram::Turn;

constexpr auto kFlowTimeout = std::chrono::minutes(30);

std::string ago(std::int64_t seconds, Lang lang) {
  if (seconds < 120)
    return t(lang, "master.ops.ago_s", {{"n", desk::number(std::max<std::int64_t>(seconds, 0), lang)}});
  if (seconds < 2 * 3600) return t(lang, "master.ops.ago_min", {{"n", desk::number(seconds / 60, lang)}});
  return t(lang, "master.ops.ago_h", {{"n", desk::number(seconds / 3600, lang)}});
}

std::string bot_state(Lang lang, domain::BotState state) {
  return t(lang, "master.bot_state." + std::string(domain::to_string(state)));
}

std::string duration_ms(std::int64_t ms, Lang lang) {
  // "2.4 s" / "۲٫۴ ثانیه": tenths of a second are enough to compare backends.
  const std::int64_t tenths = (ms + 50) / 100;
  std::string text = std::to_string(tenths / 10) + (lang == Lang::kFa ? "٫" : ".") + std::to_string(tenths % 10);
  return t(lang, "master.ops.seconds", {{"n", lang == Lang::kFa ? i18n::to_persian_digits(text) : text}});
}

std::string money_of(const std::string& currency, std::int64_t minor, Lang lang) {
  if (auto c = currency_from_code(currency)) return desk::money(Money{minor, *c}, lang);
  return desk::number(minor, lang) + " " + currency;
}

}  // namespace

std::vector<MenuEntry> OperatorDesk::menu(std::int64_t telegram_id) const {
  if (!ctx_.is_operator(telegram_id)) return {};
  return {{"master.ops.menu", "ops.menu"}};
}

void OperatorDesk::install(telegram::Router& r) {
  auto& ctx = ctx_;
  const auto& options = options_;
  auto now = [&ctx] { return ctx.clock->unix_seconds(); };
  // True for an operator; anyone else is told plainly that this is for operators only.
  auto gate = [&ctx](Turn& turn) {
    if (ctx.is_operator(turn.user_id())) return true;
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    if (turn.callback()) turn.answer(t(lang, "master.ops.refused"), true);
    turn.reply(t(lang, "master.ops.refused"));
    return false;
  };
  auto oops = [](Turn& turn, Lang lang, const Error& error) {
    spdlog::warn("master ops: for {}: {}", turn.user_id(), error.to_string());
    turn.answer();
    turn.reply(t(lang, "error.internal"));
  };
  auto show_menu = [&ctx, &options](Turn& turn) {
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    auto kb = desk::keyboard(ctx, lang);
    if (!options.payments_action.empty()) {
      kb.button("💳 " + t(lang, "master.ops.payments"), options.payments_action).row();
    }
    kb.button("🔎 " + t(lang, "master.ops.find"), "ops.find")
        .row()
        .button("🩺 " + t(lang, "master.ops.health"), "ops.health")
        .row()
        .button("📊 " + t(lang, "master.ops.figures"), "ops.figures");
    turn.answer();
    turn.reply(t(lang, "master.ops.title"), desk::built(kb));
  };

  r.on_command("ops", [gate, show_menu](Turn& turn) {
    if (gate(turn)) show_menu(turn);
  });
  r.on_callback("ops.menu", [gate, show_menu](Turn& turn) {
    if (gate(turn)) show_menu(turn);
  });

  // ---- a customer ----
  r.on_callback("ops.find", [&ctx, gate](Turn& turn) {
    if (!gate(turn)) return;
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    turn.begin("ops.find", nlohmann::json::object(), kFlowTimeout);
    turn.answer();
    turn.reply(t(lang, "master.ops.ask_customer"));
  });

  auto show_card = [&ctx, now, oops](Turn& turn, Lang lang, const desk::CustomerRow& c) {
    std::string text = t(lang, "master.ops.card",
                         {{"id", desk::number(c.id, lang)},
                          {"name", telegram::escape_html(c.name)},
                          {"username", c.username.empty() ? "-" : "@" + c.username},
                          {"telegram_id", c.telegram_id ? std::to_string(*c.telegram_id) : "-"},
                          {"joined", desk::date(c.created_at, lang)}});
    auto sub = ctx.db->with_session([&](storage::Session& s) {
      return s.query_one(
          "SELECT s.state, s.cycle, s.period_end, p.name_en, p.name_fa FROM subscriptions s JOIN packages p ON "
          "p.id = s.package_id WHERE s.customer_id = :c ORDER BY s.id DESC LIMIT 1",
          {{"c", c.id}});
    });
    if (!sub) return oops(turn, lang, sub.error());
    if (*sub) {
      const auto& row = **sub;
      text += "\n" + t(lang, "master.ops.card_package",
                       {{"package", row.get_string(lang == Lang::kFa ? "name_fa" : "name_en")},
                        {"cycle", t(lang, "master.desk.cycle." + row.get_string("cycle"))},
                        {"state", t(lang, "master.sub_state." + row.get_string("state"))},
                        {"end", desk::date(row.get_int("period_end"), lang)}});
    } else {
      text += "\n" + t(lang, "master.ops.card_no_package");
    }
    text += "\n\n" + t(lang, "master.ops.card_bots");
    std::vector<deploy::InstanceStatus> bots;
    if (ctx.deployments) {
      auto listed = ctx.deployments->list(c.id);
      if (!listed) return oops(turn, lang, listed.error());
      bots = std::move(*listed);
    }
    if (bots.empty()) text += "\n" + t(lang, "master.ops.none");
    for (const auto& b : bots) {
      text +=
          "\n" + t(lang, "master.ops.card_bot",
                   {{"id", desk::number(b.instance_id, lang)},
                    {"bot", b.bot_username.empty() ? "-" : "@" + b.bot_username},
                    {"state", bot_state(lang, b.state)},
                    {"heartbeat", b.heartbeat_at ? ago(now() - *b.heartbeat_at, lang) : t(lang, "master.ops.never")}});
    }
    auto payments = ctx.db->with_session([&](storage::Session& s) {
      return s.query(
          "SELECT id, provider, amount_minor, currency, status, created_at FROM payments WHERE customer_id = :c "
          "ORDER BY id DESC LIMIT 5",
          {{"c", c.id}});
    });
    if (!payments) return oops(turn, lang, payments.error());
    text += "\n\n" + t(lang, "master.ops.card_payments");
    if (payments->empty()) text += "\n" + t(lang, "master.ops.none");
    for (const auto& p : *payments) {
      text += "\n" + t(lang, "master.ops.card_payment",
                       {{"id", desk::number(p.get_int("id"), lang)},
                        {"amount", money_of(p.get_string("currency"), p.get_int("amount_minor"), lang)},
                        {"provider", p.get_string("provider")},
                        {"status", p.get_string("status")},
                        {"date", desk::date(p.get_int("created_at"), lang)}});
    }
    auto kb = desk::keyboard(ctx, lang);
    if (c.telegram_id) kb.button("✉️ " + t(lang, "master.ops.message"), "ops.msg", {c.id}).row();
    kb.button(t(lang, "common.back"), "ops.menu");
    turn.answer();
    desk::send(turn.bot, turn.chat_id(), text, std::nullopt, desk::built(kb));
  };

  r.on_state("ops.find", [&ctx, gate, oops, show_card](Turn& turn) {
    if (!gate(turn)) return turn.end();
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    const std::string query = desk::trimmed(turn.text());
    Result<std::optional<desk::CustomerRow>> found = std::optional<desk::CustomerRow>();
    if (!query.empty() && query[0] == '#') {
      // "#12": a customer id.
      if (auto id = i18n::parse_int(query.substr(1))) found = desk::customer_by_id(*ctx.db, *id);
    } else if (auto id = i18n::parse_int(query)) {
      // Digits: a Telegram id, else a customer id.
      found = desk::customer_by_telegram(*ctx.db, *id);
      if (found && !*found) found = desk::customer_by_id(*ctx.db, *id);
    } else {
      found = desk::customer_by_username(*ctx.db, query);
    }
    if (!found) return oops(turn, lang, found.error());
    if (!*found) return turn.reply(t(lang, "master.ops.not_found"));  // the flow stays: try again
    turn.end();
    show_card(turn, lang, **found);
  });

  r.on_callback("ops.msg", [&ctx, gate](Turn& turn) {
    if (!gate(turn)) return;
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    turn.begin("ops.msg", {{"customer", *id}}, kFlowTimeout);
    turn.answer();
    turn.reply(t(lang, "master.ops.ask_message", {{"id", desk::number(*id, lang)}}));
  });

  r.on_state("ops.msg", [&ctx, gate, oops](Turn& turn) {
    if (!gate(turn)) return turn.end();
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    const std::int64_t id = turn.data().value("customer", std::int64_t{0});
    const std::string body = desk::trimmed(turn.text());
    if (body.empty()) return turn.reply(t(lang, "master.ops.ask_message", {{"id", desk::number(id, lang)}}));
    auto c = desk::customer_by_id(*ctx.db, id);
    turn.end();
    if (!c) return oops(turn, lang, c.error());
    if (!*c || !(*c)->telegram_id) return turn.reply(t(lang, "master.ops.not_found"));
    const std::int64_t to = *(*c)->telegram_id;
    const Lang cl = desk::lang_of(ctx, to);
    Result<void> sent = fail(ErrorCode::kUnavailable, "the master bot cannot send messages");
    if (ctx.send)
      sent = ctx.send(to, t(cl, "master.ops.from_team") + "\n\n" + telegram::escape_html(body), std::nullopt);
    if (!sent) {
      spdlog::info("master ops: message to customer {}: {}", id, sent.error().to_string());
      return turn.reply(
          t(lang, sent.error().code == ErrorCode::kPermissionDenied ? "master.ops.blocked" : "master.ops.not_sent"));
    }
    turn.reply(t(lang, "master.ops.sent", {{"id", desk::number(id, lang)}}));
  });

  // ---- every instance's health ----
  r.on_callback("ops.health", [&ctx, &options, now, gate, oops](Turn& turn) {
    if (!gate(turn)) return;
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    if (!ctx.deployments) return oops(turn, lang, Error{ErrorCode::kUnavailable, "no deployments"});
    const std::int64_t at = now();
    auto rows = instance_health(*ctx.db, *ctx.deployments, at, options.stale_after_seconds);
    if (!rows) return oops(turn, lang, rows.error());
    std::int64_t failed = 0, stale = 0;
    for (const auto& h : *rows) {
      failed += h.failed;
      stale += h.stale;
    }
    std::string text = t(lang, "master.ops.health_head",
                         {{"total", desk::number(static_cast<std::int64_t>(rows->size()), lang)},
                          {"failed", desk::number(failed, lang)},
                          {"stale", desk::number(stale, lang)}});
    for (const auto& h : *rows) {
      const auto& st = h.status;
      std::string line =
          std::string(h.failed  ? "🔴"
                      : h.stale ? "🟠"
                                : "🟢") +
          " " +
          t(lang, "master.ops.health_line",
            {{"id", desk::number(st.instance_id, lang)},
             {"bot", st.bot_username.empty() ? "-" : "@" + st.bot_username},
             {"customer", desk::number(st.customer_id, lang)},
             {"state", bot_state(lang, st.state)},
             {"heartbeat", st.heartbeat_at ? ago(at - *st.heartbeat_at, lang) : t(lang, "master.ops.never")}});
      if (h.stale) line += " · " + t(lang, "master.ops.stale");
      if (!st.last_error.empty()) {
        line += "\n   " + t(lang, "master.ops.last_error", {{"error", telegram::escape_html(st.last_error)}});
      }
      text += "\n" + line;
    }
    auto kb = desk::keyboard(ctx, lang);
    kb.button("🔄 " + t(lang, "master.ops.refresh"), "ops.health").button(t(lang, "common.back"), "ops.menu");
    turn.answer();
    desk::send(turn.bot, turn.chat_id(), text, std::nullopt, desk::built(kb));
  });

  // ---- the figures ----
  r.on_callback("ops.figures", [&ctx, &options, now, gate, oops](Turn& turn) {
    if (!gate(turn)) return;
    const Lang lang = desk::lang_of(ctx, turn.user_id());
    auto f = compute_figures(*ctx.db, now(), options.deploy_time);
    if (!f) return oops(turn, lang, f.error());
    std::string weeks;
    for (auto n : f->new_per_week) weeks += (weeks.empty() ? "" : " · ") + desk::number(n, lang);
    std::string mrr;
    for (const auto& [currency, minor] : f->mrr_minor) {
      mrr += (mrr.empty() ? "" : " + ") + money_of(currency, minor, lang);
    }
    if (mrr.empty()) mrr = desk::number(0, lang);
    char avg[32];
    std::snprintf(avg, sizeof avg, "%.1f", f->satisfaction.average);
    std::string score = f->satisfaction.ratings == 0
                            ? t(lang, "master.ops.no_ratings")
                            : t(lang, "master.ops.rating",
                                {{"average", lang == Lang::kFa ? i18n::to_persian_digits(avg) : std::string(avg)},
                                 {"count", desk::number(f->satisfaction.ratings, lang)}});
    std::string deploy = f->average_deploy_ms ? t(lang, "master.ops.deploy_time",
                                                  {{"time", duration_ms(*f->average_deploy_ms, lang)},
                                                   {"count", desk::number(f->deployments_timed, lang)}})
                                              : t(lang, "master.ops.no_deploys");
    std::string text = t(lang, "master.ops.figures_text",
                         {{"customers", desk::number(f->customers, lang)},
                          {"weeks", weeks},
                          {"mrr", mrr},
                          {"deploy", deploy},
                          {"satisfaction", score}});
    auto kb = desk::keyboard(ctx, lang);
    kb.button(t(lang, "common.back"), "ops.menu");
    turn.answer();
    turn.reply(std::move(text), desk::built(kb));
  });
}

}  // namespace ms::master
