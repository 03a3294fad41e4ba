// The admins' catalog side: plans and locations, panels (a new one is probed first),
// discount codes, payment methods and card numbers, the shop's settings and its texts. Only
// the owner and admins (not support) reach it. This file holds the forms every section uses
// (a few questions, one message each), panels and plans; admin_catalog_shop.cpp discounts and
// payment methods; admin_catalog_settings.cpp settings and texts.
#include <spdlog/spdlog.h>

#include "core/i18n/digits.hpp"
#include "http/client.hpp"
#include "panels/marzban/marzban.hpp"
#include "panels/probe.hpp"
#include "bots/shop/admin_catalog_internal.hpp"

namespace ms::shop {

namespace {

using admin::json;

std::string gb_text(std::int64_t bytes) { return i18n::format_size(bytes, false); }

}  // namespace

// ---- forms ---------------------------------------------------------------------------------

void ShopBot::Impl::start_form(Turn& turn, Lang lang, const std::string& form, json context) {
  auto it = admin_forms.find(form);
  if (it == admin_forms.end()) throw std::logic_error("admin form '" + form + "' is not registered");
  turn.begin("a_form", {{"form", form}, {"step", 0}, {"v", json::object()}, {"ctx", std::move(context)}},
             std::chrono::minutes(30));
  turn.answer();
  ask_field(turn, lang, it->second, 0);
}

void ShopBot::Impl::ask_field(Turn& turn, Lang lang, const AdminForm& form, std::size_t step) {
  auto kb = keyboard(lang);
  kb.button(t(lang, "common.cancel"), "admin");
  turn.reply(t(lang, form.fields[step].prompt), built(kb));
}

Result<void> ShopBot::Impl::change_setting(std::string_view key, const std::function<void(ShopSettings&)>& change) {
  auto s = settings();
  change(s);
  if (auto saved = save_setting(*deps.db, s, key, now()); !saved) return saved;
  return load();  // applied at once
}

void ShopBot::Impl::register_admin_catalog(telegram::Router& r) {
  // One answer of a form.
  r.on_state("a_form", [this](Turn& turn) {
    auto role = settings().role_of(turn.user_id());
    auto it = admin_forms.find(turn.data().value("form", std::string()));
    if (!role || it == admin_forms.end() || (*role == AdminRole::kSupport && !it->second.support_ok)) {
      turn.end();
      return;
    }
    const Lang lang = admin_lang(turn.user_id());
    const auto& form = it->second;
    const std::size_t step = turn.data().value("step", std::size_t{0});
    if (step >= form.fields.size()) return turn.end();
    const auto& field = form.fields[step];
    auto value = field.parse(turn);
    if (field.secret && turn.update.message) {
      telegram::DeleteMessage del;
      del.chat_id = turn.chat_id();
      del.message_id = turn.update.message->message_id;
      turn.bot.client().call(del, [](auto) {});
    }
    if (!value) {
      turn.reply(t(lang, field.invalid));
      ask_field(turn, lang, form, step);
      return;
    }
    turn.data()["v"][field.name] = std::move(*value);
    if (step + 1 < form.fields.size()) {
      turn.data()["step"] = step + 1;
      ask_field(turn, lang, form, step + 1);
      return;
    }
    json values = turn.data()["v"];
    json context = turn.data()["ctx"];
    if (!form.choice_prompt.empty()) {
      turn.begin("a_choice", turn.data(), std::chrono::minutes(30));
      auto kb = keyboard(lang);
      for (const auto& c : form.choices(lang, context)) kb.button(c.label, "a_ch", {c.value}).row();
      kb.button(t(lang, "common.cancel"), "admin");
      turn.reply(t(lang, form.choice_prompt), built(kb));
      return;
    }
    turn.end();
    form.done(turn, lang, values, context, "");
  });

  // The button that finishes a form with a choice.
  r.on_callback("a_ch", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto choice = turn.callback()->string_at(0);
    if (turn.conversation().state != "a_choice" || !choice) {
      return turn.answer(t(lang, "error.session_expired"), true);
    }
    auto it = admin_forms.find(turn.data().value("form", std::string()));
    if (it == admin_forms.end()) return turn.end();
    json values = turn.data()["v"];
    json context = turn.data()["ctx"];
    turn.end();
    turn.answer();
    it->second.done(turn, lang, values, context, *choice);
  });

  register_admin_panels(r);
  register_admin_shop(r);
  register_admin_settings(r);
}

// ---- panels and plans ------------------------------------------------------------------------

void ShopBot::Impl::register_admin_panels(telegram::Router& r) {
  // Locations: each panel with its health and plans.
  r.on_callback("a_cat", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto panels = panel_repo.list();
    if (!panels) return oops(turn, lang, panels.error());
    std::string text = "📦 " + t(lang, "shop.admin.catalog") + "\n";
    if (panels->empty()) text += "\n" + t(lang, "shop.admin.panel.none");
    auto kb = keyboard(lang);
    for (const auto& p : *panels) {
      const char* mark = !p.enabled ? "⚪️ " : p.healthy ? "🟢 " : "🔴 ";
      auto count = deps.db->with_session([&](storage::Session& s) {
        return s.query_one("SELECT count(*) AS n FROM plans WHERE panel_id = :p AND active = 1", {{"p", p.id}});
      });
      const std::int64_t plans = count && *count ? (*count)->get_int("n") : 0;
      text +=
          "\n" + std::string(mark) + p.name + " · " + t(lang, "shop.admin.panel.plans", {{"n", number(plans, lang)}});
      kb.button(std::string(mark) + p.name, "a_pn", {p.id}).row();
    }
    kb.button("➕ " + t(lang, "shop.admin.panel.add"), "a_pnadd").row();
    kb.button(t(lang, "common.back"), "admin");
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });

  // One panel: its state and its plans (active or not).
  r.on_callback("a_pn", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    auto p = panel_repo.get(*id);
    if (!p) return oops(turn, lang, p.error());
    if (!*p) return turn.answer(t(lang, "error.not_found"), true);
    const auto& pr = **p;
    auto origin = http::loggable_origin(pr.base_url);
    std::string text = t(lang, "shop.admin.panel.detail",
                         {{"name", pr.name},
                          {"url", origin ? *origin : std::string()},
                          {"state", t(lang, !pr.enabled  ? "shop.admin.panel.disabled"
                                            : pr.healthy ? "shop.admin.panel.healthy"
                                                         : "shop.admin.panel.down")},
                          {"version", pr.version.empty() ? "-" : pr.version}});
    if (!pr.last_error.empty() && !pr.healthy) text += "\n⚠️ " + pr.last_error;
    auto plans = deps.db->with_session([&](storage::Session& s) {
      return s.query(
          "SELECT id, name, price_minor, currency, active, kind FROM plans WHERE panel_id = :p ORDER BY sort_order, "
          "id",
          {{"p", pr.id}});
    });
    if (!plans) return oops(turn, lang, plans.error());
    auto kb = keyboard(lang);
    for (const auto& row : *plans) {
      const Money price{row.get_int("price_minor"),
                        currency_from_code(row.get_string("currency")).value_or(Currency::kIrr)};
      kb.button(std::string(row.get_bool("active") ? "" : "⛔ ") + (row.get_string("kind") == "traffic" ? "➕ " : "") +
                    row.get_string("name") + " · " + money(price, lang),
                "a_pl", {row.get_int("id")})
          .row();
    }
    kb.button("➕ " + t(lang, "shop.admin.plan.add"), "a_pladd", {pr.id}).row();
    kb.button(t(lang, pr.enabled ? "shop.admin.panel.disable" : "shop.admin.panel.enable"), "a_pnen", {pr.id})
        .button("🩺 " + t(lang, "shop.admin.panel.check"), "a_pnchk", {pr.id})
        .row();
    kb.button(t(lang, "common.back"), "a_cat");
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });

  r.on_callback("a_pnen", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    auto n = deps.db->with_session([&](storage::Session& s) {
      return s.exec("UPDATE panels SET enabled = 1 - enabled, updated_at = :now WHERE id = :id",
                    {{"now", now()}, {"id", *id}});
    });
    if (!n) return oops(turn, lang, n.error());
    auto p = panel_repo.get(*id);
    const bool on = p && *p && (*p)->enabled;
    turn.answer(t(lang, on ? "shop.admin.panel.enabled" : "shop.admin.panel.disabled_now"), true);
    auto kb = keyboard(lang);
    kb.button(t(lang, "common.back"), "a_pn", {*id});
    turn.edit(t(lang, on ? "shop.admin.panel.enabled" : "shop.admin.panel.disabled_now"), built(kb));
  });

  // Health check now: a panel that answers is offered for sale again.
  r.on_callback("a_pnchk", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    auto pl = panel(*id);
    if (!pl) return oops(turn, lang, pl.error());
    auto stats = (*pl)->check_health();
    (void)panel_repo.record_health(*id, (*pl)->health(), now());
    if (!stats) {
      return turn.answer(t(lang, stats.error().message_key(), {{"detail", stats.error().detail}}), true);
    }
    turn.answer(t(lang, "shop.admin.panel.healthy"), true);
  });

  // Adding a panel: name, URL, username, password; then the probe decides.
  r.on_callback("a_pnadd", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    if (deps.max_panels) {
      auto all = panel_repo.list();
      if (!all) return oops(turn, lang, all.error());
      if (static_cast<std::int64_t>(all->size()) >= *deps.max_panels) {
        turn.answer();
        return turn.reply(
            t(lang, "limit.panels", {{"package", deps.package_name}, {"limit", number(*deps.max_panels, lang)}}));
      }
    }
    start_form(turn, lang, "panel");
  });

  admin_forms["panel"] = AdminForm{
      {{"name", "shop.admin.panel.ask_name", admin::text_reader(1, 64)},
       {"url", "shop.admin.panel.ask_url",
        [](Turn& turn) -> std::optional<json> {
          auto url = panels::MarzbanPanel::normalize_url(admin::trimmed(turn.text()));
          if (!url) return std::nullopt;
          return json(*url);
        },
        "shop.admin.panel.bad_url"},
       {"username", "shop.admin.panel.ask_username", admin::text_reader(1, 128)},
       {"password", "shop.admin.panel.ask_password", admin::text_reader(1, 256), "shop.admin.form.invalid", true}},
      "",
      {},
      [this](Turn& turn, Lang lang, const json& v, const json&, const std::string&) {
        // The limit again: another admin may have added one meanwhile.
        auto all = panel_repo.list();
        if (!all) return oops(turn, lang, all.error());
        if (deps.max_panels && static_cast<std::int64_t>(all->size()) >= *deps.max_panels) {
          return turn.reply(
              t(lang, "limit.panels", {{"package", deps.package_name}, {"limit", number(*deps.max_panels, lang)}}));
        }
        const auto name = v["name"].get<std::string>();
        for (const auto& p : *all) {
          if (p.name == name) return turn.reply(t(lang, "shop.admin.panel.name_taken"));
        }
        turn.reply(t(lang, "shop.admin.panel.probing"));
        panels::MarzbanOptions mo;
        mo.base_url = v["url"].get<std::string>();
        mo.username = v["username"].get<std::string>();
        mo.password = crypto::Secret(v["password"].get<std::string>());
        mo.timeout = std::chrono::seconds(10);
        mo.attempts = 1;
        mo.failures_before_down = 1'000;  // the probe reports each step; it never stops early
        mo.clock = deps.clock;
        panels::MarzbanPanel probe_panel(*deps.http, mo);
        panels::ProbeOptions po;
        po.clock = deps.clock;
        auto report = panels::run_probe(
            probe_panel, [&] { return probe_panel.login(); }, po);
        if (!report.ok) {
          std::string reason;
          std::string step;
          for (const auto& s : report.steps) {
            if (!s.ok && s.error) {
              step = s.name;
              reason = t(lang, s.error->message_key(), {{"detail", s.error->detail}});
              break;
            }
          }
          spdlog::info("shop t{}: panel '{}' refused by the probe at {}", deps.tenant_id, name, step);
          auto kb = keyboard(lang);
          kb.button("🔁 " + t(lang, "shop.admin.panel.add"), "a_pnadd").button(t(lang, "common.back"), "a_cat");
          return turn.reply(t(lang, "shop.admin.panel.probe_failed", {{"step", step}, {"reason", reason}}), built(kb));
        }
        panels::PanelRecord pr;
        pr.name = name;
        pr.base_url = mo.base_url;
        pr.username = mo.username;
        pr.password = mo.password;
        auto id = panel_repo.insert(pr, now());
        if (!id) {
          if (id.error().code == ErrorCode::kAlreadyExists) return turn.reply(t(lang, "shop.admin.panel.name_taken"));
          return oops(turn, lang, id.error());
        }
        panels::HealthState h;
        h.version = report.version;
        (void)panel_repo.record_health(*id, h, now());
        auto kb = keyboard(lang);
        kb.button("➕ " + t(lang, "shop.admin.plan.add"), "a_pladd", {*id})
            .row()
            .button(t(lang, "common.back"), "a_cat");
        turn.reply(t(lang, "shop.admin.panel.added",
                     {{"name", name},
                      {"version", report.version.empty() ? "-" : report.version},
                      {"ms", number(report.total_ms, lang)}}),
                   built(kb));
      }};

  // ---- plans ----
  r.on_callback("a_pl", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    auto row = deps.db->with_session([&](storage::Session& s) {
      return s.query_one("SELECT sort_order FROM plans WHERE id = :id", {{"id", *id}});
    });
    auto plan = store.plan(*id);
    if (!plan || !row) return oops(turn, lang, !plan ? plan.error() : row.error());
    if (!*plan || !*row) return turn.answer(t(lang, "error.not_found"), true);
    const auto& pl = **plan;
    std::string text = t(lang, "shop.admin.plan.detail",
                         {{"name", pl.name},
                          {"days", number(pl.duration_days, lang)},
                          {"traffic", pl.traffic_bytes ? bytes(*pl.traffic_bytes, lang) : t(lang, "shop.unlimited")},
                          {"price", money(pl.price, lang)},
                          {"kind", t(lang, "shop.admin.plan.kind." + pl.kind)},
                          {"state", t(lang, pl.active ? "shop.admin.cat.active" : "shop.admin.cat.inactive")},
                          {"sort", number((*row)->get_int("sort_order"), lang)},
                          {"description", pl.description.empty() ? "-" : pl.description}});
    auto kb = keyboard(lang);
    kb.button("💰 " + t(lang, "shop.admin.plan.edit_price"), "a_plpr", {pl.id})
        .button("↕️ " + t(lang, "shop.admin.plan.edit_sort"), "a_plso", {pl.id})
        .row();
    kb.button(t(lang, pl.active ? "shop.admin.plan.deactivate" : "shop.admin.plan.activate"), "a_plact", {pl.id}).row();
    if (pl.panel_id) {
      kb.button(t(lang, "common.back"), "a_pn", {*pl.panel_id});
    } else {
      kb.button(t(lang, "common.back"), "a_cat");
    }
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });

  // A plan is never deleted (orders point at it): it stops being sold.
  r.on_callback("a_plact", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    auto n = deps.db->with_session([&](storage::Session& s) {
      return s.exec("UPDATE plans SET active = 1 - active, updated_at = :now WHERE id = :id",
                    {{"now", now()}, {"id", *id}});
    });
    if (!n) return oops(turn, lang, n.error());
    auto plan = store.plan(*id);
    const bool on = plan && *plan && (*plan)->active;
    auto kb = keyboard(lang);
    kb.button(t(lang, "common.back"), "a_pl", {*id});
    turn.answer();
    turn.edit(t(lang, on ? "shop.admin.plan.activated" : "shop.admin.plan.deactivated"), built(kb));
  });

  r.on_callback("a_plpr", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    start_form(turn, admin_lang(turn.user_id()), "plan_price", {{"plan", *id}});
  });
  r.on_callback("a_plso", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    start_form(turn, admin_lang(turn.user_id()), "plan_sort", {{"plan", *id}});
  });

  // Prices are typed in the shop's currency (Toman for Rial).
  auto price_reader = [this](Turn& turn) { return admin::money_reader(settings().currency)(turn); };

  auto plan_update = [this](Turn& turn, Lang lang, std::int64_t plan_id, const std::string& column,
                            std::int64_t value) {
    auto n = deps.db->with_session([&](storage::Session& s) {
      return s.exec("UPDATE plans SET " + column + " = :v, updated_at = :now WHERE id = :id",
                    {{"v", value}, {"now", now()}, {"id", plan_id}});
    });
    if (!n) return oops(turn, lang, n.error());
    auto kb = keyboard(lang);
    kb.button(t(lang, "common.back"), "a_pl", {plan_id});
    turn.reply(t(lang, "shop.admin.cat.saved"), built(kb));
  };
  admin_forms["plan_price"] = AdminForm{
      {{"price", "shop.admin.plan.ask_price", price_reader, "shop.admin.form.bad_amount"}},
      "",
      {},
      [plan_update](Turn& turn, Lang lang, const json& v, const json& ctx, const std::string&) {
        plan_update(turn, lang, ctx["plan"].get<std::int64_t>(), "price_minor", v["price"].get<std::int64_t>());
      }};
  admin_forms["plan_sort"] =
      AdminForm{{{"sort", "shop.admin.plan.ask_sort", admin::int_reader(-1'000'000, 1'000'000)}},
                "",
                {},
                [plan_update](Turn& turn, Lang lang, const json& v, const json& ctx, const std::string&) {
                  plan_update(turn, lang, ctx["plan"].get<std::int64_t>(), "sort_order", v["sort"].get<std::int64_t>());
                }};

  r.on_callback("a_pladd", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    start_form(turn, admin_lang(turn.user_id()), "plan", {{"panel", *id}});
  });

  admin_forms["plan"] = AdminForm{
      {{"name", "shop.admin.plan.ask_name", admin::text_reader(1, 48)},
       {"days", "shop.admin.plan.ask_days", admin::int_reader(1, 3650)},
       {"traffic", "shop.admin.plan.ask_traffic", admin::gb_reader(true)},
       {"price", "shop.admin.plan.ask_price", price_reader, "shop.admin.form.bad_amount"},
       {"description", "shop.admin.plan.ask_description", admin::text_reader(1, 500, true)}},
      "shop.admin.plan.ask_kind",
      [this](Lang lang, const json&) {
        return std::vector<AdminChoice>{{t(lang, "shop.admin.plan.kind.service"), "service"},
                                        {t(lang, "shop.admin.plan.kind.traffic"), "traffic"}};
      },
      [this](Turn& turn, Lang lang, const json& v, const json& ctx, const std::string& kind) {
        if (kind != "service" && kind != "traffic") return;
        const std::int64_t traffic = v["traffic"].get<std::int64_t>();
        if (kind == "traffic" && traffic == 0) return turn.reply(t(lang, "shop.admin.plan.traffic_needs_size"));
        const std::int64_t panel_id = ctx["panel"].get<std::int64_t>();
        auto id = deps.db->with_session([&](storage::Session& s) -> Result<std::int64_t> {
          auto row = s.query_one(
              "INSERT INTO plans (name, panel_id, duration_days, traffic_bytes, price_minor, currency, description, "
              "kind, sort_order, created_at, updated_at) VALUES (:name, :panel, :days, :traffic, :price, :cur, :desc, "
              ":kind, (SELECT coalesce(max(sort_order), 0) + 1 FROM plans WHERE panel_id = :panel), :now, :now) "
              "RETURNING id",
              {{"name", v["name"].get<std::string>()},
               {"panel", panel_id},
               {"days", v["days"].get<std::int64_t>()},
               {"traffic", traffic > 0 ? storage::Value{traffic} : storage::Value{}},
               {"price", v["price"].get<std::int64_t>()},
               {"cur", std::string(currency_code(settings().currency))},
               {"desc", v["description"].get<std::string>()},
               {"kind", kind},
               {"now", now()}});
          if (!row) return fail(std::move(row.error()));
          if (!*row) return fail(ErrorCode::kInternal, "INSERT ... RETURNING returned no row");
          return (*row)->get_int("id");
        });
        if (!id) return oops(turn, lang, id.error());
        auto kb = keyboard(lang);
        kb.button("➕ " + t(lang, "shop.admin.plan.add"), "a_pladd", {panel_id})
            .button(t(lang, "common.back"), "a_pn", {panel_id});
        turn.reply(t(lang, "shop.admin.plan.added",
                     {{"name", v["name"].get<std::string>()},
                      {"traffic", traffic ? gb_text(traffic) : t(lang, "shop.unlimited")},
                      {"days", number(v["days"].get<std::int64_t>(), lang)},
                      {"price", money(Money{v["price"].get<std::int64_t>(), settings().currency}, lang)}}),
                   built(kb));
      }};
}

}  // namespace ms::shop
