// Refunding money that went into a wallet: the wallet gives it up first (once), a spent
// top-up is refused before any gateway hears of it, and a refused refund gives it back
// (once) — through PayPal over real HTTP, on SQLite and PostgreSQL, crashes included.
#include "payments_fixture.hpp"

namespace ms::payments {
namespace {

class WalletRefundTest : public PaymentsTest {
 protected:
  // A top-up of `rial` into a Rial wallet paid through PayPal (charged in USD at the
  // owner's 600,000 IRR/USD, rounded up; the wallet is credited what arrived, converted back).
  PaymentRecord topped_up(std::int64_t user, std::int64_t rial) {
    auto c = service_->top_up(user, {rial, Currency::kIrr}, PaymentMethod::kPayPal);
    EXPECT_TRUE(c) << c.error().to_string();
    if (!c) return {};
    EXPECT_TRUE(gw_->paypal_approve(*c->payment.provider_ref));
    EXPECT_EQ(*service_->poll(c->payment.id), Outcome::kPaid);
    return payment(c->payment.id);
  }
  std::int64_t balance(std::int64_t user) { return service_->ledger().balance(user)->minor; }
  std::int64_t rows_with(std::int64_t user, const std::string& reason) {
    return count("SELECT COUNT(*) AS n FROM wallet_ledger WHERE user_id = :u AND reason = :r",
                 {{"u", user}, {"r", reason}});
  }
  void expect_consistent(std::int64_t user) { EXPECT_EQ(service_->ledger().sum_of_rows(user)->minor, balance(user)); }
};

TEST_P(WalletRefundTest, AFullRefundTakesBackExactlyWhatTheTopUpCredited) {
  const auto user = add_user(300);
  const auto p = topped_up(user, 6'000'000);
  EXPECT_EQ(p.amount, (Money{1'000, Currency::kUsd}));
  EXPECT_EQ(balance(user), 6'000'000);

  auto r = service_->refund(p.id, "changed their mind");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->state, PaymentState::kRefunded);
  EXPECT_EQ(gw_->paypal_refunds(), 1);
  EXPECT_EQ(balance(user), 0);  // not 6,000,000 in the wallet and $10 back on the card
  EXPECT_EQ(rows_with(user, "top_up_refund"), 1);
  expect_consistent(user);
}

TEST_P(WalletRefundTest, PartialRefundsTakeBackTheirShareAndTogetherExactlyTheCredit) {
  const auto user = add_user(301);
  // 1,000,001 IRR is $1.67 rounded up; the $1.67 that arrived is credited as 1,002,000 IRR.
  const auto p = topped_up(user, 1'000'001);
  ASSERT_EQ(p.amount, (Money{167, Currency::kUsd}));
  ASSERT_EQ(balance(user), 1'002'000);

  ASSERT_TRUE(service_->refund(p.id, "part", Money{100, Currency::kUsd}));
  EXPECT_EQ(balance(user), 1'002'000 - 600'000);  // 100/167 of 1,002,000
  ASSERT_TRUE(service_->refund(p.id, "a cent", Money{1, Currency::kUsd}));
  EXPECT_EQ(balance(user), 1'002'000 - 606'000);  // ceil(101/167 of it)
  auto rest = service_->refund(p.id, "the rest");
  ASSERT_TRUE(rest) << rest.error().to_string();
  EXPECT_EQ(rest->state, PaymentState::kRefunded);
  EXPECT_EQ(balance(user), 0);
  EXPECT_EQ(rows_with(user, "top_up_refund"), 3);
  EXPECT_EQ(gw_->paypal_refunds(), 3);
  expect_consistent(user);
}

TEST_P(WalletRefundTest, ASpentTopUpIsRefusedBeforeTheGatewayHearsOfIt) {
  const auto user = add_user(302);
  const auto p = topped_up(user, 6'000'000);
  const auto order = add_order(user, {5'000'000, Currency::kIrr});
  ASSERT_TRUE(service_->pay_order(order, PaymentMethod::kWallet));
  ASSERT_EQ(balance(user), 1'000'000);

  auto refused = service_->refund(p.id, "wants it all back");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kLimitExceeded);
  EXPECT_NE(refused.error().message.find("already spent"), std::string::npos) << refused.error().message;
  EXPECT_EQ(gw_->paypal_refund_posts(), 0);
  EXPECT_EQ(balance(user), 1'000'000);
  EXPECT_EQ(payment(p.id).state, PaymentState::kPaid);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payment_refunds WHERE payment_id = :p", {{"p", p.id}}), 0);

  // What is still in the wallet can be refunded: $1 is 600,000 IRR of it.
  auto part = service_->refund(p.id, "what is left", Money{100, Currency::kUsd});
  ASSERT_TRUE(part) << part.error().to_string();
  EXPECT_EQ(balance(user), 400'000);
  EXPECT_EQ(gw_->paypal_refunds(), 1);
  expect_consistent(user);
}

TEST_P(WalletRefundTest, ARefusedRefundGivesTheWalletItsMoneyBackOnce) {
  const auto user = add_user(303);
  const auto p = topped_up(user, 6'000'000);
  ASSERT_TRUE(p.charge_ref);
  // Refunded meanwhile from PayPal's dashboard: PayPal will refuse ours.
  PaymentProvider* pp = service_->provider(PaymentMethod::kPayPal);
  ProviderPayment view{p.id, p.reference(), p.provider_ref, p.amount, 303, p.charge_ref};
  ASSERT_TRUE(pp->refund(view, RefundRequest{*p.charge_ref, std::nullopt, "dashboard"}));

  auto r = service_->refund(p.id, "customer asked");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict) << r.error().to_string();
  EXPECT_EQ(balance(user), 6'000'000);
  EXPECT_EQ(rows_with(user, "top_up_refund"), 1);
  EXPECT_EQ(rows_with(user, "top_up_refund_reversed"), 1);
  auto rows = service_->refunds(p.id);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].status, "failed");
  // Resolving again finds nothing open: no second credit.
  EXPECT_EQ(service_->recover()->refunds_resolved, 0);
  EXPECT_EQ(rows_with(user, "top_up_refund_reversed"), 1);
  expect_consistent(user);
}

TEST_P(WalletRefundTest, ACrashBeforeTheGatewayCallIsResumedAndDebitsOnce) {
  const auto user = add_user(304);
  const auto p = topped_up(user, 6'000'000);
  struct Crash {};
  auto dying = make_service([](std::string_view point) {
    if (point == "after_refund_recorded") throw Crash{};
  });
  EXPECT_THROW(dying->refund(p.id, "customer asked"), Crash);
  dying.reset();
  EXPECT_EQ(gw_->paypal_refund_posts(), 0);
  EXPECT_EQ(balance(user), 0);  // taken with the refund's record, before PayPal was asked

  auto report = service_->recover();
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->refunds_resolved, 1);
  EXPECT_EQ(gw_->paypal_refunds(), 1);
  EXPECT_EQ(payment(p.id).state, PaymentState::kRefunded);
  EXPECT_EQ(balance(user), 0);
  EXPECT_EQ(rows_with(user, "top_up_refund"), 1);
  EXPECT_EQ(rows_with(user, "top_up_refund_reversed"), 0);
  expect_consistent(user);
}

TEST_P(WalletRefundTest, ACrashThenARefusalOnResumeGivesTheMoneyBack) {
  const auto user = add_user(305);
  const auto p = topped_up(user, 6'000'000);
  struct Crash {};
  auto dying = make_service([](std::string_view point) {
    if (point == "after_refund_recorded") throw Crash{};
  });
  EXPECT_THROW(dying->refund(p.id, "customer asked"), Crash);
  dying.reset();
  ASSERT_EQ(balance(user), 0);
  // While we were down, the owner refunded it by hand at PayPal.
  PaymentProvider* pp = service_->provider(PaymentMethod::kPayPal);
  ProviderPayment view{p.id, p.reference(), p.provider_ref, p.amount, 305, p.charge_ref};
  ASSERT_TRUE(pp->refund(view, RefundRequest{*p.charge_ref, std::nullopt, "dashboard"}));

  ASSERT_TRUE(service_->recover());
  EXPECT_EQ(balance(user), 6'000'000);
  EXPECT_EQ(rows_with(user, "top_up_refund_reversed"), 1);
  EXPECT_EQ(service_->refunds(p.id)->at(0).status, "failed");
  EXPECT_EQ(gw_->paypal_refunds(), 1);  // the owner's, not ours
  expect_consistent(user);
}

TEST_P(WalletRefundTest, ACrashAfterTheGatewayRefundedDebitsOnce) {
  const auto user = add_user(306);
  const auto p = topped_up(user, 6'000'000);
  struct Crash {};
  auto dying = make_service([](std::string_view point) {
    if (point == "after_gateway_refunded") throw Crash{};
  });
  EXPECT_THROW(dying->refund(p.id, "customer asked", Money{500, Currency::kUsd}), Crash);
  dying.reset();
  EXPECT_EQ(balance(user), 3'000'000);
  ASSERT_EQ(service_->recover()->refunds_resolved, 1);
  EXPECT_EQ(gw_->paypal_refunds(), 1);
  EXPECT_EQ(balance(user), 3'000'000);
  EXPECT_EQ(rows_with(user, "top_up_refund"), 1);
  EXPECT_EQ(payment(p.id).state, PaymentState::kPaid);
  expect_consistent(user);
}

TEST_P(WalletRefundTest, AnOrderPaidAfterExpiryIsTakenBackFromTheWalletItWentTo) {
  const auto user = add_user(307);
  const auto order = add_order(user, {6'000'000, Currency::kIrr});
  auto c = service_->pay_order(order, PaymentMethod::kPayPal);
  ASSERT_TRUE(c) << c.error().to_string();
  clock_.advance(std::chrono::hours(2));
  ASSERT_EQ(*service_->expire_due(), 1);
  ASSERT_TRUE(gw_->paypal_approve(*c->payment.provider_ref));
  ASSERT_EQ(*service_->poll(c->payment.id), Outcome::kCreditedToWallet);
  ASSERT_EQ(balance(user), 6'000'000);
  auto r = service_->refund(c->payment.id, "the order was gone");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(balance(user), 0);
  expect_consistent(user);
}

TEST_P(WalletRefundTest, ZarinpalRefundsAreLeftToItsPanelAndTheWalletKeepsItsMoney) {
  const auto user = add_user(308);
  auto c = service_->top_up(user, {2'000'000, Currency::kIrr}, PaymentMethod::kZarinpal);
  ASSERT_TRUE(c) << c.error().to_string();
  auto callback = gw_->zarinpal_pay(*c->payment.provider_ref);
  ASSERT_TRUE(callback);
  ASSERT_TRUE(get(*callback));
  ASSERT_EQ(balance(user), 2'000'000);
  auto r = service_->refund(c->payment.id, "customer asked");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("panel"), std::string::npos) << r.error().message;
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPaid);
  EXPECT_EQ(balance(user), 2'000'000);
  EXPECT_EQ(service_->refunds(c->payment.id)->at(0).status, "failed");
  expect_consistent(user);
}

INSTANTIATE_TEST_SUITE_P(Backends, WalletRefundTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::payments
