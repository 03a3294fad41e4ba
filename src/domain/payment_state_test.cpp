#include "domain/payment_state.hpp"

#include <gtest/gtest.h>

#include "domain/payment.hpp"
#include "domain/state_table_testing.hpp"

namespace ms::domain {
namespace {

using S = PaymentState;

TEST(PaymentState, NamesRoundTrip) {
  testing::expect_names_round_trip<S>(7);
  EXPECT_EQ(to_string(S::kAwaitingReview), "awaiting_review");
  EXPECT_EQ(parse<S>("refunded"), S::kRefunded);
}

TEST(PaymentState, ExactTransitionTable) {
  testing::expect_exact_table<S>(
      {
          {S::kCreated, S::kPending},
          {S::kCreated, S::kExpired},
          {S::kPending, S::kAwaitingReview},
          {S::kPending, S::kPaid},
          {S::kPending, S::kRejected},
          {S::kPending, S::kExpired},
          {S::kAwaitingReview, S::kPaid},
          {S::kAwaitingReview, S::kRejected},
          {S::kRejected, S::kPending},
          {S::kExpired, S::kPaid},
          {S::kPaid, S::kRefunded},
      },
      "payment");
}

TEST(PaymentState, OnlyRefundedIsFinal) {
  for (S s : all_values<S>()) EXPECT_EQ(is_terminal(s), s == S::kRefunded) << to_string(s);
}

TEST(PaymentState, ReviewNeverTimesOutAndApprovalWorksOnce) {
  EXPECT_FALSE(can_transition(S::kAwaitingReview, S::kExpired));
  Payment p;
  p.state = S::kAwaitingReview;
  ASSERT_TRUE(transition(p, S::kPaid, 10));
  // A second click on "approve" or a late "reject" is refused and changes nothing.
  auto again = transition(p, S::kPaid, 11);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  auto reject = transition(p, S::kRejected, 12);
  ASSERT_FALSE(reject);
  EXPECT_EQ(p.state, S::kPaid);
  EXPECT_EQ(p.updated_at, 10);
}

TEST(PaymentState, RejectedReceiptCanBeResubmitted) {
  Payment p;
  for (S next :
       {S::kPending, S::kAwaitingReview, S::kRejected, S::kPending, S::kAwaitingReview, S::kPaid, S::kRefunded}) {
    ASSERT_TRUE(transition(p, next, 5)) << to_string(next);
  }
  EXPECT_EQ(p.state, S::kRefunded);
}

TEST(PaymentState, LateGatewayConfirmationIsRecorded) {
  Payment p;
  p.state = S::kExpired;
  ASSERT_TRUE(transition(p, S::kPaid, 7));
  EXPECT_EQ(p.state, S::kPaid);
}

}  // namespace
}  // namespace ms::domain
