#include "domain/order_state.hpp"

#include <gtest/gtest.h>

#include "domain/state_table_testing.hpp"
#include "domain/tenant_entities.hpp"

namespace ms::domain {
namespace {

using S = OrderState;

TEST(OrderState, NamesRoundTrip) {
  testing::expect_names_round_trip<S>(9);
  EXPECT_EQ(to_string(S::kAwaitingPayment), "awaiting_payment");
  EXPECT_EQ(to_string(S::kRefundedToWallet), "refunded_to_wallet");
  EXPECT_EQ(parse<S>("provisioning_failed"), S::kProvisioningFailed);
}

TEST(OrderState, ExactTransitionTable) {
  testing::expect_exact_table<S>(
      {
          {S::kCreated, S::kAwaitingPayment},
          {S::kCreated, S::kCancelled},
          {S::kAwaitingPayment, S::kPaid},
          {S::kAwaitingPayment, S::kExpired},
          {S::kAwaitingPayment, S::kCancelled},
          {S::kPaid, S::kProvisioning},
          {S::kProvisioning, S::kFulfilled},
          {S::kProvisioning, S::kProvisioningFailed},
          {S::kProvisioningFailed, S::kProvisioning},
          {S::kProvisioningFailed, S::kRefundedToWallet},
      },
      "order");
}

TEST(OrderState, TerminalStates) {
  EXPECT_TRUE(is_terminal(S::kFulfilled));
  EXPECT_TRUE(is_terminal(S::kExpired));
  EXPECT_TRUE(is_terminal(S::kCancelled));
  EXPECT_TRUE(is_terminal(S::kRefundedToWallet));
  EXPECT_FALSE(is_terminal(S::kProvisioningFailed));
  EXPECT_FALSE(is_terminal(S::kCreated));
}

TEST(OrderState, PaidNeverGoesBackToUnpaid) {
  for (S from : all_values<S>()) {
    if (!is_paid(from)) continue;
    for (S to : all_values<S>()) {
      if (!is_paid(to)) {
        EXPECT_FALSE(can_transition(from, to)) << to_string(from) << " -> " << to_string(to);
      }
    }
  }
  EXPECT_TRUE(is_paid(S::kRefundedToWallet));
  EXPECT_FALSE(is_paid(S::kAwaitingPayment));
  EXPECT_FALSE(is_paid(S::kExpired));
}

TEST(OrderState, IllegalMessageNamesFinalState) {
  auto r = transition(S::kFulfilled, S::kPaid);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "order cannot go from fulfilled to paid (fulfilled is final)");
  auto r2 = transition(S::kPaid, S::kAwaitingPayment);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().message, "order cannot go from paid to awaiting_payment");
}

TEST(OrderState, EntityTransitionAppliesOrLeavesUntouched) {
  Order order;
  order.state = S::kAwaitingPayment;
  order.updated_at = 100;
  auto bad = transition(order, S::kFulfilled, 200);
  ASSERT_FALSE(bad);
  EXPECT_EQ(order.state, S::kAwaitingPayment);
  EXPECT_EQ(order.updated_at, 100);

  auto good = transition(order, S::kPaid, 300);
  ASSERT_TRUE(good);
  EXPECT_EQ(order.state, S::kPaid);
  EXPECT_EQ(order.updated_at, 300);
}

TEST(OrderState, HappyPathAndRefundPath) {
  Order order;
  for (S next : {S::kAwaitingPayment, S::kPaid, S::kProvisioning, S::kFulfilled}) {
    ASSERT_TRUE(transition(order, next, 1)) << to_string(next);
  }
  EXPECT_EQ(order.state, S::kFulfilled);

  Order failed;
  for (S next : {S::kAwaitingPayment, S::kPaid, S::kProvisioning, S::kProvisioningFailed, S::kProvisioning,
                 S::kProvisioningFailed, S::kRefundedToWallet}) {
    ASSERT_TRUE(transition(failed, next, 1)) << to_string(next);
  }
  EXPECT_TRUE(is_terminal(failed.state));
}

}  // namespace
}  // namespace ms::domain
