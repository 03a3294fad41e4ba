// After payment: a paid order is provisioned on its panel (or its service renewed), the
// person gets their link and QR code, the referrer their reward, the discount its use; a
// panel that keeps failing refunds the order to the wallet and the owner is told. Every step
// is keyed on the order's status (moved conditionally), so a crash or a second dispatcher
// resumes instead of repeating.
#include <spdlog/spdlog.h>

#include "panels/provision.hpp"
#include "payments/ledger.hpp"
#include "bots/shop/qr.hpp"
#include "bots/shop/shop_impl.hpp"

namespace ms::shop {

namespace {

constexpr int kProvisionAttempts = 3;  // transient panel failures before the order is refunded

bool transient(ErrorCode code) { return code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout; }

// The protocols and inbound tags a plan sells; {} means every inbound the panel has.
Result<panels::InboundSelection> inbounds_for(const Plan* plan, panels::Panel& panel) {
  panels::InboundSelection out;
  if (plan) {
    auto j = nlohmann::json::parse(plan->inbounds_json, nullptr, false);
    if (j.is_object()) {
      for (const auto& [name, tags] : j.items()) {
        auto protocol = panels::parse_protocol(name);
        if (!protocol || !tags.is_array()) continue;
        auto& list = out[*protocol];
        for (const auto& tag : tags) {
          if (tag.is_string()) list.push_back(tag.get<std::string>());
        }
      }
    }
  }
  if (!out.empty()) return out;
  auto all = panel.inbounds();
  if (!all) return fail(ErrorCode::kUnavailable, all.error().describe());
  for (const auto& in : *all) out[in.protocol];  // every inbound of each protocol
  if (out.empty()) return fail(ErrorCode::kInvalidArgument, "the panel has no inbounds");
  return out;
}

Error panel_error(const panels::PanelError& e) {
  using K = panels::PanelErrorKind;
  switch (e.kind) {
    case K::kBadRequest:
    case K::kValidation:
    case K::kNotFound:
    case K::kConflict: return Error{ErrorCode::kInvalidArgument, e.describe()};
    default: return Error{ErrorCode::kUnavailable, e.describe()};
  }
}

}  // namespace

Result<void> ShopBot::Impl::send_to(std::int64_t chat_id, std::string text,
                                    std::optional<telegram::ReplyMarkup> markup) {
  auto ctx = deps.runtime ? deps.runtime->context(deps.bot_key) : nullptr;
  if (!ctx) return fail(ErrorCode::kUnavailable, "the shop bot is not running");
  for (auto& part : telegram::split_message(text)) {
    telegram::SendMessage m;
    m.chat_id = chat_id;
    m.text = std::move(part);
    m.parse_mode = "HTML";
    m.disable_link_preview = true;
    m.reply_markup = markup;
    auto sent = ctx->send_sync(m);
    if (!sent) {
      if (telegram::is_unreachable_user(sent.error())) {
        (void)store.set_blocked_by_telegram(chat_id, true, now());
        return ok();  // nobody to tell; marked so broadcasts skip them
      }
      return fail(ErrorCode::kUnavailable, sent.error().to_string());
    }
  }
  return ok();
}

Result<void> ShopBot::Impl::notify_owner(const std::string& key, const i18n::Args& args) {
  Result<void> last = ok();
  for (const auto& admin : settings().admins) {
    if (admin.role == AdminRole::kSupport) continue;
    auto r = send_to(admin.telegram_id, t(admin_lang(admin.telegram_id), key, args));
    if (!r) last = r;
  }
  return last;
}

Result<void> ShopBot::Impl::deliver(const Person& p, const ServiceRow& service, std::string_view headline_key) {
  const Lang lang = p.lang;
  std::string text = t(lang, headline_key, {{"service", service.panel_username}}) + "\n\n";
  text += t(lang, "shop.deliver.details",
            {{"traffic", service.traffic_limit_bytes && *service.traffic_limit_bytes > 0
                             ? bytes(*service.traffic_limit_bytes, lang)
                             : t(lang, "shop.unlimited")},
             {"date", service.expires_at ? date(*service.expires_at, lang) : t(lang, "shop.unlimited")}});
  text +=
      "\n\n<code>" + telegram::escape_html(service.subscription_url) + "</code>\n\n" + t(lang, "shop.deliver.guide");
  auto kb = keyboard(lang);
  kb.button("📦 " + t(lang, "menu.my_services"), "svc", {service.id}).button("🏠 " + t(lang, "menu.main"), "menu");
  if (auto sent = send_to(p.telegram_id, text, built(kb)); !sent) return sent;
  // The QR code of the link, as a picture to scan from another phone.
  auto png = qr_png(service.subscription_url);
  auto ctx = deps.runtime ? deps.runtime->context(deps.bot_key) : nullptr;
  if (png && ctx) {
    telegram::SendPhoto photo;
    photo.chat_id = p.telegram_id;
    photo.photo = telegram::InputFile::from_bytes(std::move(*png), "qr.png", "image/png");
    photo.caption = t(lang, "shop.deliver.qr");
    auto sent = ctx->send_sync(photo);
    if (!sent && !telegram::is_unreachable_user(sent.error())) {
      spdlog::warn("shop t{}: the QR code for service {} was not sent: {}", deps.tenant_id, service.id,
                   sent.error().to_string());
    }
  }
  if (settings().delivery == Delivery::kLinkAndConfigs) {
    auto pl = panel(service.panel_id);
    if (pl) {
      auto account = (*pl)->get(service.panel_username);
      if (account && !account->links.empty()) {
        std::string configs = t(lang, "shop.deliver.configs") + "\n";
        for (const auto& link : account->links) configs += "\n<code>" + telegram::escape_html(link) + "</code>\n";
        (void)send_to(p.telegram_id, configs);
      }
    }
  }
  return ok();
}

Result<void> ShopBot::Impl::fulfil(std::int64_t order_id, int attempt) {
  {
    std::lock_guard lock(fulfilling_mutex_);
    if (!fulfilling_.insert(order_id).second) return ok();  // another attempt is delivering it
  }
  auto result = fulfil_now(order_id, attempt);
  std::lock_guard lock(fulfilling_mutex_);
  fulfilling_.erase(order_id);
  return result;
}

Result<void> ShopBot::Impl::fulfil_now(std::int64_t order_id, int attempt) {
  auto order = store.order(order_id);
  if (!order) return fail(std::move(order.error()));
  if (!*order) return fail(ErrorCode::kNotFound, "order " + std::to_string(order_id));
  OrderRow o = **order;
  if (o.status == "paid") {
    auto moved = store.move_order(o.id, "paid", "provisioning", now());
    if (!moved) return fail(std::move(moved.error()));
    o.status = "provisioning";  // moved now, or by a concurrent attempt: both go on idempotently
  }
  if (o.status != "provisioning") return ok();  // completed, refunded, cancelled: nothing to do
  auto person = store.person(o.user_id);
  if (!person) return fail(std::move(person.error()));
  if (!*person) return fail(ErrorCode::kNotFound, "user " + std::to_string(o.user_id));
  const Person& p = **person;

  auto service = o.kind == "new" ? provision_new(o) : extend(o);
  note_panel_health(o);
  if (!service) {
    if (transient(service.error().code) && attempt < kProvisionAttempts) return fail(std::move(service.error()));
    return refund_to_wallet(o, p, service.error());
  }
  auto delivered = deliver(p, *service, o.kind == "new" ? "shop.deliver.new" : "shop.deliver.renewed");
  if (!delivered) return delivered;  // the service exists; delivery is retried, nothing is created again
  if (auto r = reward_referrer(o, p); !r) {
    spdlog::warn("shop t{}: referral reward for order {}: {}", deps.tenant_id, o.id, r.error().to_string());
  }
  if (auto r = count_discount(o); !r) {
    spdlog::warn("shop t{}: discount use for order {}: {}", deps.tenant_id, o.id, r.error().to_string());
  }
  auto done = store.move_order(o.id, "provisioning", "completed", now());
  if (!done) return fail(std::move(done.error()));
  return ok();
}

// What the panel's last calls showed goes to the database, so a panel that is down stops
// being offered for sale (and comes back when its health check passes).
void ShopBot::Impl::note_panel_health(const OrderRow& o) {
  std::optional<std::int64_t> panel_id;
  if (o.service_id) {
    if (auto s = store.service(*o.service_id); s && *s) panel_id = (*s)->panel_id;
  } else if (o.plan_id) {
    if (auto p = store.plan(*o.plan_id); p && *p) panel_id = (*p)->panel_id;
  } else if (o.note && o.note->rfind("trial:", 0) == 0) {
    panel_id = std::stoll(o.note->substr(6));
  }
  if (!panel_id) return;
  std::shared_ptr<panels::Panel> cached;
  {
    std::lock_guard lock(panels_mutex_);
    if (auto it = panels_.find(*panel_id); it != panels_.end()) cached = it->second;
  }
  if (cached) (void)panel_repo.record_health(*panel_id, cached->health(), now());
}

Result<ServiceRow> ShopBot::Impl::provision_new(const OrderRow& o) {
  std::optional<Plan> plan;
  std::int64_t panel_id = 0, traffic = 0, days = 0;
  if (o.plan_id) {
    auto pl = store.plan(*o.plan_id);
    if (!pl) return fail(std::move(pl.error()));
    if (!*pl || !(*pl)->panel_id) return fail(ErrorCode::kInvalidArgument, "the plan has no panel");
    plan = **pl;
    panel_id = *plan->panel_id;
    traffic = plan->traffic_bytes.value_or(0);
    days = plan->duration_days;
  } else if (o.note && o.note->rfind("trial:", 0) == 0) {
    const auto s = settings();
    panel_id = std::stoll(o.note->substr(6));
    traffic = s.trial.traffic_bytes;
    days = s.trial.days;
  } else {
    return fail(ErrorCode::kInvalidArgument, "order " + std::to_string(o.id) + " names nothing to provision");
  }
  auto pl = panel(panel_id);
  if (!pl) return fail(std::move(pl.error()));
  panels::ProvisionRequest req;
  req.tenant_id = deps.tenant_id;
  req.user_id = o.user_id;
  req.order_id = o.id;
  req.panel_id = panel_id;
  req.plan_id = o.plan_id;
  auto inbounds = inbounds_for(plan ? &*plan : nullptr, **pl);
  if (!inbounds) return fail(std::move(inbounds.error()));
  req.account.inbounds = std::move(*inbounds);
  req.account.data_limit_bytes = traffic;
  req.account.expire_at = now() + days * 86'400;
  req.account.note = plan ? plan->name : "trial";
  panels::Provisioner provisioner(*deps.db, *deps.clock);
  auto made = provisioner.provision(**pl, req);
  if (!made) return fail(std::move(made.error()));
  auto service = store.service(made->service_id);
  if (!service) return fail(std::move(service.error()));
  if (!*service) return fail(ErrorCode::kInternal, "the provisioned service is gone");
  return **service;
}

// A renewal or a traffic add-on: the absolute target (expiry, limit) is computed once and
// kept on the order before the panel is changed, so a resumed attempt sets the same values
// instead of adding the plan twice.
Result<ServiceRow> ShopBot::Impl::extend(const OrderRow& o) {
  if (!o.service_id || !o.plan_id) return fail(ErrorCode::kInvalidArgument, "a renewal names a service and a plan");
  auto service = store.service(*o.service_id);
  if (!service) return fail(std::move(service.error()));
  if (!*service) return fail(ErrorCode::kNotFound, "service " + std::to_string(*o.service_id));
  auto plan = store.plan(*o.plan_id);
  if (!plan) return fail(std::move(plan.error()));
  if (!*plan) return fail(ErrorCode::kNotFound, "plan " + std::to_string(*o.plan_id));
  auto pl = panel((*service)->panel_id);
  if (!pl) return fail(std::move(pl.error()));
  const std::string& username = (*service)->panel_username;

  auto target = nlohmann::json::parse(o.note.value_or(""), nullptr, false);
  if (!target.is_object() || !target.contains("target")) {
    auto current = (*pl)->get(username);
    if (!current) return fail(panel_error(current.error()));
    panels::Renewal renewal;
    renewal.add_bytes = (*plan)->traffic_bytes.value_or(0);
    renewal.extend_seconds = o.kind == "traffic" ? 0 : (*plan)->duration_days * 86'400;
    // An ended service starts a fresh period; a running one carries over what is left.
    renewal.carry_over = current->status == panels::AccountStatus::kActive;
    auto planned = panels::plan_renewal(*current, renewal, now());
    if (!planned) return fail(panel_error(planned.error()));
    target = {{"target",
               {{"expire", planned->changes.expire_at.value_or(current->expire_at)},
                {"limit", planned->changes.data_limit_bytes.value_or(current->data_limit_bytes)},
                {"reset", planned->reset_usage}}}};
    auto kept = deps.db->with_session([&](storage::Session& s) -> Result<void> {
      auto r = s.exec("UPDATE orders SET note = :note WHERE id = :id AND status = 'provisioning'",
                      {{"note", target.dump()}, {"id", o.id}});
      if (!r) return fail(std::move(r.error()));
      return ok();
    });
    if (!kept) return fail(std::move(kept.error()));
  }
  const auto& tg = target["target"];
  panels::AccountChanges changes;
  changes.expire_at = tg["expire"].get<std::int64_t>();
  changes.data_limit_bytes = tg["limit"].get<std::int64_t>();
  auto changed = (*pl)->modify(username, changes);
  if (!changed) return fail(panel_error(changed.error()));
  if (tg.value("reset", false)) {
    auto reset = (*pl)->reset_usage(username);
    if (!reset) return fail(panel_error(reset.error()));
    changed = std::move(reset);
  }
  if (changed->status == panels::AccountStatus::kDisabled || changed->status == panels::AccountStatus::kExpired ||
      changed->status == panels::AccountStatus::kLimited) {
    auto enabled = (*pl)->enable(username);
    if (enabled) changed = std::move(enabled);
  }
  const auto& a = *changed;
  auto saved =
      store.update_service((*service)->id, a.data_limit_bytes > 0 ? std::optional(a.data_limit_bytes) : std::nullopt,
                           a.used_bytes, a.expire_at > 0 ? std::optional(a.expire_at) : std::nullopt, "active",
                           a.subscription_url.empty() ? (*service)->subscription_url : a.subscription_url, now());
  if (!saved) return fail(std::move(saved.error()));
  auto fresh = store.service((*service)->id);
  if (!fresh || !*fresh) return fail(ErrorCode::kInternal, "the renewed service is gone");
  return **fresh;
}

Result<void> ShopBot::Impl::refund_to_wallet(const OrderRow& o, const Person& p, const Error& why) {
  spdlog::error("shop t{}: order {} could not be provisioned, refunding to the wallet: {}", deps.tenant_id, o.id,
                why.to_string());
  Money credit = o.amount;
  if (credit.minor > 0 && credit.currency != p.balance.currency) {
    auto rate = deps.payments->exchange_rate(credit.currency, p.balance.currency);
    if (!rate) return fail(std::move(rate.error()));
    if (!*rate) return fail(ErrorCode::kInvalidArgument, "no exchange rate to refund order " + std::to_string(o.id));
    auto converted = payments::convert(credit, p.balance.currency, **rate);
    if (!converted) return fail(std::move(converted.error()));
    credit = *converted;
  }
  const std::int64_t t_now = now();
  auto refunded = deps.db->transaction([&](storage::Session& s) -> Result<bool> {
    auto n =
        s.exec("UPDATE orders SET status = 'refunded', updated_at = :now WHERE id = :id AND status = 'provisioning'",
               {{"now", t_now}, {"id", o.id}});
    if (!n) return fail(std::move(n.error()));
    if (*n == 0) return false;  // another attempt finished it
    if (credit.minor > 0) {
      auto applied = payments::Ledger::apply(
          s, payments::Schema::tenant(),
          {p.id, credit, domain::LedgerReason::kProvisioningRefund, "order:" + std::to_string(o.id), why.message},
          t_now);
      if (!applied && applied.error().code != ErrorCode::kAlreadyExists) return fail(std::move(applied.error()));
    } else if (o.note && o.note->rfind("trial:", 0) == 0) {
      // A trial that could not be made is not used up.
      auto r = s.exec("UPDATE users SET trial_used_at = NULL WHERE id = :id", {{"id", p.id}});
      if (!r) return fail(std::move(r.error()));
    }
    return true;
  });
  if (!refunded) return fail(std::move(refunded.error()));
  if (!*refunded) return ok();
  (void)send_to(p.telegram_id, t(p.lang, credit.minor > 0 ? "shop.fail.refunded" : "shop.fail.trial",
                                 {{"amount", money(credit, p.lang)}, {"id", std::to_string(o.id)}}));
  (void)notify_owner("shop.owner.provisioning_failed",
                     {{"id", std::to_string(o.id)}, {"user", std::to_string(p.telegram_id)}, {"reason", why.message}});
  return ok();
}

Result<void> ShopBot::Impl::reward_referrer(const OrderRow& o, const Person& p) {
  const int percent = settings().referral_percent;
  if (!p.referrer_id || percent <= 0 || o.amount.minor <= 0) return ok();
  auto referrer = store.person(*p.referrer_id);
  if (!referrer || !*referrer) return ok();
  Money reward{o.amount.minor * percent / 100, o.amount.currency};
  if (reward.currency != (*referrer)->balance.currency) {
    auto rate = deps.payments->exchange_rate(reward.currency, (*referrer)->balance.currency);
    if (!rate || !*rate) return fail(ErrorCode::kInvalidArgument, "no exchange rate for the referral reward");
    auto converted = payments::convert(reward, (*referrer)->balance.currency, **rate);
    if (!converted) return fail(std::move(converted.error()));
    reward = *converted;
  }
  if (reward.minor <= 0) return ok();
  const std::int64_t t_now = now();
  auto credited = deps.db->transaction([&](storage::Session& s) -> Result<bool> {
    auto applied = payments::Ledger::apply(
        s, payments::Schema::tenant(),
        {(*referrer)->id, reward, domain::LedgerReason::kReferralReward, "order:" + std::to_string(o.id), std::nullopt},
        t_now);
    if (!applied) {
      if (applied.error().code == ErrorCode::kAlreadyExists) return false;
      return fail(std::move(applied.error()));
    }
    auto r = s.exec(
        "UPDATE referrals SET reward_minor = reward_minor + :r, rewarded_at = :now WHERE referrer_id = :a AND "
        "referred_id = :b",
        {{"r", reward.minor}, {"now", t_now}, {"a", (*referrer)->id}, {"b", p.id}});
    if (!r) return fail(std::move(r.error()));
    return true;
  });
  if (!credited) return fail(std::move(credited.error()));
  if (*credited) {
    (void)send_to((*referrer)->telegram_id,
                  t((*referrer)->lang, "shop.referral.rewarded", {{"amount", money(reward, (*referrer)->lang)}}));
  }
  return ok();
}

Result<void> ShopBot::Impl::count_discount(const OrderRow& o) {
  if (!o.discount_code_id) return ok();
  return deps.db->transaction([&](storage::Session& s) -> Result<void> {
    auto n = s.exec(
        "INSERT INTO discount_redemptions (code_id, user_id, order_id, created_at) VALUES (:c, :u, :o, :now) "
        "ON CONFLICT (order_id) DO NOTHING",
        {{"c", *o.discount_code_id}, {"u", o.user_id}, {"o", o.id}, {"now", now()}});
    if (!n) return fail(std::move(n.error()));
    if (*n == 1) {
      auto r =
          s.exec("UPDATE discount_codes SET used_count = used_count + 1 WHERE id = :c", {{"c", *o.discount_code_id}});
      if (!r) return fail(std::move(r.error()));
    }
    return ok();
  });
}

// ---- the payment outbox ------------------------------------------------------------------------

Result<void> ShopBot::handle(const payments::OutboxItem& item) {
  auto& impl = *impl_;
  if (item.kind == "fulfil_order") {
    if (!item.order_id) return ok();
    return impl.fulfil(*item.order_id, static_cast<int>(item.attempts));
  }
  const std::string topic = item.topic.substr(0, item.topic.find(':'));
  i18n::Args args{{"payment", std::to_string(item.payment_id)},
                  {"order", item.order_id ? std::to_string(*item.order_id) : "-"}};
  auto person = impl.store.person(item.payload.value("user_id", std::int64_t{0}));
  if (!person) return fail(std::move(person.error()));
  auto money_arg = [&](const char* field, Lang lang) {
    if (!item.payload.contains(field)) return std::string("-");
    const auto& m = item.payload[field];
    auto cur = currency_from_code(m.value("currency", ""));
    return impl.money(Money{m.value("amount_minor", std::int64_t{0}), cur.value_or(Currency::kIrr)}, lang);
  };
  if (item.kind == "owner_notice") {
    args["user"] = *person ? std::to_string((**person).telegram_id) : "-";
    args["paid"] = money_arg("paid", Lang::kFa);
    args["received"] = money_arg("received", Lang::kFa);
    args["expected"] = money_arg("expected", Lang::kFa);
    args["credited"] = money_arg("credited", Lang::kFa);
    args["detail"] = item.payload.value("detail", "");
    return impl.notify_owner("shop.owner." + topic, args);
  }
  if (item.kind == "user_notice") {
    if (!*person) return ok();
    const Lang lang = (**person).lang;
    args["credited"] = money_arg("credited", lang);
    args["amount"] = money_arg("refunded", lang);
    args["reason"] = item.payload.value("reason", "");
    return impl.send_to((**person).telegram_id, impl.t(lang, "shop.user." + topic, args));
  }
  return ok();
}

Result<int> ShopBot::resume() {
  auto ids = impl_->store.undelivered_orders(500);
  if (!ids) return fail(std::move(ids.error()));
  int done = 0;
  for (auto id : *ids) {
    if (impl_->fulfil(id, 1)) ++done;
  }
  impl_->kick_outbox();
  impl_->resume_broadcasts();
  return done;
}

}  // namespace ms::shop
