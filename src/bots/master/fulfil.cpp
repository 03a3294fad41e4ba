// After payment: the master PaymentService's outbox reaches MasterBot (its FulfilmentHook).
// A paid package order creates or renews the customer's subscription exactly once (the
// order's status moves with it, in one transaction), the customer's tenant database is made
// if missing, the customer is told, and their bots that waited for a package start.
// Notices (a receipt reused, money after an order expired, ...) go to the operators or the
// customer.
#include <spdlog/spdlog.h>

#include "bots/master/master_impl.hpp"

namespace ms::master {

Result<std::int64_t> MasterBot::Impl::ensure_tenant(std::int64_t customer_id) {
  auto c = store.customer(customer_id);
  if (!c) return fail(std::move(c.error()));
  if (!*c) return fail(ErrorCode::kNotFound, "customer " + std::to_string(customer_id));
  if ((*c)->tenant_id) return *(*c)->tenant_id;
  if (!opt.storage) return fail(ErrorCode::kUnavailable, "no storage to create tenants in");
  // The next free id; a concurrent creator taking it makes create_tenant fail and we try on.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto next = ctx.db->with_session([](storage::Session& s) -> Result<std::int64_t> {
      auto row = s.query_one("SELECT coalesce(max(id), 0) + 1 AS n FROM tenants");
      if (!row) return fail(std::move(row.error()));
      return (*row)->get_int("n");
    });
    if (!next) return fail(std::move(next.error()));
    auto made = opt.storage->create_tenant(*next);
    if (!made) {
      if (made.error().code == ErrorCode::kAlreadyExists) continue;
      return fail(std::move(made.error()));
    }
    auto linked = ctx.db->with_session([&](storage::Session& s) {
      return s.exec("UPDATE customers SET tenant_id = :t, updated_at = :now WHERE id = :id AND tenant_id IS NULL",
                    {{"t", *next}, {"now", now()}, {"id", customer_id}});
    });
    if (!linked) return fail(std::move(linked.error()));
    if (*linked == 1) return *next;
    // Another delivery linked one first: use that (the new empty database stays unused).
    auto again = store.customer(customer_id);
    if (!again) return fail(std::move(again.error()));
    if (*again && (*again)->tenant_id) return *(*again)->tenant_id;
  }
  return fail(ErrorCode::kConflict, "could not reserve a tenant id for customer " + std::to_string(customer_id));
}

Result<void> MasterBot::Impl::resume_waiting_bots(std::int64_t customer_id) {
  if (!ctx.deployments) return ok();
  auto bots = ctx.deployments->list(customer_id);
  if (!bots) return fail(std::move(bots.error()));
  Result<void> out = ok();
  for (const auto& b : *bots) {
    Result<void> r = ok();
    if (b.state == domain::BotState::kCreated) {
      r = ctx.deployments->deploy(b.instance_id);
    } else if (b.state == domain::BotState::kSuspended) {
      r = ctx.deployments->resume(b.instance_id);
    }
    if (r) continue;
    spdlog::warn("master bot: bot {} did not resume: {}", b.instance_id, r.error().to_string());
    // The database or a backend being away is worth another delivery; a refusal is not.
    if (out && r.error().code == ErrorCode::kUnavailable) out = fail(std::move(r.error()));
  }
  return out;
}

Result<void> MasterBot::Impl::fulfil(std::int64_t order_id) {
  auto order = store.order(order_id);
  if (!order) return fail(std::move(order.error()));
  if (!*order) return ok();  // not ours to fulfil
  // The tenant first: it is idempotent, and a failure here leaves the order paid for a retry.
  if (auto tenant = ensure_tenant((*order)->customer_id); !tenant) return fail(std::move(tenant.error()));
  auto applied = subs.apply_paid_order(order_id, now());
  if (!applied) return fail(std::move(applied.error()));
  if (applied->applied) {
    auto c = store.customer(applied->customer_id);
    auto p = store.package((*order)->package_id);
    if (c && *c && p && *p && applied->subscription) {
      const Lang lang = (*c)->lang;
      auto kb = keyboard(lang);
      kb.button("🤖 " + t(lang, "master.menu.create_bot"), "wz").button("🏠 " + t(lang, "menu.main"), "menu");
      auto sent = send_to(
          (*c)->telegram_id,
          t(lang, "master.sub.active",
            {{"package", package_name((*p)->package, lang)}, {"date", date(applied->subscription->period_end, lang)}}),
          built(kb));
      if (!sent) spdlog::warn("master bot: telling customer {} failed: {}", (*c)->id, sent.error().to_string());
    }
  }
  // Also when the order was applied by an earlier delivery that then failed or crashed: the
  // bots must not stay paused behind a paid subscription. Only while it is paid for, though
  // (a late redelivery must not wake the bots of a subscription that has since lapsed).
  auto usable = subs.usable(applied->customer_id, now());
  if (!usable) return fail(std::move(usable.error()));
  if (!*usable) return ok();
  return resume_waiting_bots(applied->customer_id);
}

Result<void> MasterBot::handle(const payments::OutboxItem& item) {
  auto& impl = *impl_;
  if (item.kind == "fulfil_order") {
    if (!item.order_id) return ok();
    return impl.fulfil(*item.order_id);
  }
  const std::string topic = item.topic.substr(0, item.topic.find(':'));
  auto c = impl.store.customer(item.payload.value("user_id", std::int64_t{0}));
  if (!c) return fail(std::move(c.error()));
  auto money_arg = [&](const char* field, Lang lang) {
    if (!item.payload.contains(field)) return std::string("-");
    const auto& m = item.payload[field];
    auto cur = currency_from_code(m.value("currency", ""));
    return impl.money(Money{m.value("amount_minor", std::int64_t{0}), cur.value_or(Currency::kUsd)}, lang);
  };
  i18n::Args args{{"payment", std::to_string(item.payment_id)},
                  {"order", item.order_id ? std::to_string(*item.order_id) : "-"}};
  if (item.kind == "owner_notice") {
    // The platform's "owner" is its operators; the shop's wording fits them.
    for (auto op : impl.ctx.operator_ids) {
      const Lang lang = impl.lang_of(op);
      args["user"] = *c ? std::to_string((**c).telegram_id) : "-";
      args["paid"] = money_arg("paid", lang);
      args["received"] = money_arg("received", lang);
      args["expected"] = money_arg("expected", lang);
      args["credited"] = money_arg("credited", lang);
      args["detail"] = item.payload.value("detail", "");
      auto sent = impl.send_to(op, impl.t(lang, "shop.owner." + topic, args));
      if (!sent && sent.error().code != ErrorCode::kPermissionDenied) return sent;
    }
    return ok();
  }
  if (item.kind == "user_notice") {
    if (!*c) return ok();
    const Lang lang = (**c).lang;
    args["credited"] = money_arg("credited", lang);
    args["amount"] = money_arg("refunded", lang);
    args["reason"] = item.payload.value("reason", "");
    auto sent = impl.send_to((**c).telegram_id, impl.t(lang, "shop.user." + topic, args));
    if (!sent && sent.error().code != ErrorCode::kPermissionDenied) return sent;
  }
  return ok();
}

}  // namespace ms::master
