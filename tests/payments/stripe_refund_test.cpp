// Stripe refunds through the Refunds API: full and partial, exactly once, against the strict
// Stripe test server (amount <= what is left, Idempotency-Key replays, lost answers); and a
// partial Telegram Stars refund refused for what it is. SQLite and PostgreSQL.
#include "payments_fixture.hpp"

namespace ms::payments {
namespace {

class StripeRefundTest : public PaymentsTest {
 protected:
  // An order of `cents` USD paid through Stripe Checkout (the webhook delivered).
  PaymentRecord paid(std::int64_t tg, std::int64_t cents) {
    const auto user = add_user(tg);
    const auto order = add_order(user, {cents, Currency::kUsd});
    auto c = service_->pay_order(order, PaymentMethod::kStripe);
    EXPECT_TRUE(c) << c.error().to_string();
    if (!c) return {};
    auto done = gw_->stripe_complete(*c->payment.provider_ref);
    EXPECT_TRUE(done);
    EXPECT_EQ(*gw_->deliver(*done), 200);
    return payment(c->payment.id);
  }
  std::vector<RefundRecord> refunds(std::int64_t id) {
    auto r = service_->refunds(id);
    EXPECT_TRUE(r) << r.error().to_string();
    return r.value_or(std::vector<RefundRecord>{});
  }
};

TEST_P(StripeRefundTest, PartialThenTheRestAndNeverMoreThanWasPaid) {
  const auto p = paid(400, 2'500);
  ASSERT_EQ(p.state, PaymentState::kPaid);
  const std::string session = *p.provider_ref;

  auto part = service_->refund(p.id, "one month unused", Money{1'000, Currency::kUsd});
  ASSERT_TRUE(part) << part.error().to_string();
  EXPECT_EQ(part->state, PaymentState::kPaid);
  EXPECT_EQ(gw_->stripe_refunded(session), 1'000);
  auto rows = refunds(p.id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "completed");
  EXPECT_EQ(rows[0].provider_ref.value_or("").rfind("re_", 0), 0u);
  EXPECT_EQ(outbox("user_notice", "partially_refunded:" + std::to_string(rows[0].id)), 1);

  // 15.00 is left: 20.00 is refused before Stripe hears of it.
  auto over = service_->refund(p.id, "too much", Money{2'000, Currency::kUsd});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(gw_->stripe_refund_posts(), 1);

  auto rest = service_->refund(p.id, "the rest");
  ASSERT_TRUE(rest) << rest.error().to_string();
  EXPECT_EQ(rest->state, PaymentState::kRefunded);
  EXPECT_EQ(gw_->stripe_refunded(session), 2'500);
  EXPECT_EQ(gw_->stripe_refunds(), 2);
  EXPECT_EQ(refunds(p.id).at(1).amount, (Money{1'500, Currency::kUsd}));
  EXPECT_EQ(outbox("user_notice", "refunded"), 1);
  EXPECT_EQ(service_->refund(p.id, "again").error().code, ErrorCode::kConflict);
  EXPECT_EQ(gw_->stripe_refunds(), 2);
}

TEST_P(StripeRefundTest, StripesOwnRulesMapToValues) {
  const auto p = paid(401, 2'500);
  PaymentProvider* st = service_->provider(PaymentMethod::kStripe);
  ProviderPayment view{p.id, p.reference(), p.provider_ref, p.amount, 401, p.charge_ref};
  auto over = st->refund(view, RefundRequest{"", Money{3'000, Currency::kUsd}, "k-over"});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(over.error().message.find("amount_too_large"), std::string::npos) << over.error().message;

  RefundRequest part{"", Money{500, Currency::kUsd}, "k-part"};
  auto done = st->refund(view, part);
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_FALSE(done->pending);
  // The same key is Stripe's replay of that refund, not a second one.
  auto replay = st->refund(view, part);
  ASSERT_TRUE(replay) << replay.error().to_string();
  EXPECT_EQ(replay->refund_ref, done->refund_ref);
  EXPECT_EQ(gw_->stripe_refunds(), 1);
  // The same key with other parameters is refused by Stripe.
  auto other = st->refund(view, RefundRequest{"", Money{600, Currency::kUsd}, "k-part"});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(other.error().message.find("idempotency"), std::string::npos) << other.error().message;

  ASSERT_TRUE(st->refund(view, RefundRequest{"", std::nullopt, "k-rest"}));
  EXPECT_EQ(gw_->stripe_refunded(*p.provider_ref), 2'500);
  auto more = st->refund(view, RefundRequest{"", std::nullopt, "k-more"});
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().code, ErrorCode::kConflict) << more.error().to_string();
}

TEST_P(StripeRefundTest, ARefundWhoseAnswerWasLostIsFoundNotRepeated) {
  const auto p = paid(402, 2'500);
  gw_->set_fault("stripe_refunds", testing::Fault::kLoseAnswer);
  auto lost = service_->refund(p.id, "customer asked", Money{700, Currency::kUsd});
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kUnavailable) << lost.error().to_string();
  EXPECT_EQ(gw_->stripe_refunds(), 1);  // Stripe did it; we could not know
  EXPECT_EQ(refunds(p.id).at(0).status, "requested");

  auto again = service_->refund(p.id, "customer asked");
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->state, PaymentState::kPaid);
  EXPECT_EQ(gw_->stripe_refund_posts(), 1);  // found in the payment's refunds, not posted again
  EXPECT_EQ(gw_->stripe_refunded(*p.provider_ref), 700);
  ASSERT_EQ(refunds(p.id).size(), 1u);
  EXPECT_EQ(refunds(p.id)[0].status, "completed");
}

TEST_P(StripeRefundTest, ACrashAfterStripeRefundedIsResolvedOnRecovery) {
  const auto p = paid(403, 2'500);
  struct Crash {};
  auto dying = make_service([](std::string_view point) {
    if (point == "after_gateway_refunded") throw Crash{};
  });
  EXPECT_THROW(dying->refund(p.id, "customer asked"), Crash);
  dying.reset();
  EXPECT_EQ(refunds(p.id).at(0).status, "requested");
  auto report = service_->recover();
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->refunds_resolved, 1);
  EXPECT_EQ(gw_->stripe_refunds(), 1);
  EXPECT_EQ(gw_->stripe_refund_posts(), 1);
  EXPECT_EQ(payment(p.id).state, PaymentState::kRefunded);
}

TEST_P(StripeRefundTest, APartialRefundOfAStripeTopUpTakesItsShareFromTheWallet) {
  const auto user = add_user(404);
  auto c = service_->top_up(user, {6'000'000, Currency::kIrr}, PaymentMethod::kStripe);
  ASSERT_TRUE(c) << c.error().to_string();
  auto done = gw_->stripe_complete(*c->payment.provider_ref);
  ASSERT_TRUE(done);
  ASSERT_EQ(*gw_->deliver(*done), 200);
  ASSERT_EQ(service_->ledger().balance(user)->minor, 6'000'000);
  ASSERT_TRUE(service_->refund(c->payment.id, "part", Money{250, Currency::kUsd}));
  EXPECT_EQ(service_->ledger().balance(user)->minor, 4'500'000);
  EXPECT_EQ(gw_->stripe_refunded(*c->payment.provider_ref), 250);
}

TEST_P(StripeRefundTest, TelegramStarsRefundsOnlyInFull) {
  const auto user = add_user(405);
  const auto order = add_order(user, {250, Currency::kXtr});
  auto c = service_->pay_order(order, PaymentMethod::kTelegramStars);
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_EQ(*service_->stars_paid(c->action.invoice_payload, "XTR", 250, "stxPART"), Outcome::kPaid);
  auto part = service_->refund(c->payment.id, "half", Money{100, Currency::kXtr});
  ASSERT_FALSE(part);
  EXPECT_EQ(part.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(part.error().message.find("no partial refunds"), std::string::npos) << part.error().message;
  EXPECT_TRUE(refunder_->calls.empty());
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPaid);
  auto whole = service_->refund(c->payment.id, "all of it");
  ASSERT_TRUE(whole) << whole.error().to_string();
  EXPECT_EQ(whole->state, PaymentState::kRefunded);
  EXPECT_EQ(refunder_->calls.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StripeRefundTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::payments
