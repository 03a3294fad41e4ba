#include "domain/subscription_state.hpp"

#include <algorithm>
#include <array>

#include "domain/master_entities.hpp"
#include "domain/state_machine.hpp"

namespace ms::domain {
namespace {

using S = SubscriptionState;

constexpr auto kNames = std::to_array<detail::EnumName<S>>({
    {S::kTrial, "trial"},
    {S::kActive, "active"},
    {S::kGrace, "grace"},
    {S::kSuspended, "suspended"},
    {S::kCancelled, "cancelled"},
    {S::kErased, "erased"},
});

constexpr auto kCycleNames = std::to_array<detail::EnumName<BillingCycle>>({
    {BillingCycle::kMonthly, "monthly"},
    {BillingCycle::kYearly, "yearly"},
});

constexpr auto kEdges = std::to_array<detail::Edge<S>>({
    {S::kTrial, S::kActive},
    {S::kTrial, S::kSuspended},
    {S::kTrial, S::kCancelled},
    {S::kActive, S::kActive},
    {S::kActive, S::kGrace},
    {S::kActive, S::kSuspended},
    {S::kActive, S::kCancelled},
    {S::kGrace, S::kActive},
    {S::kGrace, S::kSuspended},
    {S::kGrace, S::kCancelled},
    {S::kSuspended, S::kActive},
    {S::kSuspended, S::kErased},
    {S::kSuspended, S::kCancelled},
    {S::kCancelled, S::kActive},
    {S::kCancelled, S::kErased},
});

}  // namespace

MS_DOMAIN_ENUM_NAMES(SubscriptionState, kNames)
MS_DOMAIN_ENUM_NAMES(BillingCycle, kCycleNames)
MS_DOMAIN_STATE_MACHINE(SubscriptionState, "subscription", kEdges)

std::int64_t cycle_seconds(BillingCycle cycle) {
  return cycle == BillingCycle::kYearly ? 365 * kDaySeconds : 30 * kDaySeconds;
}

Result<SubscriptionState> transition(Subscription& sub, SubscriptionState to, std::int64_t now) {
  auto next = transition(sub.state, to);
  if (!next) return next;
  sub.state = *next;
  sub.updated_at = now;
  if (to == S::kCancelled) sub.cancelled_at = now;
  return next;
}

SubscriptionState due_state(const Subscription& sub, std::int64_t now) {
  const std::int64_t end = sub.period_end;
  switch (sub.state) {
    case S::kTrial: return now >= end ? S::kSuspended : S::kTrial;
    case S::kActive:
      if (now >= end + kGraceSeconds) return S::kSuspended;
      return now >= end ? S::kGrace : S::kActive;
    case S::kGrace: return now >= end + kGraceSeconds ? S::kSuspended : S::kGrace;
    case S::kSuspended: return now >= end + kGraceSeconds + kRetentionSeconds ? S::kErased : S::kSuspended;
    case S::kCancelled: {
      const std::int64_t from = std::max(end, sub.cancelled_at.value_or(end));
      return now >= from + kRetentionSeconds ? S::kErased : S::kCancelled;
    }
    case S::kErased: return S::kErased;
  }
  return sub.state;
}

Result<SubscriptionState> renew(Subscription& sub, BillingCycle cycle, std::int64_t now) {
  const SubscriptionState before = sub.state;
  auto next = transition(sub.state, S::kActive);
  if (!next) return next;
  sub.period_end = std::max(now, sub.period_end) + cycle_seconds(cycle);
  if (before != S::kActive) sub.period_start = now;
  sub.cycle = cycle;
  sub.state = S::kActive;
  sub.cancelled_at.reset();
  sub.updated_at = now;
  return next;
}

std::int64_t carried_seconds(const Subscription& sub, const Money& old_price, BillingCycle new_cycle,
                             const Money& new_price, std::int64_t now) {
  if (sub.state != S::kActive || sub.period_end <= now) return 0;
  if (old_price.minor <= 0 || old_price.currency != new_price.currency) return 0;
  const std::int64_t left = sub.period_end - now;
  if (new_price.minor <= 0) return std::min(left, kMaxCarrySeconds);
  // left × (old price per second) / (new price per second), in 128 bits: seconds × minor
  // units × seconds overflows 64.
  const __int128 value = static_cast<__int128>(left) * old_price.minor * cycle_seconds(new_cycle);
  const __int128 per = static_cast<__int128>(cycle_seconds(sub.cycle)) * new_price.minor;
  return static_cast<std::int64_t>(std::min<__int128>(value / per, kMaxCarrySeconds));
}

}  // namespace ms::domain
