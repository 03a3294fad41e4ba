// The shop's periodic work, one pass at a time: unpaid payments expire, paid orders are
// delivered (the payment outbox), orders a crash left behind resume, services due are
// renewed from the wallet (auto-renew), notices go out, and flows of people who went quiet
// time out, and the owner gets the day's backup. Every step is idempotent, so a pass may be repeated or run by two
// processes.
#include <spdlog/spdlog.h>

#include "bots/shop/notices.hpp"
#include "bots/shop/shop_impl.hpp"

namespace ms::shop {

namespace {

// The shop's panels as the notice scheduler asks for them.
class ImplPanels final : public NoticePanels {
 public:
  explicit ImplPanels(ShopBot::Impl& impl) : impl_(impl) {}
  std::shared_ptr<panels::Panel> panel(std::int64_t panel_id) override {
    auto p = impl_.panel(panel_id);
    return p ? *p : nullptr;
  }

 private:
  ShopBot::Impl& impl_;
};

constexpr std::int64_t kAutoRenewAhead = 24 * 3600;  // renew a day before the end

}  // namespace

// Services with auto-renew on that end within a day: a renewal order with the service's
// plan, paid from the wallet. An order already made for this period (its idempotency key
// names the service and its current end) is never made again; a wallet too low is told once
// per period.
Result<int> ShopBot::Impl::auto_renew_due() {
  const std::int64_t t_now = now();
  auto due = deps.db->with_session([&](storage::Session& s) {
    return s.query(
        "SELECT id, user_id, plan_id, expires_at FROM services WHERE auto_renew = 1 AND status = 'active' AND "
        "plan_id IS NOT NULL AND expires_at IS NOT NULL AND expires_at <= :until ORDER BY expires_at LIMIT 200",
        {{"until", t_now + kAutoRenewAhead}});
  });
  if (!due) return fail(std::move(due.error()));
  int renewed = 0;
  for (const auto& row : *due) {
    const std::int64_t service_id = row.get_int("id");
    const std::string key = "auto:" + std::to_string(service_id) + ":" + std::to_string(row.get_int("expires_at"));
    auto plan = store.plan(row.get_int("plan_id"));
    if (!plan || !*plan || !(*plan)->active) continue;
    auto person = store.person(row.get_int("user_id"));
    if (!person || !*person) continue;
    // The order, once per service and period.
    auto order_id = deps.db->with_session([&](storage::Session& s) -> Result<std::optional<std::int64_t>> {
      auto found = s.query_one("SELECT id, status FROM orders WHERE idempotency_key = :k", {{"k", key}});
      if (!found) return fail(std::move(found.error()));
      if (*found) {
        if ((*found)->get_string("status") != "pending") return std::optional<std::int64_t>();
        return std::optional<std::int64_t>((*found)->get_int("id"));
      }
      auto made = s.query_one(
          "INSERT INTO orders (user_id, plan_id, service_id, kind, status, amount_minor, currency, idempotency_key, "
          "created_at, updated_at) VALUES (:u, :p, :s, 'renew', 'pending', :a, :c, :k, :now, :now) RETURNING id",
          {{"u", (*person)->id},
           {"p", (*plan)->id},
           {"s", service_id},
           {"a", (*plan)->price.minor},
           {"c", std::string(currency_code((*plan)->price.currency))},
           {"k", key},
           {"now", t_now}});
      if (!made) return fail(std::move(made.error()));
      return std::optional<std::int64_t>((*made)->get_int("id"));
    });
    if (!order_id) return fail(std::move(order_id.error()));
    if (!*order_id) continue;  // paid or given up for this period
    auto paid = deps.payments->pay_order(**order_id, domain::PaymentMethod::kWallet, "auto-renew");
    if (paid) {
      ++renewed;
      continue;
    }
    if (paid.error().code == ErrorCode::kLimitExceeded) {
      // Too little in the wallet: the order is cancelled for this period and the person told once.
      auto moved = store.move_order(**order_id, "pending", "cancelled", t_now);
      if (moved && *moved) {
        (void)send_to((*person)->telegram_id,
                      t((*person)->lang, "shop.auto_renew.failed",
                        {{"service", std::to_string(service_id)}, {"amount", money((*plan)->price, (*person)->lang)}}));
      }
      continue;
    }
    spdlog::warn("shop t{}: auto-renew of service {}: {}", deps.tenant_id, service_id, paid.error().to_string());
  }
  return renewed;
}

Result<MaintenanceReport> ShopBot::maintain() {
  auto& impl = *impl_;
  MaintenanceReport report;
  auto expired = impl.deps.payments->expire_due();
  if (!expired) return fail(std::move(expired.error()));
  report.payments_expired = *expired;
  auto renewed = impl.auto_renew_due();
  if (!renewed) return fail(std::move(renewed.error()));
  report.auto_renewed = *renewed;
  auto delivered = impl.deps.payments->dispatch_outbox(*this);
  if (!delivered) return fail(std::move(delivered.error()));
  report.outbox_done = *delivered;
  auto resumed = resume();
  if (!resumed) return fail(std::move(resumed.error()));
  report.orders_resumed = *resumed;
  auto ctx = impl.deps.runtime ? impl.deps.runtime->context(impl.deps.bot_key) : nullptr;
  if (ctx) {
    ImplPanels panels(impl);
    BotNoticeSender sender(ctx);
    NoticeOptions options;
    options.keyboard = [&impl](const NoticeSubject& subject) -> std::optional<telegram::InlineKeyboardMarkup> {
      auto kb = impl.keyboard(subject.lang);
      kb.button("🔄 " + impl.t(subject.lang, "shop.services.renew"), "ren", {subject.service_id})
          .button("📦 " + impl.t(subject.lang, "menu.my_services"), "svc", {subject.service_id});
      auto built = kb.build();
      if (!built) return std::nullopt;
      return std::move(*built);
    };
    NoticeScheduler notices(*impl.deps.db, panels, sender, impl.texts, *impl.deps.clock, options);
    auto pass = notices.run_once();
    if (!pass) return fail(std::move(pass.error()));
    report.notices_sent = pass->sent;
    auto swept = impl.router->sweep(*ctx);
    if (swept) report.flows_timed_out = static_cast<int>(*swept);
    auto backup = impl.daily_backup();
    if (!backup) spdlog::warn("shop {}: daily backup: {}", impl.deps.tenant_id, backup.error().to_string());
    if (backup && *backup) report.backups_sent = 1;
  }
  return report;
}

}  // namespace ms::shop
