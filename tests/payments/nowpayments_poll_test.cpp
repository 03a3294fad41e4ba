// NOWPayments polling: an invoice whose IPN was lost is settled by asking NOWPayments (the
// payment's status once an IPN named it; else the invoice's payments, listed with the
// account's JWT), against the strict test server, on SQLite and PostgreSQL.
#include <nlohmann/json.hpp>

#include "payments_fixture.hpp"

namespace ms::payments {
namespace {

class NowPaymentsPollTest : public PaymentsTest {
 protected:
  Checkout started(std::int64_t tg, std::int64_t cents, std::int64_t* order = nullptr) {
    const auto user = add_user(tg);
    const auto o = add_order(user, {cents, Currency::kUsd});
    if (order) *order = o;
    auto c = service_->pay_order(o, PaymentMethod::kNowPayments);
    EXPECT_TRUE(c) << c.error().to_string();
    return c.value_or(Checkout{});
  }
  static std::int64_t payment_id_of(const testing::Delivery& d) {
    return nlohmann::json::parse(d.body)["payment_id"].get<std::int64_t>();
  }
};

TEST_P(NowPaymentsPollTest, ALostIpnIsRecoveredByListingTheInvoicesPayments) {
  std::int64_t order = 0;
  const auto c = started(500, 1'050, &order);
  EXPECT_EQ(*service_->poll(c.payment.id), Outcome::kNoChange);  // nothing paid yet
  // The payer pays; the IPN never reaches us.
  auto lost = gw_->nowpayments_pay(*c.payment.provider_ref, "finished");
  ASSERT_TRUE(lost);
  auto polled = service_->poll(c.payment.id);
  ASSERT_TRUE(polled) << polled.error().to_string();
  EXPECT_EQ(*polled, Outcome::kPaid);
  EXPECT_EQ(order_status(order), "paid");
  EXPECT_EQ(payment(c.payment.id).charge_ref.value_or(""), std::to_string(payment_id_of(*lost)));
  // The IPN arrives after all: the same event, applied once.
  EXPECT_EQ(*gw_->deliver(*lost), 200);
  EXPECT_EQ(*service_->poll(c.payment.id), Outcome::kAlreadyApplied);
  EXPECT_EQ(outbox("fulfil_order"), 1);
}

TEST_P(NowPaymentsPollTest, OnceAnIpnNamedThePaymentItsStatusIsAskedWithoutALogin) {
  nowpayments_login_ = false;
  service_ = make_service();
  const auto c = started(501, 1'050);
  auto confirming = gw_->nowpayments_pay(*c.payment.provider_ref, "confirming");
  ASSERT_TRUE(confirming);
  // Without the account's login an invoice alone cannot be asked about.
  EXPECT_EQ(*service_->poll(c.payment.id), Outcome::kNoChange);
  EXPECT_EQ(gw_->nowpayments_status_calls(), 0);
  ASSERT_EQ(*gw_->deliver(*confirming), 200);
  EXPECT_EQ(payment(c.payment.id).state, PaymentState::kPending);
  // It finishes; that IPN is lost.
  ASSERT_TRUE(gw_->nowpayments_update(payment_id_of(*confirming), "finished"));
  auto report = service_->recover();
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->settled, 1);
  EXPECT_EQ(gw_->nowpayments_status_calls(), 1);
  EXPECT_EQ(payment(c.payment.id).state, PaymentState::kPaid);
}

TEST_P(NowPaymentsPollTest, APartialPaymentFoundByPollingIsFlaggedNotCredited) {
  std::int64_t order = 0;
  const auto c = started(502, 2'000, &order);
  ASSERT_TRUE(gw_->nowpayments_pay(*c.payment.provider_ref, "partially_paid", 0.5));
  EXPECT_EQ(*service_->poll(c.payment.id), Outcome::kFlagged);
  auto p = payment(c.payment.id);
  EXPECT_EQ(p.state, PaymentState::kAwaitingReview);
  EXPECT_EQ(p.flag.value_or(""), "partially_paid");
  EXPECT_EQ(order_status(order), "awaiting_payment");
}

TEST_P(NowPaymentsPollTest, OfSeveralPaymentsOfAnInvoiceTheFinishedOneCounts) {
  const auto c = started(503, 1'050);
  ASSERT_TRUE(gw_->nowpayments_pay(*c.payment.provider_ref, "expired"));
  ASSERT_TRUE(gw_->nowpayments_pay(*c.payment.provider_ref, "finished"));
  ASSERT_TRUE(gw_->nowpayments_pay(*c.payment.provider_ref, "waiting"));
  EXPECT_EQ(*service_->poll(c.payment.id), Outcome::kPaid);
}

TEST_P(NowPaymentsPollTest, AWrongLoginOrAnUnreachableGatewayIsAnErrorNotAVerdict) {
  const std::string right = gw_options_.nowpayments_password;
  gw_options_.nowpayments_password = "changed";
  service_ = make_service();
  const auto c = started(504, 1'050);
  ASSERT_TRUE(gw_->nowpayments_pay(*c.payment.provider_ref, "finished"));
  auto refused = service_->poll(c.payment.id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated) << refused.error().to_string();
  gw_options_.nowpayments_password = right;
  service_ = make_service();
  gw_->set_fault("nowpayments", testing::Fault::kGarbage);
  EXPECT_EQ(service_->poll(c.payment.id).error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(payment(c.payment.id).state, PaymentState::kPending);
  EXPECT_EQ(*service_->poll(c.payment.id), Outcome::kPaid);
}

INSTANTIATE_TEST_SUITE_P(Backends, NowPaymentsPollTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::payments
