#include "domain/subscription_state.hpp"

#include <gtest/gtest.h>

#include "domain/master_entities.hpp"
#include "domain/state_table_testing.hpp"

namespace ms::domain {
namespace {

using S = SubscriptionState;
constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kT0 = 1'700'000'000;

Subscription sub_in(S state, std::int64_t period_end) {
  Subscription s;
  s.id = 1;
  s.customer_id = 2;
  s.package_code = "starter";
  s.state = state;
  s.period_start = period_end - 30 * kDay;
  s.period_end = period_end;
  return s;
}

TEST(SubscriptionState, NamesRoundTrip) {
  testing::expect_names_round_trip<S>(6);
  testing::expect_names_round_trip<BillingCycle>(2);
  EXPECT_EQ(to_string(BillingCycle::kYearly), "yearly");
}

TEST(SubscriptionState, ExactTransitionTable) {
  testing::expect_exact_table<S>(
      {
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
      },
      "subscription");
  EXPECT_TRUE(is_terminal(S::kErased));
  EXPECT_FALSE(is_terminal(S::kCancelled));
}

TEST(SubscriptionState, CycleLengths) {
  EXPECT_EQ(cycle_seconds(BillingCycle::kMonthly), 30 * kDay);
  EXPECT_EQ(cycle_seconds(BillingCycle::kYearly), 365 * kDay);
  EXPECT_EQ(kGraceSeconds, 3 * kDay);
}

TEST(SubscriptionState, ActiveMovesToGraceThenSuspendedThenErased) {
  Subscription s = sub_in(S::kActive, kT0);
  EXPECT_EQ(due_state(s, kT0 - 1), S::kActive);
  EXPECT_EQ(due_state(s, kT0), S::kGrace);
  EXPECT_EQ(due_state(s, kT0 + 3 * kDay - 1), S::kGrace);
  // Missed the grace step entirely (scheduler was down): straight to suspended.
  EXPECT_EQ(due_state(s, kT0 + 3 * kDay), S::kSuspended);

  s.state = S::kGrace;
  EXPECT_EQ(due_state(s, kT0 + 3 * kDay - 1), S::kGrace);
  EXPECT_EQ(due_state(s, kT0 + 3 * kDay), S::kSuspended);

  s.state = S::kSuspended;
  EXPECT_EQ(due_state(s, kT0 + 33 * kDay - 1), S::kSuspended);
  EXPECT_EQ(due_state(s, kT0 + 33 * kDay), S::kErased);

  s.state = S::kErased;
  EXPECT_EQ(due_state(s, kT0 + 1000 * kDay), S::kErased);
}

TEST(SubscriptionState, DueStateIsAlwaysALegalStep) {
  for (S state : all_values<S>()) {
    Subscription s = sub_in(state, kT0);
    s.cancelled_at = kT0 - kDay;
    for (std::int64_t offset : {-kDay, 0L, kDay, 3 * kDay, 40 * kDay, 400 * kDay}) {
      const S due = due_state(s, kT0 + offset);
      if (due != state) {
        EXPECT_TRUE(can_transition(state, due)) << to_string(state) << " -> " << to_string(due);
      }
    }
  }
}

TEST(SubscriptionState, TrialEndsInSuspensionWithoutGrace) {
  Subscription s = sub_in(S::kTrial, kT0);
  EXPECT_EQ(due_state(s, kT0 - 1), S::kTrial);
  EXPECT_EQ(due_state(s, kT0), S::kSuspended);
}

TEST(SubscriptionState, CancelledIsErasedAfterRetentionFromLaterOfEndAndCancel) {
  Subscription s = sub_in(S::kCancelled, kT0);
  s.cancelled_at = kT0 + 5 * kDay;  // cancelled after the period ended
  EXPECT_EQ(due_state(s, kT0 + 35 * kDay - 1), S::kCancelled);
  EXPECT_EQ(due_state(s, kT0 + 35 * kDay), S::kErased);
  s.cancelled_at = kT0 - 10 * kDay;  // cancelled early: paid days still count
  EXPECT_EQ(due_state(s, kT0 + 30 * kDay - 1), S::kCancelled);
  EXPECT_EQ(due_state(s, kT0 + 30 * kDay), S::kErased);
}

TEST(SubscriptionState, EntityTransitionStampsCancel) {
  Subscription s = sub_in(S::kActive, kT0);
  ASSERT_TRUE(transition(s, S::kCancelled, kT0 - 5));
  EXPECT_EQ(s.state, S::kCancelled);
  EXPECT_EQ(s.cancelled_at, kT0 - 5);
  EXPECT_EQ(s.updated_at, kT0 - 5);
  auto bad = transition(s, S::kGrace, kT0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(s.state, S::kCancelled);
  EXPECT_EQ(s.updated_at, kT0 - 5);
}

TEST(SubscriptionState, EarlyRenewalKeepsPaidDays) {
  Subscription s = sub_in(S::kActive, kT0);
  const std::int64_t start = s.period_start;
  ASSERT_TRUE(renew(s, BillingCycle::kMonthly, kT0 - 10 * kDay));
  EXPECT_EQ(s.state, S::kActive);
  EXPECT_EQ(s.period_end, kT0 + 30 * kDay);
  EXPECT_EQ(s.period_start, start);
  EXPECT_EQ(s.updated_at, kT0 - 10 * kDay);
}

TEST(SubscriptionState, LateRenewalStartsNow) {
  Subscription s = sub_in(S::kGrace, kT0);
  const std::int64_t now = kT0 + 2 * kDay;
  ASSERT_TRUE(renew(s, BillingCycle::kYearly, now));
  EXPECT_EQ(s.state, S::kActive);
  EXPECT_EQ(s.cycle, BillingCycle::kYearly);
  EXPECT_EQ(s.period_start, now);
  EXPECT_EQ(s.period_end, now + 365 * kDay);

  Subscription c = sub_in(S::kCancelled, kT0);
  c.cancelled_at = kT0;
  ASSERT_TRUE(renew(c, BillingCycle::kMonthly, kT0 + kDay));
  EXPECT_FALSE(c.cancelled_at.has_value());
  EXPECT_EQ(c.period_end, kT0 + 31 * kDay);
}

TEST(SubscriptionState, ErasedCannotRenew) {
  Subscription s = sub_in(S::kErased, kT0);
  auto r = renew(s, BillingCycle::kMonthly, kT0 + 100 * kDay);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_EQ(s.state, S::kErased);
  EXPECT_EQ(s.period_end, kT0);
}

TEST(SubscriptionState, AnotherPackageTakesTheUnusedPaidTimeAtItsOwnPrice) {
  const Money usd10{1000, Currency::kUsd}, usd30{3000, Currency::kUsd}, usd100{10000, Currency::kUsd};
  Subscription s = sub_in(S::kActive, kT0);  // monthly, period ends at kT0
  const std::int64_t now = kT0 - 15 * kDay;  // 15 days left, worth $5 at $10 a month
  EXPECT_EQ(carried_seconds(s, usd10, BillingCycle::kMonthly, usd30, now), 5 * kDay);   // upgrade
  EXPECT_EQ(carried_seconds(s, usd30, BillingCycle::kMonthly, usd10, now), 45 * kDay);  // downgrade
  EXPECT_EQ(carried_seconds(s, usd10, BillingCycle::kYearly, usd100, now), 1'576'800);  // $5 of $100/365 d
  EXPECT_EQ(carried_seconds(s, usd10, BillingCycle::kMonthly, Money{0, Currency::kUsd}, now), 15 * kDay);

  // Nothing to carry: no time left, a trial, a free old package, another currency.
  EXPECT_EQ(carried_seconds(s, usd10, BillingCycle::kMonthly, usd30, kT0), 0);
  EXPECT_EQ(carried_seconds(sub_in(S::kGrace, kT0), usd10, BillingCycle::kMonthly, usd30, now), 0);
  EXPECT_EQ(carried_seconds(sub_in(S::kTrial, kT0), usd10, BillingCycle::kMonthly, usd30, now), 0);
  EXPECT_EQ(carried_seconds(s, Money{0, Currency::kUsd}, BillingCycle::kMonthly, usd30, now), 0);
  EXPECT_EQ(carried_seconds(s, usd10, BillingCycle::kMonthly, Money{30'000'000, Currency::kIrr}, now), 0);

  // A near-free new package does not turn days into decades.
  Subscription year = sub_in(S::kActive, kT0 + 300 * kDay);
  year.cycle = BillingCycle::kYearly;
  EXPECT_EQ(
      carried_seconds(year, Money{100'000'000, Currency::kIrr}, BillingCycle::kMonthly, Money{1, Currency::kIrr}, kT0),
      kMaxCarrySeconds);
}

}  // namespace
}  // namespace ms::domain
