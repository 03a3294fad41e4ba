// The admins' catalog side, part two: discount codes (percent or fixed, usage limits, expiry,
// optionally one plan) and payment methods (card-to-card with its card, Telegram Stars; the
// gateways' state, whose secrets are set from the web panel, never typed into Telegram).
#include <spdlog/spdlog.h>

#include "domain/enum_names.hpp"
#include "bots/shop/admin_catalog_internal.hpp"

namespace ms::shop {

namespace {

using admin::json;

constexpr std::string_view kGateways[] = {"nowpayments", "zarinpal", "stripe", "paypal"};

// Codes people type: letters, digits, '-' and '_'.
std::optional<json> read_code(Turn& turn) {
  auto code = admin::trimmed(turn.text());
  if (code.size() < 3 || code.size() > 32) return std::nullopt;
  for (char c : code) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return std::nullopt;
  }
  return json(code);
}

// "4 digits ... 4 digits": what is shown of a card number in lists.
std::string masked(const std::string& card) {
  if (card.size() < 8) return card;
  return card.substr(0, 4) + "…" + card.substr(card.size() - 4);
}

}  // namespace

void ShopBot::Impl::register_admin_shop(telegram::Router& r) {
  // ---- discount codes ----
  r.on_callback("a_disc", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto rows = deps.db->with_session([](storage::Session& s) {
      return s.query(
          "SELECT id, code, percent, amount_minor, currency, max_uses, used_count, per_user_limit, expires_at, active, "
          "plan_id FROM discount_codes ORDER BY active DESC, id DESC LIMIT 30");
    });
    if (!rows) return oops(turn, lang, rows.error());
    std::string text = "🎟 " + t(lang, "shop.admin.discounts") + "\n";
    if (rows->empty()) text += "\n" + t(lang, "shop.admin.disc.none");
    auto kb = keyboard(lang);
    for (const auto& row : *rows) {
      std::string value;
      if (auto percent = row.opt_int("percent")) {
        value = number(*percent, lang) + "%";
      } else {
        auto cur = currency_from_code(row.opt_string("currency").value_or("")).value_or(settings().currency);
        value = money(Money{row.get_int("amount_minor"), cur}, lang);
      }
      const auto max = row.opt_int("max_uses");
      std::string line = t(lang, "shop.admin.disc.line",
                           {{"code", row.get_string("code")},
                            {"value", value},
                            {"used", number(row.get_int("used_count"), lang)},
                            {"max", max ? number(*max, lang) : "∞"},
                            {"per_user", number(row.get_int("per_user_limit"), lang)}});
      if (auto exp = row.opt_int("expires_at"))
        line += " · " + t(lang, "shop.admin.disc.until", {{"date", date(*exp, lang)}});
      if (!row.get_bool("active")) line = "⛔ " + line;
      text += "\n" + line;
      if (row.get_bool("active")) {
        kb.button("⛔ " + t(lang, "shop.admin.disc.deactivate", {{"code", row.get_string("code")}}), "a_dcoff",
                  {row.get_int("id")})
            .row();
      }
    }
    kb.button("➕ " + t(lang, "shop.admin.disc.add"), "a_dcadd").row();
    kb.button(t(lang, "common.back"), "admin");
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });

  r.on_callback("a_dcoff", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto id = turn.callback()->int_at(0);
    if (!id) return turn.answer();
    auto n = deps.db->with_session([&](storage::Session& s) {
      return s.exec("UPDATE discount_codes SET active = 0 WHERE id = :id", {{"id", *id}});
    });
    if (!n) return oops(turn, lang, n.error());
    auto kb = keyboard(lang);
    kb.button(t(lang, "common.back"), "a_disc");
    turn.answer();
    turn.edit(t(lang, "shop.admin.disc.deactivated"), built(kb));
  });

  r.on_callback("a_dcadd", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    start_form(turn, admin_lang(turn.user_id()), "disc");
  });

  admin_forms["disc"] = AdminForm{
      {{"code", "shop.admin.disc.ask_code", read_code, "shop.admin.disc.bad_code"},
       {"value", "shop.admin.disc.ask_value",
        [this](Turn& turn) -> std::optional<json> {
          auto text = i18n::normalize_digits(admin::trimmed(turn.text()));
          const bool latin = text.ends_with('%'), persian = text.ends_with("٪");
          if (latin || persian) {
            text.resize(text.size() - (latin ? 1 : std::string_view("٪").size()));
            auto p = i18n::parse_int(text);
            if (!p || *p < 1 || *p > 100) return std::nullopt;
            return json{{"percent", *p}};
          }
          auto m = i18n::parse_money(text, settings().currency);
          if (!m || m->minor <= 0) return std::nullopt;
          return json{{"amount", m->minor}, {"currency", std::string(currency_code(m->currency))}};
        },
        "shop.admin.disc.bad_value"},
       {"max_uses", "shop.admin.disc.ask_max_uses", admin::int_reader(0, 1'000'000'000)},
       {"per_user", "shop.admin.disc.ask_per_user", admin::int_reader(1, 1'000'000)},
       {"days", "shop.admin.disc.ask_days", admin::int_reader(0, 36'500)}},
      "shop.admin.disc.ask_plan",
      [this](Lang lang, const json&) {
        std::vector<AdminChoice> out{{t(lang, "shop.admin.disc.any_plan"), "0"}};
        if (auto plans = store.plans(std::nullopt, "service")) {
          for (const auto& p : *plans) out.push_back({p.name + " · " + money(p.price, lang), std::to_string(p.id)});
        }
        if (auto plans = store.plans(std::nullopt, "traffic")) {
          for (const auto& p : *plans) out.push_back({p.name + " · " + money(p.price, lang), std::to_string(p.id)});
        }
        if (out.size() > 40) out.resize(40);
        return out;
      },
      [this](Turn& turn, Lang lang, const json& v, const json&, const std::string& choice) {
        const auto plan = i18n::parse_int(choice);
        if (!plan) return;
        const auto code = v["code"].get<std::string>();
        const auto& value = v["value"];
        const std::int64_t max_uses = v["max_uses"].get<std::int64_t>();
        const std::int64_t days = v["days"].get<std::int64_t>();
        auto saved = deps.db->with_session([&](storage::Session& s) -> Result<bool> {
          auto taken = s.query_one("SELECT id FROM discount_codes WHERE upper(code) = upper(:c)", {{"c", code}});
          if (!taken) return fail(std::move(taken.error()));
          if (*taken) return false;
          auto n = s.exec(
              "INSERT INTO discount_codes (code, percent, amount_minor, currency, plan_id, max_uses, per_user_limit, "
              "expires_at, active, created_at) VALUES (:code, :percent, :amount, :cur, :plan, :max, :per_user, "
              ":expires, 1, :now)",
              {{"code", code},
               {"percent",
                value.contains("percent") ? storage::Value{value["percent"].get<std::int64_t>()} : storage::Value{}},
               {"amount",
                value.contains("amount") ? storage::Value{value["amount"].get<std::int64_t>()} : storage::Value{}},
               {"cur",
                value.contains("currency") ? storage::Value{value["currency"].get<std::string>()} : storage::Value{}},
               {"plan", *plan > 0 ? storage::Value{*plan} : storage::Value{}},
               {"max", max_uses > 0 ? storage::Value{max_uses} : storage::Value{}},
               {"per_user", v["per_user"].get<std::int64_t>()},
               {"expires", days > 0 ? storage::Value{now() + days * 86'400} : storage::Value{}},
               {"now", now()}});
          if (!n) return fail(std::move(n.error()));
          return true;
        });
        if (!saved) return oops(turn, lang, saved.error());
        if (!*saved) return turn.reply(t(lang, "shop.admin.disc.taken"));
        auto kb = keyboard(lang);
        kb.button(t(lang, "common.back"), "a_disc");
        turn.reply(t(lang, "shop.admin.disc.added", {{"code", code}}), built(kb));
      }};

  // ---- payment methods ----
  r.on_callback("a_pay", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto rows = deps.db->with_session([](storage::Session& s) {
      return s.query("SELECT provider, enabled, config, secret_enc FROM payment_methods");
    });
    if (!rows) return oops(turn, lang, rows.error());
    std::map<std::string, const storage::Row*> by_provider;
    for (const auto& row : *rows) by_provider[row.get_string("provider")] = &row;
    auto state = [&](std::string_view provider) -> std::pair<bool, json> {
      auto it = by_provider.find(std::string(provider));
      if (it == by_provider.end()) return {false, json::object()};
      auto config = json::parse(it->second->get_string("config"), nullptr, false);
      return {it->second->get_bool("enabled"), config.is_object() ? config : json::object()};
    };
    auto on_off = [&](bool on) { return t(lang, on ? "shop.admin.cat.on" : "shop.admin.cat.off"); };
    std::string text = "💳 " + t(lang, "shop.admin.payments") + "\n\n";
    auto [card_on, card] = state("card_to_card");
    const std::string number_text = card.value("card_number", std::string());
    text += t(lang, "shop.admin.pay.card",
              {{"state", on_off(card_on)},
               {"card", number_text.empty() ? "-" : masked(number_text)},
               {"holder", card.value("card_holder", std::string("-"))}}) +
            "\n";
    auto [stars_on, stars] = state("telegram_stars");
    text += t(lang, "shop.admin.pay.stars", {{"state", on_off(stars_on)}}) + "\n";
    for (auto g : kGateways) {
      auto it = by_provider.find(std::string(g));
      const bool configured = it != by_provider.end() && it->second->opt_string("secret_enc").has_value();
      text += "\n• " + t(lang, "shop.method." + std::string(g)) + ": " +
              on_off(it != by_provider.end() && it->second->get_bool("enabled")) + " · " +
              t(lang, configured ? "shop.admin.pay.configured" : "shop.admin.pay.not_configured");
    }
    text += "\n\n" + t(lang, "shop.admin.pay.gateways_web");
    auto kb = keyboard(lang);
    kb.button((card_on ? "✅ " : "☑️ ") + t(lang, "shop.method.card_to_card"), "a_payt",
              {std::string("card_to_card")})
        .button("✏️ " + t(lang, "shop.admin.pay.set_card"), "a_paycd")
        .row();
    kb.button((stars_on ? "✅ " : "☑️ ") + t(lang, "shop.method.telegram_stars"), "a_payt",
              {std::string("telegram_stars")})
        .row();
    kb.button(t(lang, "common.back"), "admin");
    turn.answer();
    turn.edit(std::move(text), built(kb));
  });

  // Card-to-card and Stars on or off (card needs its number first).
  r.on_callback("a_payt", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto provider = turn.callback()->string_at(0);
    if (!provider || (*provider != "card_to_card" && *provider != "telegram_stars")) return turn.answer();
    auto changed = deps.db->transaction([&](storage::Session& s) -> Result<std::optional<bool>> {
      auto row = s.query_one("SELECT enabled, config FROM payment_methods WHERE provider = :p", {{"p", *provider}});
      if (!row) return fail(std::move(row.error()));
      const bool on = *row && (*row)->get_bool("enabled");
      if (!on && *provider == "card_to_card") {
        auto config = json::parse(*row ? (*row)->get_string("config") : "{}", nullptr, false);
        if (!config.is_object() || config.value("card_number", std::string()).empty()) return std::optional<bool>();
      }
      auto n = s.exec(
          "INSERT INTO payment_methods (provider, enabled, config, updated_at) VALUES (:p, :on, :config, :now) "
          "ON CONFLICT (provider) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
          {{"p", *provider}, {"on", std::int64_t{on ? 0 : 1}}, {"config", std::string("{}")}, {"now", now()}});
      if (!n) return fail(std::move(n.error()));
      return std::optional<bool>(!on);
    });
    if (!changed) return oops(turn, lang, changed.error());
    if (!*changed) return turn.answer(t(lang, "shop.admin.pay.card_first"), true);
    if (deps.on_payment_methods_changed) deps.on_payment_methods_changed();
    auto kb = keyboard(lang);
    kb.button(t(lang, "common.back"), "a_pay");
    turn.answer();
    turn.edit(t(lang, **changed ? "shop.admin.pay.enabled" : "shop.admin.pay.disabled",
                {{"method", t(lang, "shop.method." + *provider)}}),
              built(kb));
  });

  r.on_callback("a_paycd", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    start_form(turn, admin_lang(turn.user_id()), "card");
  });

  admin_forms["card"] = AdminForm{
      {{"card_number", "shop.admin.pay.ask_card",
        [](Turn& turn) -> std::optional<json> {
          std::string digits;
          for (char c : i18n::normalize_digits(turn.text())) {
            if (c >= '0' && c <= '9') {
              digits += c;
            } else if (c != ' ' && c != '-' && c != '\n') {
              return std::nullopt;
            }
          }
          if (digits.size() != 16) return std::nullopt;
          return json(digits);
        },
        "shop.admin.pay.bad_card"},
       {"card_holder", "shop.admin.pay.ask_holder", admin::text_reader(2, 64)}},
      "",
      {},
      [this](Turn& turn, Lang lang, const json& v, const json&, const std::string&) {
        const json config = {{"card_number", v["card_number"]}, {"card_holder", v["card_holder"]}};
        auto saved = deps.db->with_session([&](storage::Session& s) {
          return s.exec(
              "INSERT INTO payment_methods (provider, enabled, config, updated_at) VALUES ('card_to_card', 1, :config, "
              ":now) ON CONFLICT (provider) DO UPDATE SET enabled = 1, config = excluded.config, "
              "updated_at = excluded.updated_at",
              {{"config", config.dump()}, {"now", now()}});
        });
        if (!saved) return oops(turn, lang, saved.error());
        if (deps.on_payment_methods_changed) deps.on_payment_methods_changed();
        auto kb = keyboard(lang);
        kb.button(t(lang, "common.back"), "a_pay");
        turn.reply(t(lang, "shop.admin.pay.card_saved",
                     {{"card", v["card_number"].get<std::string>()}, {"holder", v["card_holder"].get<std::string>()}}),
                   built(kb));
      }};
}

}  // namespace ms::shop
