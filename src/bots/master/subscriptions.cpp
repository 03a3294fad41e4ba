#include "bots/master/subscriptions.hpp"

#include "domain/master_entities.hpp"
#include "storage/package_repository.hpp"

namespace ms::master {

using domain::SubscriptionState;

std::optional<SubscriptionState> state_from_db(std::string_view status) {
  if (auto s = domain::parse<SubscriptionState>(status)) return s;
  // Master migration 1's names.
  if (status == "pending") return SubscriptionState::kTrial;
  if (status == "expired") return SubscriptionState::kSuspended;
  return std::nullopt;
}

namespace {

constexpr std::string_view kSelect =
    "SELECT s.id, s.customer_id, s.package_id, p.code, s.state, s.cycle, s.period_start, s.period_end "
    "FROM subscriptions s JOIN packages p ON p.id = s.package_id ";

Result<SubscriptionView> view_of(const storage::Row& r) {
  SubscriptionView v;
  v.id = r.get_int("id");
  v.customer_id = r.get_int("customer_id");
  v.package_id = r.get_int("package_id");
  v.package_code = r.get_string("code");
  auto state = state_from_db(r.get_string("state"));
  auto cycle = domain::parse<domain::BillingCycle>(r.get_string("cycle"));
  if (!state || !cycle) return fail(ErrorCode::kCorrupted, "subscription " + std::to_string(v.id) + " is unreadable");
  v.state = *state;
  v.cycle = *cycle;
  v.period_start = r.get_int("period_start");
  v.period_end = r.get_int("period_end");
  return v;
}

Result<std::optional<SubscriptionView>> current_in(storage::Session& s, std::int64_t customer_id) {
  auto row =
      s.query_one(std::string(kSelect) + "WHERE s.customer_id = :c ORDER BY s.id DESC LIMIT 1", {{"c", customer_id}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return std::optional<SubscriptionView>();
  auto v = view_of(**row);
  if (!v) return fail(std::move(v.error()));
  return std::optional<SubscriptionView>(std::move(*v));
}

Result<Money> price_in(storage::Session& s, std::int64_t package_id, domain::BillingCycle cycle) {
  auto row = s.query_one("SELECT monthly_price_minor, yearly_price_minor, currency FROM packages WHERE id = :id",
                         {{"id", package_id}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return fail(ErrorCode::kNotFound, "package " + std::to_string(package_id));
  auto currency = currency_from_code((*row)->get_string("currency"));
  if (!currency) return fail(ErrorCode::kCorrupted, "package " + std::to_string(package_id) + ": currency");
  const bool yearly = cycle == domain::BillingCycle::kYearly;
  return Money{(*row)->get_int(yearly ? "yearly_price_minor" : "monthly_price_minor"), *currency};
}

// The paid time `current` hands on to another package bought for `cycle` (0: the same
// package, which renews, or nothing left to hand on).
Result<std::int64_t> carry_in(storage::Session& s, const SubscriptionView& current, std::int64_t package_id,
                              domain::BillingCycle cycle, std::int64_t now) {
  if (current.package_id == package_id) return std::int64_t{0};
  auto old_price = price_in(s, current.package_id, current.cycle);
  if (!old_price) return fail(std::move(old_price.error()));
  auto new_price = price_in(s, package_id, cycle);
  if (!new_price) return fail(std::move(new_price.error()));
  domain::Subscription d;
  d.state = current.state;
  d.cycle = current.cycle;
  d.period_start = current.period_start;
  d.period_end = current.period_end;
  return domain::carried_seconds(d, *old_price, cycle, *new_price, now);
}

}  // namespace

Result<CarryOver> SubscriptionStore::carry_over(std::int64_t customer_id, std::int64_t package_id,
                                                domain::BillingCycle cycle, std::int64_t now) {
  return db_.with_session([&](storage::Session& s) -> Result<CarryOver> {
    auto current = current_in(s, customer_id);
    if (!current) return fail(std::move(current.error()));
    CarryOver out;
    if (!*current || (*current)->package_id == package_id) return out;
    out.from_package_id = (*current)->package_id;
    out.left_seconds =
        (*current)->state == SubscriptionState::kActive ? std::max<std::int64_t>(0, (*current)->period_end - now) : 0;
    auto carried = carry_in(s, **current, package_id, cycle, now);
    if (!carried) return fail(std::move(carried.error()));
    out.carried_seconds = *carried;
    return out;
  });
}

Result<std::optional<SubscriptionView>> SubscriptionStore::current(std::int64_t customer_id) {
  return db_.with_session([&](storage::Session& s) { return current_in(s, customer_id); });
}

Result<std::optional<std::pair<SubscriptionView, domain::Package>>> SubscriptionStore::usable(std::int64_t customer_id,
                                                                                              std::int64_t now) {
  using Out = std::optional<std::pair<SubscriptionView, domain::Package>>;
  auto sub = current(customer_id);
  if (!sub) return fail(std::move(sub.error()));
  if (!*sub) return Out();
  const auto& v = **sub;
  const bool in_time = v.period_end + domain::kGraceSeconds > now;
  if (!in_time || (v.state != SubscriptionState::kActive && v.state != SubscriptionState::kGrace &&
                   v.state != SubscriptionState::kTrial)) {
    return Out();
  }
  auto package = storage::PackageRepository(db_).get(v.package_code);
  if (!package) return fail(std::move(package.error()));
  if (!*package) return Out();
  return Out(std::pair{v, std::move(**package)});
}

Result<bool> SubscriptionStore::may_serve(std::int64_t customer_id, std::int64_t now) {
  auto sub = current(customer_id);
  if (!sub) return fail(std::move(sub.error()));
  if (!*sub) return true;
  // Cancelled: paid up to period_end, and the lifecycle leaves those bots running until then.
  if ((*sub)->state == SubscriptionState::kCancelled) return (*sub)->period_end > now;
  auto paid = usable(customer_id, now);
  if (!paid) return fail(std::move(paid.error()));
  return paid->has_value();
}

std::function<Result<bool>(std::int64_t)> may_serve_gate(storage::Database& master, const Clock& clock) {
  return [&master, &clock](std::int64_t customer_id) {
    return SubscriptionStore(master).may_serve(customer_id, clock.unix_seconds());
  };
}

Result<AppliedOrder> SubscriptionStore::apply_paid_order(std::int64_t order_id, std::int64_t now) {
  return db_.transaction([&](storage::Session& s) -> Result<AppliedOrder> {
    auto order =
        s.query_one("SELECT customer_id, package_id, billing_period, status FROM package_orders WHERE id = :id",
                    {{"id", order_id}});
    if (!order) return fail(std::move(order.error()));
    if (!*order) return fail(ErrorCode::kNotFound, "package order " + std::to_string(order_id));
    AppliedOrder out;
    out.customer_id = (*order)->get_int("customer_id");
    const std::int64_t package_id = (*order)->get_int("package_id");
    auto cycle = domain::parse<domain::BillingCycle>((*order)->get_string("billing_period"));
    if (!cycle) return fail(ErrorCode::kCorrupted, "package order " + std::to_string(order_id) + ": billing period");
    // Claim the order first: of two concurrent deliveries only one moves it, the other
    // (waiting on the row) then sees nothing to claim and changes nothing.
    auto claimed = s.exec(
        "UPDATE package_orders SET status = 'completed', updated_at = :now WHERE id = :id AND status IN ('paid', "
        "'provisioning')",
        {{"now", now}, {"id", order_id}});
    if (!claimed) return fail(std::move(claimed.error()));
    if (*claimed == 0) return out;
    // One customer's paid orders apply one after the other: the customer's row is the lock
    // (PostgreSQL reads committed rows, so two renewals read alike would add one period).
    auto locked =
        s.exec("UPDATE customers SET updated_at = :now WHERE id = :c", {{"now", now}, {"c", out.customer_id}});
    if (!locked) return fail(std::move(locked.error()));

    auto current = current_in(s, out.customer_id);
    if (!current) return fail(std::move(current.error()));
    domain::Subscription sub;
    sub.customer_id = out.customer_id;
    std::optional<std::int64_t> existing;
    std::int64_t carry = 0;
    if (*current && (*current)->state != SubscriptionState::kErased) {
      existing = (*current)->id;
      sub.state = (*current)->state;
      sub.cycle = (*current)->cycle;
      sub.period_start = (*current)->period_start;
      sub.period_end = (*current)->period_end;
      // Another package replaces the old one from now; the paid time left on the old one
      // is added to the new period at the new package's price (domain::carried_seconds).
      if ((*current)->package_id != package_id) {
        auto carried = carry_in(s, **current, package_id, *cycle, now);
        if (!carried) return fail(std::move(carried.error()));
        carry = *carried;
        sub.period_end = now;
      }
    } else {
      sub.state = SubscriptionState::kSuspended;  // a new one: renew() starts its period now
      sub.period_end = now;
    }
    auto renewed = domain::renew(sub, *cycle, now);
    if (!renewed) return fail(std::move(renewed.error()));
    sub.period_end += carry;
    const storage::Params params{{"c", out.customer_id},
                                 {"p", package_id},
                                 {"cycle", std::string(domain::to_string(*cycle))},
                                 {"start", std::int64_t{sub.period_start}},
                                 {"end", std::int64_t{sub.period_end}},
                                 {"now", std::int64_t{now}}};
    std::int64_t sub_id = 0;
    if (existing) {
      auto params_with_id = params;
      params_with_id.push_back({"id", *existing});
      auto n = s.exec(
          "UPDATE subscriptions SET package_id = :p, state = 'active', cycle = :cycle, period_start = :start, "
          "period_end = :end, cancelled_at = NULL, updated_at = :now WHERE id = :id AND customer_id = :c",
          params_with_id);
      if (!n) return fail(std::move(n.error()));
      sub_id = *existing;
    } else {
      auto row = s.query_one(
          "INSERT INTO subscriptions (customer_id, package_id, state, cycle, period_start, period_end, "
          "created_at, updated_at) VALUES (:c, :p, 'active', :cycle, :start, :end, :now, :now) RETURNING id",
          params);
      if (!row) return fail(std::move(row.error()));
      sub_id = (*row)->get_int("id");
    }
    auto linked =
        s.exec("UPDATE package_orders SET subscription_id = :s WHERE id = :id", {{"s", sub_id}, {"id", order_id}});
    if (!linked) return fail(std::move(linked.error()));
    auto after = current_in(s, out.customer_id);
    if (!after) return fail(std::move(after.error()));
    out.applied = true;
    out.subscription = *after;
    return out;
  });
}

}  // namespace ms::master
