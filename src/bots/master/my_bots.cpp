// "My bots": the customer's shop bots with their state, last heartbeat, uptime, users and
// sales (read from the customer's tenant), and what they may do to each: restart, stop and
// start, a new token, the shop's admins (the tenant's settings, as the shop reads them),
// and delete (confirmed; the data is kept 30 days).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/i18n/digits.hpp"
#include "domain/rules.hpp"
#include "bots/master/master_impl.hpp"
#include "bots/shop/settings.hpp"

namespace ms::master {

namespace {

std::string state_key(domain::BotState s) { return "master.bot.state." + std::string(domain::to_string(s)); }

struct Figures {
  std::int64_t users = 0;
  std::int64_t sales = 0;
  std::optional<Money> revenue;
};

}  // namespace

std::optional<deploy::InstanceStatus> MasterBot::Impl::own_bot(Turn& turn, const CustomerRow& c) {
  if (!ctx.deployments) {
    turn.answer(t(c.lang, "error.unavailable"), true);
    return std::nullopt;
  }
  std::int64_t id = turn.conversation().data.value("instance", std::int64_t{0});
  if (turn.callback()) {
    if (auto v = turn.callback()->int_at(0)) id = *v;
  }
  auto status = id ? ctx.deployments->status(id) : fail(ErrorCode::kNotFound, "no instance");
  if (!status || status->customer_id != c.id || status->state == domain::BotState::kDeleted) {
    turn.answer(t(c.lang, "error.not_found"), true);
    return std::nullopt;
  }
  return *status;
}

void MasterBot::Impl::show_my_bots(Turn& turn, const CustomerRow& c) {
  const Lang lang = c.lang;
  if (!ctx.deployments) return turn.answer(t(lang, "error.unavailable"), true);
  auto bots = ctx.deployments->list(c.id);
  if (!bots) return oops(turn, lang, bots.error());
  auto kb = keyboard(lang);
  int shown = 0;
  for (const auto& b : *bots) {
    if (b.state == domain::BotState::kDeleted) continue;
    kb.button("🤖 @" + b.bot_username + " · " + t(lang, state_key(b.state)), "bot", {b.instance_id}).row();
    ++shown;
  }
  kb.button("➕ " + t(lang, "master.menu.create_bot"), "wz").row().button(t(lang, "common.back"), "menu");
  std::string text = shown ? t(lang, "master.bots.title") : t(lang, "master.bots.none");
  turn.answer();
  if (turn.callback()) {
    turn.edit(std::move(text), built(kb));
  } else {
    turn.reply(std::move(text), built(kb));
  }
}

void MasterBot::Impl::show_bot(Turn& turn, const CustomerRow& c, std::int64_t instance_id, bool edit) {
  const Lang lang = c.lang;
  if (!ctx.deployments) return turn.answer(t(lang, "error.unavailable"), true);
  auto s = ctx.deployments->status(instance_id);
  if (!s || s->customer_id != c.id) return turn.answer(t(lang, "error.not_found"), true);
  Figures f;
  if (c.tenant_id && opt.storage) {
    if (auto db = opt.storage->tenant(*c.tenant_id)) {
      auto read = (*db)->with_session([&](storage::Session& session) -> Result<void> {
        auto users = session.query_one("SELECT count(*) AS n FROM users");
        if (!users) return fail(std::move(users.error()));
        f.users = (*users)->get_int("n");
        auto sales = session.query(
            "SELECT currency, count(*) AS n, coalesce(sum(amount_minor), 0) AS total FROM orders WHERE status = "
            "'completed' GROUP BY currency ORDER BY count(*) DESC");
        if (!sales) return fail(std::move(sales.error()));
        for (const auto& r : *sales) f.sales += r.get_int("n");
        if (!sales->empty()) {
          const auto& r = sales->front();
          if (auto cur = currency_from_code(r.get_string("currency"))) f.revenue = Money{r.get_int("total"), *cur};
        }
        return ok();
      });
      if (!read) spdlog::warn("master bot: figures of tenant {}: {}", *c.tenant_id, read.error().to_string());
    }
  }
  const std::int64_t t_now = now();
  auto ago = [&](std::optional<std::int64_t> at) {
    if (!at) return t(lang, "master.bot.never");
    const std::int64_t secs = std::max<std::int64_t>(0, t_now - *at);
    if (secs < 120) return t(lang, "master.bot.seconds", {{"n", number(secs, lang)}});
    if (secs < 7200) return t(lang, "master.bot.minutes", {{"n", number(secs / 60, lang)}});
    if (secs < 172800) return t(lang, "master.bot.hours", {{"n", number(secs / 3600, lang)}});
    return t(lang, "master.bot.days", {{"n", number(secs / 86400, lang)}});
  };
  const bool running = domain::is_serving(s->state);
  std::string text = t(lang, "master.bot.card",
                       {{"bot", "@" + s->bot_username},
                        {"state", t(lang, state_key(s->state))},
                        {"heartbeat", ago(s->heartbeat_at)},
                        {"uptime", running && s->started_at ? ago(s->started_at) : "-"},
                        {"users", number(f.users, lang)},
                        {"sales", number(f.sales, lang)},
                        {"revenue", f.revenue ? money(*f.revenue, lang) : "-"}});
  // The reason in the owner's language; the English detail stays for operators and logs.
  if (!s->last_error.empty()) text += "\n⚠️ " + t(lang, deploy::failure_key(deploy::failure_of(s->last_error)));
  auto kb = keyboard(lang);
  kb.columns(2);
  kb.button("🔄 " + t(lang, "master.bot.restart"), "bact", {instance_id, std::string("restart")});
  if (running || s->state == domain::BotState::kStarting) {
    kb.button("⏸ " + t(lang, "master.bot.stop"), "bact", {instance_id, std::string("stop")});
  } else {
    kb.button("▶️ " + t(lang, "master.bot.start"), "bact", {instance_id, std::string("start")});
  }
  kb.button("🔑 " + t(lang, "master.bot.token"), "btok", {instance_id});
  kb.button("👥 " + t(lang, "master.bot.admins"), "badm", {instance_id});
  kb.button("🗑 " + t(lang, "master.bot.delete"), "bdel", {instance_id});
  kb.link("💬 " + t(lang, "master.bot.open"), "https://t.me/" + s->bot_username);
  kb.columns(0).row().button(t(lang, "common.back"), "bots");
  turn.answer();
  if (edit && turn.callback()) {
    turn.edit(std::move(text), built(kb));
  } else {
    turn.reply(std::move(text), built(kb));
  }
}

void MasterBot::Impl::show_admins(Turn& turn, const CustomerRow& c, std::int64_t instance_id) {
  const Lang lang = c.lang;
  if (!c.tenant_id || !opt.storage) return turn.answer(t(lang, "master.bot.not_ready"), true);
  auto db = opt.storage->tenant(*c.tenant_id);
  if (!db) return oops(turn, lang, db.error());
  auto settings = shop::load_settings(**db);
  if (!settings) return oops(turn, lang, settings.error());
  std::string text = t(lang, "master.admins.title");
  auto kb = keyboard(lang);
  for (const auto& a : settings->admins) {
    text += "\n• " + std::to_string(a.telegram_id) + " (" +
            t(lang, "shop.admin.role." + std::string(shop::to_string(a.role))) + ")";
    if (a.role != shop::AdminRole::kOwner) {
      kb.button("➖ " + std::to_string(a.telegram_id), "badrm", {instance_id, a.telegram_id}).row();
    }
  }
  kb.button("➕ " + t(lang, "master.admins.add"), "badadd", {instance_id}).row();
  kb.button(t(lang, "common.back"), "bot", {instance_id});
  turn.answer();
  if (turn.callback()) {
    turn.edit(std::move(text), built(kb));
  } else {
    turn.reply(std::move(text), built(kb));
  }
}

void MasterBot::Impl::register_my_bots(telegram::Router& r) {
  auto list = [this](Turn& turn) {
    turn.end();
    if (auto c = gate(turn)) show_my_bots(turn, *c);
  };
  r.on_callback("bots", list);
  r.on_command("mybots", list);
  r.on_callback("bot", [this](Turn& turn) {
    turn.end();
    auto c = gate(turn);
    if (!c) return;
    if (auto b = own_bot(turn, *c)) show_bot(turn, *c, b->instance_id);
  });
  r.on_callback("bact", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto b = own_bot(turn, *c);
    if (!b) return;
    const auto what = turn.callback()->string_at(1).value_or("");
    Result<void> done = fail(ErrorCode::kInvalidArgument, "unknown action");
    if (what == "restart") done = ctx.deployments->restart(b->instance_id);
    if (what == "stop") done = ctx.deployments->stop(b->instance_id);
    if (what == "start") done = ctx.deployments->start(b->instance_id);
    if (!done) {
      spdlog::info("master bot: {} of bot {}: {}", what, b->instance_id, done.error().to_string());
      return turn.answer(t(c->lang, "master.bot.action_failed", {{"why", t(c->lang, deploy::failure_key(deploy::failure_of(done.error())))}}), true);
    }
    turn.answer(t(c->lang, "master.bot.done." + what));
    show_bot(turn, *c, b->instance_id);
  });

  // A new token for the same shop.
  r.on_callback("btok", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto b = own_bot(turn, *c);
    if (!b) return;
    turn.begin("b.token", {{"instance", b->instance_id}});
    auto kb = keyboard(c->lang);
    kb.button(t(c->lang, "common.cancel"), "bot", {b->instance_id});
    turn.answer();
    turn.reply(t(c->lang, "master.bot.token_ask", {{"bot", "@" + b->bot_username}}), built(kb));
  });
  r.on_state("b.token", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto b = own_bot(turn, *c);
    if (!b) return turn.end();
    std::string token(turn.text());
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(token.begin());
    delete_message(turn);
    if (!domain::validate_bot_token(token)) return turn.reply(t(c->lang, "master.wizard.token_format"));
    auto replaced = ctx.deployments->replace_token(b->instance_id, token);
    if (!replaced) {
      const auto code = replaced.error().code;
      if (code == ErrorCode::kAlreadyExists) return turn.reply(t(c->lang, "master.wizard.token_in_use"));
      if (code == ErrorCode::kInvalidArgument || code == ErrorCode::kUnauthenticated)
        return turn.reply(t(c->lang, "master.wizard.token_refused"));
      return oops(turn, c->lang, replaced.error(), "master.bot.action_failed");
    }
    turn.end();
    turn.reply(t(c->lang, "master.bot.token_replaced"));
    show_bot(turn, *c, b->instance_id, false);
  });

  // The shop's admins (its settings in the tenant; the shop reloads them).
  r.on_callback("badm", [this](Turn& turn) {
    turn.end();
    auto c = gate(turn);
    if (!c) return;
    if (auto b = own_bot(turn, *c)) show_admins(turn, *c, b->instance_id);
  });
  auto change_admins = [this](const CustomerRow& c, std::int64_t instance_id,
                              const std::function<void(shop::ShopSettings&)>& change) -> Result<void> {
    if (!c.tenant_id || !opt.storage) return fail(ErrorCode::kUnavailable, "the shop's database is not ready");
    auto db = opt.storage->tenant(*c.tenant_id);
    if (!db) return fail(std::move(db.error()));
    auto settings = shop::load_settings(**db);
    if (!settings) return fail(std::move(settings.error()));
    change(*settings);
    if (auto saved = shop::save_setting(**db, *settings, "admins", now()); !saved) return saved;
    if (opt.on_shop_changed) opt.on_shop_changed(instance_id);
    return ok();
  };
  r.on_callback("badrm", [this, change_admins](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto b = own_bot(turn, *c);
    if (!b) return;
    auto who = turn.callback()->int_at(1);
    if (!who) return turn.answer();
    auto changed = change_admins(*c, b->instance_id, [&](shop::ShopSettings& s) {
      std::erase_if(s.admins,
                    [&](const shop::Admin& a) { return a.telegram_id == *who && a.role != shop::AdminRole::kOwner; });
    });
    if (!changed) return oops(turn, c->lang, changed.error());
    turn.answer(t(c->lang, "master.admins.removed"));
    show_admins(turn, *c, b->instance_id);
  });
  r.on_callback("badadd", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto b = own_bot(turn, *c);
    if (!b) return;
    turn.begin("b.admin", {{"instance", b->instance_id}});
    turn.answer();
    turn.reply(t(c->lang, "master.admins.ask"));
  });
  r.on_state("b.admin", [this, change_admins](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto b = own_bot(turn, *c);
    if (!b) return turn.end();
    auto id = i18n::parse_int(i18n::normalize_digits(turn.text()));
    if (!id || *id <= 0) return turn.reply(t(c->lang, "master.wizard.admins_invalid"));
    auto changed = change_admins(*c, b->instance_id, [&](shop::ShopSettings& s) {
      if (!s.role_of(*id)) s.admins.push_back({*id, shop::AdminRole::kAdmin});
    });
    if (!changed) return oops(turn, c->lang, changed.error());
    turn.end();
    turn.reply(t(c->lang, "master.admins.added", {{"id", std::to_string(*id)}}));
    show_admins(turn, *c, b->instance_id);
  });

  // Delete: asked once more, then Deployments::remove (the data stays 30 days).
  r.on_callback("bdel", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto b = own_bot(turn, *c);
    if (!b) return;
    auto kb = keyboard(c->lang);
    kb.button("🗑 " + t(c->lang, "master.bot.delete_yes"), "bdel2", {b->instance_id})
        .button(t(c->lang, "common.cancel"), "bot", {b->instance_id});
    turn.answer();
    turn.edit(t(c->lang, "master.bot.delete_confirm", {{"bot", "@" + b->bot_username}}), built(kb));
  });
  r.on_callback("bdel2", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto b = own_bot(turn, *c);
    if (!b) return;
    auto removed = ctx.deployments->remove(b->instance_id);
    if (!removed) {
      return turn.answer(t(c->lang, "master.bot.action_failed", {{"why", t(c->lang, deploy::failure_key(deploy::failure_of(removed.error())))}}), true);
    }
    turn.answer(t(c->lang, "master.bot.deleted", {{"bot", "@" + b->bot_username}}), true);
    show_my_bots(turn, *c);
  });
}

}  // namespace ms::master
