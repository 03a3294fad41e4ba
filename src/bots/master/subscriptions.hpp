// SubscriptionStore: where the master bot reads and writes master `subscriptions` (master
// migration 5's shape: state, cycle, period_start, period_end; the lifecycle's
// SubscriptionLifecycle moves the timed states). A paid order renews the customer's newest
// row in place, never adds a second one while one exists.
//
// Threads: thread-safe as far as the Database is; calls block.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "domain/package.hpp"
#include "domain/subscription_state.hpp"
#include "storage/storage.hpp"

namespace ms::master {

struct SubscriptionView {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::int64_t package_id = 0;
  std::string package_code;
  domain::SubscriptionState state = domain::SubscriptionState::kActive;
  domain::BillingCycle cycle = domain::BillingCycle::kMonthly;
  std::int64_t period_start = 0;
  std::int64_t period_end = 0;
};

// A status as stored (old or new names) as a domain state; nullopt for anything else.
std::optional<domain::SubscriptionState> state_from_db(std::string_view status);

struct AppliedOrder {
  bool applied = false;  // false: the order was already applied (or is not paid)
  std::int64_t customer_id = 0;
  std::optional<SubscriptionView> subscription;
};

// What buying another package does to the paid time left on the current one.
struct CarryOver {
  std::int64_t from_package_id = 0;  // 0: nothing to hand on (no subscription, same package)
  std::int64_t left_seconds = 0;     // paid time left on the current package
  std::int64_t carried_seconds = 0;  // what it becomes on the new one
};

class SubscriptionStore {
 public:
  explicit SubscriptionStore(storage::Database& master) : db_(master) {}

  // The customer's newest subscription in any state, or nullopt.
  Result<std::optional<SubscriptionView>> current(std::int64_t customer_id);
  // The subscription and its package when it lets the customer use the platform now
  // (active, or in grace after period_end: the bots keep running), else nullopt.
  Result<std::optional<std::pair<SubscriptionView, domain::Package>>> usable(std::int64_t customer_id,
                                                                             std::int64_t now);

  // Whether the customer's shop bots may sell now: their newest subscription is usable (or
  // cancelled but paid until period_end), or they have none at all (a shop the operators made without a package). The
  // deployment pipeline asks it before a bot goes up (deploy::PipelineOptions::may_serve).
  Result<bool> may_serve(std::int64_t customer_id, std::int64_t now);

  // Applies a paid package order exactly once: the order moves paid|provisioning ->
  // completed in the same transaction that creates the customer's subscription or renews it
  // (domain::renew: max(now, period_end) + the order's cycle; another package replaces the
  // old one from now, with the old one's paid time left added at the new price: CarryOver).
  // A second call, concurrent or later, changes nothing (applied = false).
  // kNotFound: no such order.
  Result<AppliedOrder> apply_paid_order(std::int64_t order_id, std::int64_t now);
  // What an order for `package_id` and `cycle` would carry over now (shown before paying;
  // apply_paid_order computes it again when the order is applied).
  Result<CarryOver> carry_over(std::int64_t customer_id, std::int64_t package_id, domain::BillingCycle cycle,
                               std::int64_t now);

 private:
  storage::Database& db_;
};

// DeployPipeline's may_serve over `master` with `clock` (both must outlive it).
std::function<Result<bool>(std::int64_t customer_id)> may_serve_gate(storage::Database& master, const Clock& clock);

}  // namespace ms::master
