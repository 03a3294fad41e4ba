// A customer's package subscription on the master side, and its billing-period rules.
//
//   trial     -> active (paid) | suspended (trial ran out unpaid) | cancelled
//   active    -> active (renewed early) | grace (period ended) | suspended (operator) | cancelled
//   grace     -> active (renewed) | suspended (grace ran out) | cancelled
//   suspended -> active (renewed) | erased (retention ran out) | cancelled
//   cancelled -> active (renewed before erasure) | erased
//   erased    final (the tenant's data is gone; a new subscription starts over)
//
// Time rules (all times are unix seconds passed in; nothing here reads a clock):
//   grace lasts kGraceSeconds (3 days) after period_end; bots keep running in grace.
//   a suspended tenant's data is kept until period_end + grace + kRetentionSeconds (30 days);
//   a cancelled one until max(period_end, cancelled_at) + kRetentionSeconds; then erased.
//   a month is 30 days and a year 365 days. Renewing sets period_end to
//   max(now, period_end) + cycle: renewing early never loses paid days, renewing late never
//   charges for the lapsed days.
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/money.hpp"
#include "core/result.hpp"
#include "domain/enum_names.hpp"

namespace ms::domain {

enum class SubscriptionState {
  kTrial,
  kActive,
  kGrace,
  kSuspended,
  kCancelled,
  kErased,
};

enum class BillingCycle { kMonthly, kYearly };

std::string_view to_string(SubscriptionState state);
template <>
std::optional<SubscriptionState> parse<SubscriptionState>(std::string_view text);
template <>
std::span<const SubscriptionState> all_values<SubscriptionState>();

std::string_view to_string(BillingCycle cycle);
template <>
std::optional<BillingCycle> parse<BillingCycle>(std::string_view text);
template <>
std::span<const BillingCycle> all_values<BillingCycle>();

bool can_transition(SubscriptionState from, SubscriptionState to);
// ok(to) when the table allows from -> to; kConflict naming both states otherwise.
Result<SubscriptionState> transition(SubscriptionState from, SubscriptionState to);
bool is_terminal(SubscriptionState state);
std::vector<SubscriptionState> allowed_targets(SubscriptionState from);

inline constexpr std::int64_t kDaySeconds = 24 * 60 * 60;
inline constexpr std::int64_t kGraceSeconds = 3 * kDaySeconds;
inline constexpr std::int64_t kRetentionSeconds = 30 * kDaySeconds;

// 30 days for monthly, 365 days for yearly.
std::int64_t cycle_seconds(BillingCycle cycle);

struct Subscription;

// Moves `sub` to `to` and stamps updated_at = now (and cancelled_at when cancelling).
// On kConflict the subscription is unchanged.
Result<SubscriptionState> transition(Subscription& sub, SubscriptionState to, std::int64_t now);

// The state the clock says `sub` should be in at `now`, following only the timed edges, at
// most one step (a scheduler applies it with transition() and asks again):
//   trial: period_end passed -> suspended
//   active: period_end + grace passed -> suspended, else period_end passed -> grace
//   grace: period_end + grace passed -> suspended
//   suspended: period_end + grace + retention passed -> erased
//   cancelled: max(period_end, cancelled_at) + retention passed -> erased
// Returns sub.state when nothing is due.
SubscriptionState due_state(const Subscription& sub, std::int64_t now);

// Renews for one `cycle`: period_end = max(now, period_end) + cycle_seconds(cycle); when the
// subscription was not active, period_start = now; state becomes active; updated_at = now.
// kConflict when the subscription is erased; then nothing changes.
Result<SubscriptionState> renew(Subscription& sub, BillingCycle cycle, std::int64_t now);

// Another package bought mid-period: the paid time left on the old one (active, period_end
// after now), worth what it cost per second at `old_price` for sub.cycle, becomes time of the
// new package at `new_price` for `new_cycle` (an upgrade gives fewer days, a downgrade more;
// a free new package takes the time as it is). Nothing carries over from a trial, from a
// free old package, or between prices in different currencies. At most kMaxCarrySeconds.
inline constexpr std::int64_t kMaxCarrySeconds = 3 * 365 * kDaySeconds;
std::int64_t carried_seconds(const Subscription& sub, const Money& old_price, BillingCycle new_cycle,
                             const Money& new_price, std::int64_t now);

}  // namespace ms::domain
