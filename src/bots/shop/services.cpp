// "My services": each service with its live status, used/total traffic with a bar, days
// left and end date, link and QR; renew (same or another plan), add traffic, a new link
// (the old one stops working), auto-renew from the wallet on/off.
#include <spdlog/spdlog.h>

#include "core/i18n/digits.hpp"
#include "bots/shop/qr.hpp"
#include "bots/shop/shop_impl.hpp"

namespace ms::shop {

namespace {

std::string status_key(const std::string& status) { return "shop.status." + status; }

}  // namespace

std::optional<ServiceRow> ShopBot::Impl::own_service(Turn& turn, const Person& p) {
  auto id = turn.callback() ? turn.callback()->int_at(0) : Result<std::int64_t>(fail(ErrorCode::kNotFound, ""));
  if (!id) {
    turn.answer();
    return std::nullopt;
  }
  auto service = store.service(*id);
  if (!service || !*service || (*service)->user_id != p.id) {
    turn.answer(t(p.lang, "error.not_found"), true);
    return std::nullopt;
  }
  return **service;
}

void ShopBot::Impl::register_services(telegram::Router& r) {
  r.on_callback("svcs", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto services = store.services_of(p->id);
    if (!services) return oops(turn, p->lang, services.error());
    auto kb = keyboard(p->lang);
    if (services->empty()) {
      kb.button("🛒 " + t(p->lang, "menu.buy"), "buy").row().button(t(p->lang, "common.back"), "menu");
      turn.answer();
      turn.edit(t(p->lang, "shop.services.none"), built(kb));
      return;
    }
    for (const auto& s : *services) {
      kb.button(
            (s.status == "active" ? "🟢 " : "⚪️ ") + s.panel_username + " · " + t(p->lang, status_key(s.status)),
            "svc", {s.id})
          .row();
    }
    kb.button(t(p->lang, "common.back"), "menu");
    turn.answer();
    turn.edit(t(p->lang, "shop.services.title"), built(kb));
  });

  r.on_callback("svc", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto s = own_service(turn, *p);
    if (!s) return;
    // What the panel says now; the stored row is the fallback when it cannot be reached.
    if (auto pl = panel(s->panel_id)) {
      if (auto a = (*pl)->get(s->panel_username)) {
        // limited and on hold stay "active" here: the bar and the dates say the rest.
        const std::string status = a->status == panels::AccountStatus::kExpired    ? "expired"
                                   : a->status == panels::AccountStatus::kDisabled ? "disabled"
                                                                                   : "active";
        const auto limit = a->data_limit_bytes > 0 ? std::optional(a->data_limit_bytes) : std::nullopt;
        const auto expires = a->expire_at > 0 ? std::optional(a->expire_at) : std::nullopt;
        const std::string& url = a->subscription_url.empty() ? s->subscription_url : a->subscription_url;
        // A person opening the same service again mostly finds it as it was: no write then
        // (every write waits for the tenant database's one writer).
        const bool same = limit == s->traffic_limit_bytes && a->used_bytes == s->traffic_used_bytes &&
                          expires == s->expires_at && status == s->status && url == s->subscription_url;
        if (!same) {
          (void)store.update_service(s->id, limit, a->used_bytes, expires, status, url, now());
          if (auto fresh = store.service(s->id); fresh && *fresh) s = **fresh;
        }
      }
    }
    const Lang lang = p->lang;
    std::string traffic;
    if (s->traffic_limit_bytes && *s->traffic_limit_bytes > 0) {
      const double used = static_cast<double>(s->traffic_used_bytes) / static_cast<double>(*s->traffic_limit_bytes);
      traffic = telegram::progress_bar(used) + " " +
                t(lang, "shop.services.used",
                  {{"used", bytes(s->traffic_used_bytes, lang)}, {"total", bytes(*s->traffic_limit_bytes, lang)}});
    } else {
      traffic = t(lang, "shop.services.used",
                  {{"used", bytes(s->traffic_used_bytes, lang)}, {"total", t(lang, "shop.unlimited")}});
    }
    std::string left = t(lang, "shop.unlimited");
    std::string end = left;
    if (s->expires_at) {
      const std::int64_t days = std::max<std::int64_t>(0, (*s->expires_at - now() + 86'399) / 86'400);
      left = number(days, lang);
      end = date(*s->expires_at, lang);
    }
    std::string text = t(lang, "shop.services.detail",
                         {{"name", s->panel_username},
                          {"status", t(lang, status_key(s->status))},
                          {"traffic", traffic},
                          {"days", left},
                          {"date", end},
                          {"link", telegram::escape_html(s->subscription_url)}});
    auto kb = keyboard(lang);
    kb.button("🔳 " + t(lang, "shop.services.qr"), "sqr", {s->id})
        .button("🔄 " + t(lang, "shop.services.renew"), "ren", {s->id})
        .row();
    kb.button("➕ " + t(lang, "shop.services.traffic"), "trf", {s->id})
        .button("🔗 " + t(lang, "shop.services.new_link"), "rvk", {s->id})
        .row();
    kb.button((s->auto_renew ? "✅ " : "☑️ ") + t(lang, "shop.services.auto_renew"), "ar", {s->id}).row();
    kb.button(t(lang, "common.back"), "svcs");
    turn.answer();
    turn.edit(std::move(text), built(kb), true);
  });

  r.on_callback("sqr", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto s = own_service(turn, *p);
    if (!s) return;
    auto png = qr_png(s->subscription_url);
    if (!png) return oops(turn, p->lang, png.error());
    telegram::SendPhoto photo;
    photo.chat_id = turn.chat_id();
    photo.photo = telegram::InputFile::from_bytes(std::move(*png), "qr.png", "image/png");
    photo.caption = s->panel_username;
    turn.answer();
    turn.bot.send(photo);
  });

  // Renew with a service plan, or add traffic with a traffic plan, on the service's panel.
  auto choose = [this](Turn& turn, std::string_view kind) {
    auto p = gate(turn);
    if (!p) return;
    auto s = own_service(turn, *p);
    if (!s) return;
    auto plans = store.plans(s->panel_id, kind);
    if (!plans) return oops(turn, p->lang, plans.error());
    if (plans->empty()) return turn.answer(t(p->lang, "shop.services.no_plans"), true);
    auto kb = keyboard(p->lang);
    for (const auto& plan : *plans) {
      kb.button(plan.name + " · " + money(plan.price, p->lang), "renp", {s->id, plan.id}).row();
    }
    kb.button(t(p->lang, "common.back"), "svc", {s->id});
    turn.answer();
    turn.edit(t(p->lang, kind == "traffic" ? "shop.services.choose_traffic" : "shop.services.choose_renewal"),
              built(kb));
  };
  r.on_callback("ren", [choose](Turn& turn) { choose(turn, "service"); });
  r.on_callback("trf", [choose](Turn& turn) { choose(turn, "traffic"); });

  r.on_callback("renp", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto s = own_service(turn, *p);
    if (!s) return;
    auto plan_id = turn.callback()->int_at(1);
    if (!plan_id) return turn.answer();
    auto plan = store.plan(*plan_id);
    if (!plan || !*plan || !(*plan)->active || (*plan)->panel_id != s->panel_id) {
      return turn.answer(t(p->lang, "error.not_found"), true);
    }
    OrderRow o;
    o.user_id = p->id;
    o.plan_id = (*plan)->id;
    o.service_id = s->id;
    o.kind = (*plan)->kind == "traffic" ? "traffic" : "renew";
    o.amount = (*plan)->price;
    auto id = store.create_order(o, now());
    if (!id) return oops(turn, p->lang, id.error());
    show_order(turn, *p, *id);
  });

  r.on_callback("rvk", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto s = own_service(turn, *p);
    if (!s) return;
    auto kb = keyboard(p->lang);
    kb.button(t(p->lang, "common.yes"), "rvk2", {s->id}).button(t(p->lang, "common.no"), "svc", {s->id});
    turn.answer();
    turn.edit(t(p->lang, "shop.services.new_link_confirm"), built(kb));
  });

  r.on_callback("rvk2", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto s = own_service(turn, *p);
    if (!s) return;
    auto pl = panel(s->panel_id);
    if (!pl) return oops(turn, p->lang, pl.error(), "error.unavailable");
    auto a = (*pl)->revoke_link(s->panel_username);
    if (!a) return oops(turn, p->lang, Error{ErrorCode::kUnavailable, a.error().describe()}, "error.unavailable");
    (void)store.update_service(s->id, s->traffic_limit_bytes, a->used_bytes, s->expires_at, s->status,
                               a->subscription_url, now());
    s->subscription_url = a->subscription_url;
    turn.answer();
    if (auto sent = deliver(*p, *s, "shop.deliver.new_link"); !sent) {
      spdlog::warn("shop t{}: new link for service {} not sent: {}", deps.tenant_id, s->id, sent.error().to_string());
    }
  });

  r.on_callback("ar", [this](Turn& turn) {
    auto p = gate(turn);
    if (!p) return;
    auto s = own_service(turn, *p);
    if (!s) return;
    if (auto saved = store.set_auto_renew(s->id, !s->auto_renew, now()); !saved)
      return oops(turn, p->lang, saved.error());
    turn.answer(t(p->lang, s->auto_renew ? "shop.services.auto_renew_off" : "shop.services.auto_renew_on"), true);
    auto kb = keyboard(p->lang);
    kb.button(t(p->lang, "common.back"), "svc", {s->id});
    turn.edit(t(p->lang, s->auto_renew ? "shop.services.auto_renew_off" : "shop.services.auto_renew_on"), built(kb));
  });
}

}  // namespace ms::shop
