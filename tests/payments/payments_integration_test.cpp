// src/payments against the strict gateway test servers over real HTTP on 127.0.0.1, on
// SQLite and PostgreSQL: every provider's happy path and every bad input of issue 5.
#include "payments_fixture.hpp"

namespace ms::payments {
namespace {

// ---- card-to-card ------------------------------------------------------------------------------

TEST_P(PaymentsTest, CardToCardUniqueAmountsReceiptsAndApprovalOnce) {
  const auto user = add_user(100);
  const auto o1 = add_order(user, {1'000'000, Currency::kIrr});
  const auto o2 = add_order(user, {1'000'000, Currency::kIrr});
  auto c1 = service_->pay_order(o1, PaymentMethod::kCardToCard);
  auto c2 = service_->pay_order(o2, PaymentMethod::kCardToCard);
  ASSERT_TRUE(c1) << c1.error().to_string();
  ASSERT_TRUE(c2) << c2.error().to_string();
  EXPECT_EQ(c1->action.kind, PayerAction::Kind::kCardTransfer);
  EXPECT_EQ(c1->action.card_number, "6037990000001234");
  EXPECT_GT(c1->action.amount.minor, 1'000'000);
  EXPECT_NE(c1->action.amount.minor, c2->action.amount.minor);
  EXPECT_EQ(c1->payment.state, PaymentState::kPending);
  EXPECT_EQ(order_status(o1), "awaiting_payment");

  auto r1 = service_->submit_receipt(c1->payment.id, "photo-1", "uniq-1");
  ASSERT_TRUE(r1) << r1.error().to_string();
  EXPECT_EQ(r1->state, PaymentState::kAwaitingReview);
  EXPECT_FALSE(r1->flag);

  // Eight admins press approve at once: one wins, the others are told who did.
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> admins;
  for (int i = 0; i < 8; ++i)
    admins.emplace_back([&, i] {
      auto r = service_->approve(c1->payment.id, 9000 + i);
      if (r)
        ++wins;
      else if (r.error().code == ErrorCode::kConflict)
        ++conflicts;
    });
  for (auto& t : admins) t.join();
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(conflicts, 7);
  EXPECT_EQ(payment(c1->payment.id).state, PaymentState::kPaid);
  EXPECT_EQ(order_status(o1), "paid");
  EXPECT_EQ(outbox("fulfil_order"), 1);
  auto again = service_->approve(c1->payment.id, 1);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("already paid by 90"), std::string::npos) << again.error().message;

  // The same photo for another order is flagged, and the owner told.
  auto r2 = service_->submit_receipt(c2->payment.id, "photo-1b", "uniq-1");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->state, PaymentState::kAwaitingReview);
  EXPECT_EQ(r2->flag.value_or(""), "receipt_reused");
  EXPECT_EQ(outbox("owner_notice", "receipt_reused"), 1);
  // Rejected once, resubmitted with a real receipt, approved.
  ASSERT_TRUE(service_->reject(c2->payment.id, 9001, "same photo as another order"));
  EXPECT_EQ(service_->reject(c2->payment.id, 9002, "again").error().code, ErrorCode::kConflict);
  EXPECT_EQ(order_status(o2), "awaiting_payment");
  auto r3 = service_->submit_receipt(c2->payment.id, "photo-2", "uniq-2");
  ASSERT_TRUE(r3) << r3.error().to_string();
  EXPECT_EQ(r3->state, PaymentState::kAwaitingReview);
  EXPECT_FALSE(r3->flag);
  ASSERT_TRUE(service_->approve(c2->payment.id, 9001));
  EXPECT_EQ(order_status(o2), "paid");
  EXPECT_EQ(service_->submit_receipt(c2->payment.id, "p", "u").error().code, ErrorCode::kConflict);
}

TEST_P(PaymentsTest, UnpaidOrdersExpireButReceiptsUnderReviewNever) {
  const auto user = add_user(101);
  const auto o1 = add_order(user, {500'000, Currency::kIrr});
  const auto o2 = add_order(user, {500'000, Currency::kIrr});
  auto c1 = service_->pay_order(o1, PaymentMethod::kCardToCard);
  auto c2 = service_->pay_order(o2, PaymentMethod::kCardToCard);
  ASSERT_TRUE(c1 && c2);
  ASSERT_TRUE(service_->submit_receipt(c2->payment.id, "photo", "uniq"));
  clock_.advance(std::chrono::hours(3));
  auto expired = service_->expire_due();
  ASSERT_TRUE(expired) << expired.error().to_string();
  EXPECT_EQ(*expired, 1);
  EXPECT_EQ(payment(c1->payment.id).state, PaymentState::kExpired);
  EXPECT_EQ(order_status(o1), "cancelled/expired");
  EXPECT_EQ(payment(c2->payment.id).state, PaymentState::kAwaitingReview);  // only a person decides
  EXPECT_EQ(order_status(o2), "awaiting_payment");
  EXPECT_EQ(*service_->expire_due(), 0);
  ASSERT_TRUE(service_->approve(c2->payment.id, 7));
  EXPECT_EQ(order_status(o2), "paid");
  // A receipt for the expired payment is refused; the amount is free again.
  EXPECT_EQ(service_->submit_receipt(c1->payment.id, "late", "late").error().code, ErrorCode::kConflict);
}

// ---- wallet + Zarinpal --------------------------------------------------------------------------

TEST_P(PaymentsTest, WalletTopUpThroughZarinpalThenPayFromBalance) {
  const auto user = add_user(102);
  auto top = service_->top_up(user, {2'000'000, Currency::kIrr}, PaymentMethod::kZarinpal);
  ASSERT_TRUE(top) << top.error().to_string();
  EXPECT_EQ(top->action.kind, PayerAction::Kind::kRedirect);
  EXPECT_EQ(top->action.url, gw_->base_url() + "/pg/StartPay/" + *top->payment.provider_ref);
  // The payer pays on StartPay, which sends the browser to our callback.
  auto start = get(top->action.url + "?result=OK");
  ASSERT_TRUE(start);
  ASSERT_EQ(start->status, 302);
  const std::string callback(*start->headers.get("Location"));
  EXPECT_EQ(callback.rfind(base_ + "/payments/zarinpal/t1/callback?Authority=", 0), 0u) << callback;
  auto page = get(callback);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("Your payment was received"), std::string::npos) << page->body;
  EXPECT_EQ(payment(top->payment.id).state, PaymentState::kPaid);
  EXPECT_EQ(service_->ledger().balance(user)->minor, 2'000'000);
  // The payer reloads the page: verify answers 101, nothing is credited twice.
  ASSERT_TRUE(get(callback));
  EXPECT_EQ(ledger_rows(user), 1);
  EXPECT_GE(gw_->zarinpal_verify_calls(), 1);

  const auto order = add_order(user, {1'500'000, Currency::kIrr});
  auto paid = service_->pay_order(order, PaymentMethod::kWallet);
  ASSERT_TRUE(paid) << paid.error().to_string();
  EXPECT_EQ(paid->payment.state, PaymentState::kPaid);
  EXPECT_EQ(order_status(order), "paid");
  EXPECT_EQ(service_->ledger().balance(user)->minor, 500'000);
  const auto too_much = add_order(user, {1'000'000, Currency::kIrr});
  auto refused = service_->pay_order(too_much, PaymentMethod::kWallet);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(order_status(too_much), "pending");
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payments WHERE order_id = :o", {{"o", too_much}}), 0);
  EXPECT_EQ(service_->ledger().sum_of_rows(user)->minor, 500'000);
}

TEST_P(PaymentsTest, ZarinpalUnpaidCallbackLeavesThePaymentPending) {
  const auto user = add_user(103);
  const auto order = add_order(user, {3'000'000, Currency::kIrr});
  auto c = service_->pay_order(order, PaymentMethod::kZarinpal);
  ASSERT_TRUE(c) << c.error().to_string();
  auto cb = gw_->zarinpal_pay(*c->payment.provider_ref, false);
  ASSERT_TRUE(cb);
  auto page = get(*cb);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPending);
  // A forged "Status=OK" for an unpaid authority credits nothing either.
  std::string forged = *cb;
  forged.replace(forged.find("Status=NOK"), 10, "Status=OK");
  ASSERT_TRUE(get(forged));
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPending);
  EXPECT_EQ(order_status(order), "awaiting_payment");
}

// ---- Telegram Stars -----------------------------------------------------------------------------

TEST_P(PaymentsTest, StarsInvoicePreCheckoutPaymentAndRefund) {
  const auto user = add_user(104);
  const auto order = add_order(user, {250, Currency::kXtr});
  auto c = service_->pay_order(order, PaymentMethod::kTelegramStars, "30 days, 50 GB");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->action.kind, PayerAction::Kind::kStarsInvoice);
  EXPECT_EQ(c->action.amount, (Money{250, Currency::kXtr}));
  const std::string payload = c->action.invoice_payload;
  EXPECT_EQ(payload, c->payment.reference());
  EXPECT_TRUE(service_->pre_checkout(payload, "XTR", 250));
  EXPECT_EQ(service_->pre_checkout(payload, "XTR", 249).error().message, "payment.precheckout.amount_mismatch");
  EXPECT_EQ(service_->pre_checkout(payload, "USD", 250).error().message, "payment.precheckout.amount_mismatch");
  EXPECT_EQ(service_->pre_checkout("pay-999999", "XTR", 250).error().message, "payment.precheckout.unknown");
  EXPECT_EQ(service_->pre_checkout("garbage", "XTR", 250).error().message, "payment.precheckout.unknown");

  auto paid = service_->stars_paid(payload, "XTR", 250, "stxCHARGE1");
  ASSERT_TRUE(paid) << paid.error().to_string();
  EXPECT_EQ(*paid, Outcome::kPaid);
  EXPECT_EQ(*service_->stars_paid(payload, "XTR", 250, "stxCHARGE1"), Outcome::kAlreadyApplied);
  EXPECT_EQ(service_->pre_checkout(payload, "XTR", 250).error().message, "payment.precheckout.already_paid");
  EXPECT_EQ(order_status(order), "paid");
  EXPECT_EQ(payment(c->payment.id).provider_ref.value_or(""), "stxCHARGE1");

  auto refunded = service_->refund(c->payment.id, "customer asked");
  ASSERT_TRUE(refunded) << refunded.error().to_string();
  EXPECT_EQ(refunded->state, PaymentState::kRefunded);
  ASSERT_EQ(refunder_->calls.size(), 1u);
  EXPECT_EQ(refunder_->calls[0], (std::pair<std::int64_t, std::string>{104, "stxCHARGE1"}));
  EXPECT_EQ(service_->refund(c->payment.id, "twice").error().code, ErrorCode::kConflict);

  // A successful_payment in another currency than the invoice's is flagged, not credited.
  const auto odd = add_order(user, {100, Currency::kXtr});
  auto c3 = service_->pay_order(odd, PaymentMethod::kTelegramStars);
  ASSERT_TRUE(c3);
  EXPECT_EQ(*service_->stars_paid(c3->action.invoice_payload, "USD", 100, "stxCHARGE3"), Outcome::kFlagged);
  EXPECT_EQ(payment(c3->payment.id).flag.value_or(""), "currency_mismatch");
  EXPECT_EQ(order_status(odd), "awaiting_payment");

  // An invoice the payer opens after its deadline is refused before they pay.
  const auto late = add_order(user, {100, Currency::kXtr});
  auto c2 = service_->pay_order(late, PaymentMethod::kTelegramStars);
  ASSERT_TRUE(c2);
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(service_->pre_checkout(c2->action.invoice_payload, "XTR", 100).error().message,
            "payment.precheckout.expired");
}

// ---- NOWPayments --------------------------------------------------------------------------------

TEST_P(PaymentsTest, NowPaymentsIpnHappyForgedReplayedPartialAndOver) {
  const auto user = add_user(105);
  const auto order = add_order(user, {1'050, Currency::kUsd});
  auto c = service_->pay_order(order, PaymentMethod::kNowPayments);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->action.url, gw_->base_url() + "/payment/?iid=" + *c->payment.provider_ref);

  auto confirming = gw_->nowpayments_pay(*c->payment.provider_ref, "confirming");
  ASSERT_TRUE(confirming);
  EXPECT_EQ(*gw_->deliver(*confirming), 200);
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPending);

  auto finished = gw_->nowpayments_pay(*c->payment.provider_ref, "finished");
  ASSERT_TRUE(finished);
  // Forged: a signature made with another secret, and a body changed after signing.
  testing::Delivery forged = *finished;
  forged.headers[1].second = std::string(128, 'a');
  EXPECT_EQ(*gw_->deliver(forged), 400);
  testing::Delivery tampered = *finished;
  tampered.body.replace(tampered.body.find("\"actually_paid\":10.5"), 20, "\"actually_paid\":99.5");
  EXPECT_EQ(*gw_->deliver(tampered), 400);
  testing::Delivery unsigned_ipn = *finished;
  unsigned_ipn.headers.pop_back();
  EXPECT_EQ(*gw_->deliver(unsigned_ipn), 400);
  EXPECT_EQ(audit_rows(), 3);
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPending);
  EXPECT_EQ(order_status(order), "awaiting_payment");

  EXPECT_EQ(*gw_->deliver(*finished), 200);
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPaid);
  EXPECT_EQ(order_status(order), "paid");
  EXPECT_EQ(*gw_->deliver(*finished), 200);  // NOWPayments repeats IPNs
  EXPECT_EQ(outbox("fulfil_order"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payment_events WHERE provider = 'nowpayments'"), 2);

  // Partially paid: flagged for a person, the order stays unpaid.
  const auto o2 = add_order(user, {2'000, Currency::kUsd});
  auto c2 = service_->pay_order(o2, PaymentMethod::kNowPayments);
  ASSERT_TRUE(c2);
  EXPECT_EQ(*gw_->deliver(*gw_->nowpayments_pay(*c2->payment.provider_ref, "partially_paid", 0.5)), 200);
  auto p2 = payment(c2->payment.id);
  EXPECT_EQ(p2.state, PaymentState::kAwaitingReview);
  EXPECT_EQ(p2.flag.value_or(""), "partially_paid");
  EXPECT_EQ(p2.received.value_or(Money{}), (Money{1'000, Currency::kUsd}));
  EXPECT_EQ(order_status(o2), "awaiting_payment");
  EXPECT_EQ(outbox("owner_notice", "partially_paid"), 1);

  // Over-paid: paid, and the owner told about the difference.
  const auto o3 = add_order(user, {1'000, Currency::kUsd});
  auto c3 = service_->pay_order(o3, PaymentMethod::kNowPayments);
  ASSERT_TRUE(c3);
  EXPECT_EQ(*gw_->deliver(*gw_->nowpayments_pay(*c3->payment.provider_ref, "finished", 1.5)), 200);
  EXPECT_EQ(payment(c3->payment.id).state, PaymentState::kPaid);
  EXPECT_EQ(order_status(o3), "paid");
  EXPECT_EQ(outbox("owner_notice", "overpaid"), 1);
}

TEST_P(PaymentsTest, HundredConcurrentCopiesOfOneIpnCreditOnce) {
  const auto user = add_user(106);
  // An IRR wallet topped up through a USD gateway at the owner's rate ($1 = 600,000 Rial).
  auto top = service_->top_up(user, {6'000'000, Currency::kIrr}, PaymentMethod::kNowPayments);
  ASSERT_TRUE(top) << top.error().to_string();
  EXPECT_EQ(top->payment.amount, (Money{1'000, Currency::kUsd}));
  auto ipn = gw_->nowpayments_pay(*top->payment.provider_ref, "finished");
  ASSERT_TRUE(ipn);
  std::atomic<int> ok_answers{0};
  std::vector<std::thread> senders;
  for (int i = 0; i < 100; ++i)
    senders.emplace_back([&] {
      auto status = gw_->deliver(*ipn);
      if (status && *status == 200) ++ok_answers;
    });
  for (auto& t : senders) t.join();
  EXPECT_EQ(ok_answers, 100);
  EXPECT_EQ(ledger_rows(user), 1);
  EXPECT_EQ(service_->ledger().balance(user)->minor, 6'000'000);
  EXPECT_EQ(service_->ledger().sum_of_rows(user)->minor, 6'000'000);
  EXPECT_EQ(outbox("user_notice", "top_up_credited"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payment_events"), 1);
}

// ---- Stripe -------------------------------------------------------------------------------------

TEST_P(PaymentsTest, StripeCheckoutHappyForgedStaleMismatchReturnAndRefund) {
  const auto user = add_user(107);
  const auto order = add_order(user, {6'000'000, Currency::kIrr});
  auto c = service_->pay_order(order, PaymentMethod::kStripe, "Plan Gold");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->payment.amount, (Money{1'000, Currency::kUsd}));  // converted at the owner's rate
  EXPECT_EQ(c->action.url, gw_->base_url() + "/c/pay/" + *c->payment.provider_ref);
  auto done = gw_->stripe_complete(*c->payment.provider_ref);
  ASSERT_TRUE(done);

  testing::Delivery forged = *done;
  forged.headers[2].second = "t=" + std::to_string(clock_.unix_seconds()) + ",v1=" + std::string(64, '0');
  EXPECT_EQ(*gw_->deliver(forged), 400);
  testing::Delivery no_sig = *done;
  no_sig.headers.pop_back();
  EXPECT_EQ(*gw_->deliver(no_sig), 400);
  EXPECT_EQ(audit_rows(), 2);
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPending);

  EXPECT_EQ(*gw_->deliver(*done), 200);
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPaid);
  EXPECT_EQ(order_status(order), "paid");
  EXPECT_EQ(*gw_->deliver(*done), 200);
  EXPECT_EQ(outbox("fulfil_order"), 1);

  // A genuine event replayed after the tolerance window is refused.
  const auto o2 = add_order(user, {6'000'000, Currency::kIrr});
  auto c2 = service_->pay_order(o2, PaymentMethod::kStripe);
  ASSERT_TRUE(c2);
  auto d2 = gw_->stripe_complete(*c2->payment.provider_ref, 500);  // the gateway says $5, not $10
  ASSERT_TRUE(d2);
  clock_.advance(301s);
  EXPECT_EQ(*gw_->deliver(*d2), 400);
  EXPECT_EQ(audit_rows(), 3);
  clock_.advance(-301s);
  EXPECT_EQ(*gw_->deliver(*d2), 200);
  auto p2 = payment(c2->payment.id);
  EXPECT_EQ(p2.state, PaymentState::kAwaitingReview);
  EXPECT_EQ(p2.flag.value_or(""), "amount_mismatch");
  EXPECT_EQ(order_status(o2), "awaiting_payment");

  // The payer comes back before any webhook: the return page asks Stripe.
  const auto o3 = add_order(user, {6'000'000, Currency::kIrr});
  auto c3 = service_->pay_order(o3, PaymentMethod::kStripe);
  ASSERT_TRUE(c3);
  ASSERT_TRUE(gw_->stripe_complete(*c3->payment.provider_ref));
  auto page = get(base_ + "/payments/stripe/t1/return?session_id=" + *c3->payment.provider_ref);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(payment(c3->payment.id).state, PaymentState::kPaid);

  auto refunded = service_->refund(c->payment.id, "duplicate purchase");
  ASSERT_TRUE(refunded) << refunded.error().to_string();
  EXPECT_EQ(refunded->state, PaymentState::kRefunded);
  EXPECT_EQ(gw_->stripe_refunds(), 1);
}

TEST_P(PaymentsTest, PaidAfterExpiryGoesToTheWalletAndTheOwnerIsTold) {
  const auto user = add_user(108);
  const auto order = add_order(user, {6'000'000, Currency::kIrr});
  auto c = service_->pay_order(order, PaymentMethod::kStripe);
  ASSERT_TRUE(c);
  clock_.advance(std::chrono::hours(2));
  ASSERT_EQ(*service_->expire_due(), 1);
  EXPECT_EQ(order_status(order), "cancelled/expired");
  auto late = gw_->stripe_complete(*c->payment.provider_ref);
  ASSERT_TRUE(late);
  EXPECT_EQ(*gw_->deliver(*late), 200);
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPaid);
  EXPECT_EQ(order_status(order), "cancelled/expired");
  EXPECT_EQ(service_->ledger().balance(user)->minor, 6'000'000);
  auto rows = service_->ledger().rows(user);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].reason, "unmatched_payment");
  EXPECT_EQ(outbox("owner_notice", "paid_after_expiry"), 1);
  EXPECT_EQ(outbox("fulfil_order"), 0);
  EXPECT_EQ(*gw_->deliver(*late), 200);
  EXPECT_EQ(ledger_rows(user), 1);

  // Late money in a currency the owner has no rate for waits for a person.
  const auto xtr_user = add_user(115, "XTR");
  const auto o2 = add_order(xtr_user, {6'000'000, Currency::kIrr});
  auto c2 = service_->pay_order(o2, PaymentMethod::kStripe);
  ASSERT_TRUE(c2);
  clock_.advance(std::chrono::hours(2));
  ASSERT_EQ(*service_->expire_due(), 1);
  EXPECT_EQ(*gw_->deliver(*gw_->stripe_complete(*c2->payment.provider_ref)), 200);
  EXPECT_EQ(payment(c2->payment.id).flag.value_or(""), "no_exchange_rate");
  EXPECT_EQ(ledger_rows(xtr_user), 0);
  EXPECT_EQ(outbox("owner_notice", "no_exchange_rate"), 1);
}

// ---- PayPal -------------------------------------------------------------------------------------

TEST_P(PaymentsTest, PayPalApproveCaptureWebhooksAndForgery) {
  const auto user = add_user(109);
  const auto order = add_order(user, {2'500, Currency::kUsd});
  auto c = service_->pay_order(order, PaymentMethod::kPayPal);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->action.url, gw_->base_url() + "/checkoutnow?token=" + *c->payment.provider_ref);
  auto back = gw_->paypal_approve(*c->payment.provider_ref);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->rfind(base_ + "/payments/paypal/t1/return?token=", 0), 0u) << *back;

  auto approved = gw_->paypal_event(*c->payment.provider_ref, "CHECKOUT.ORDER.APPROVED");
  ASSERT_TRUE(approved);
  testing::Delivery forged = *approved;
  ASSERT_NE(forged.body.find("\"25.00\""), std::string::npos);
  forged.body.replace(forged.body.find("\"25.00\""), 7, "\"99.00\"");
  EXPECT_EQ(*gw_->deliver(forged), 400);
  testing::Delivery missing = *approved;
  missing.headers.pop_back();
  EXPECT_EQ(*gw_->deliver(missing), 400);
  EXPECT_EQ(audit_rows(), 2);
  EXPECT_EQ(gw_->paypal_capture_calls(), 0);

  EXPECT_EQ(*gw_->deliver(*approved), 200);  // verified, then captured by us
  EXPECT_EQ(gw_->paypal_capture_calls(), 1);
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPaid);
  EXPECT_EQ(order_status(order), "paid");
  // The payer's return and the capture webhook that follow change nothing.
  auto page = get(*back);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  auto captured = gw_->paypal_event(*c->payment.provider_ref, "PAYMENT.CAPTURE.COMPLETED");
  ASSERT_TRUE(captured);
  EXPECT_EQ(*gw_->deliver(*captured), 200);
  EXPECT_EQ(*gw_->deliver(*approved), 200);
  EXPECT_EQ(gw_->paypal_capture_calls(), 1);
  EXPECT_EQ(outbox("fulfil_order"), 1);
}

// ---- PayPal refunds ----------------------------------------------------------------------------

class PayPalRefundTest : public PaymentsTest {
 protected:
  // An order paid through PayPal (approved, then captured by our poll).
  PaymentRecord paid(std::int64_t tg, std::int64_t cents) {
    const auto user = add_user(tg);
    const auto order = add_order(user, {cents, Currency::kUsd});
    auto c = service_->pay_order(order, PaymentMethod::kPayPal);
    EXPECT_TRUE(c) << c.error().to_string();
    if (!c) return {};
    EXPECT_TRUE(gw_->paypal_approve(*c->payment.provider_ref));
    EXPECT_EQ(*service_->poll(c->payment.id), Outcome::kPaid);
    return payment(c->payment.id);
  }
  std::vector<RefundRecord> refunds(std::int64_t id) {
    auto r = service_->refunds(id);
    EXPECT_TRUE(r) << r.error().to_string();
    return r.value_or(std::vector<RefundRecord>{});
  }
};

TEST_P(PayPalRefundTest, FullRefundKeepsTheCaptureIdAndRefundsOnce) {
  const auto p = paid(120, 2'500);
  ASSERT_TRUE(p.charge_ref) << "the capture id is kept when the payment is captured";
  EXPECT_EQ(gw_->paypal_capture_status(*p.charge_ref), "COMPLETED");
  const auto ledger_before = ledger_rows(p.user_id);

  auto r = service_->refund(p.id, "customer asked");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->state, PaymentState::kRefunded);
  EXPECT_EQ(gw_->paypal_refunds(), 1);
  EXPECT_EQ(gw_->paypal_capture_status(*p.charge_ref), "REFUNDED");
  auto rows = refunds(p.id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "completed");
  EXPECT_EQ(rows[0].amount, (Money{2'500, Currency::kUsd}));
  ASSERT_TRUE(rows[0].provider_ref);
  // PayPal knows it under the id we recorded.
  EXPECT_EQ(outbox("user_notice", "refunded"), 1);
  // A refund of an order payment moves no wallet money.
  EXPECT_EQ(ledger_rows(p.user_id), ledger_before);

  auto again = service_->refund(p.id, "twice");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(gw_->paypal_refunds(), 1);
  EXPECT_EQ(refunds(p.id).size(), 1u);
}

TEST_P(PayPalRefundTest, PartialThenTheRestAndNoMoreThanWasPaid) {
  const auto p = paid(121, 2'500);
  ASSERT_TRUE(p.charge_ref);
  auto part = service_->refund(p.id, "one month unused", Money{1'000, Currency::kUsd});
  ASSERT_TRUE(part) << part.error().to_string();
  EXPECT_EQ(part->state, PaymentState::kPaid);
  EXPECT_EQ(gw_->paypal_capture_status(*p.charge_ref), "PARTIALLY_REFUNDED");
  EXPECT_EQ(outbox("user_notice", "partially_refunded:" + std::to_string(refunds(p.id)[0].id)), 1);
  EXPECT_EQ(outbox("user_notice", "refunded"), 0);

  // 15.00 is left: 20.00 is refused before PayPal hears of it, and so is another currency.
  auto over = service_->refund(p.id, "too much", Money{2'000, Currency::kUsd});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument) << over.error().to_string();
  EXPECT_EQ(service_->refund(p.id, "rial", Money{100, Currency::kIrr}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(gw_->paypal_refunds(), 1);

  auto rest = service_->refund(p.id, "the rest");
  ASSERT_TRUE(rest) << rest.error().to_string();
  EXPECT_EQ(rest->state, PaymentState::kRefunded);
  EXPECT_EQ(gw_->paypal_refunds(), 2);
  EXPECT_EQ(gw_->paypal_capture_status(*p.charge_ref), "REFUNDED");
  auto rows = refunds(p.id);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].amount, (Money{1'500, Currency::kUsd}));
  EXPECT_EQ(rows[1].status, "completed");
  EXPECT_EQ(outbox("user_notice", "refunded"), 1);
}

TEST_P(PayPalRefundTest, PayPalsOwnValidationMapsToValues) {
  const auto p = paid(122, 2'500);
  ASSERT_TRUE(p.charge_ref);
  PaymentProvider* pp = service_->provider(PaymentMethod::kPayPal);
  ProviderPayment view{p.id, p.reference(), p.provider_ref, p.amount, 122, p.charge_ref};
  RefundRequest over{*p.charge_ref, Money{3'000, Currency::kUsd}, "k-over"};
  auto r = pp->refund(view, over);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("more than"), std::string::npos) << r.error().message;
  RefundRequest unknown{"NOSUCHCAPTURE0000", std::nullopt, "k-unknown"};
  EXPECT_EQ(pp->refund(view, unknown).error().code, ErrorCode::kNotFound);
  RefundRequest whole{*p.charge_ref, std::nullopt, "k-whole"};
  auto done = pp->refund(view, whole);
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_FALSE(done->pending);
  // The same key again is PayPal's replay of that refund, not a second one.
  auto replay = pp->refund(view, whole);
  ASSERT_TRUE(replay) << replay.error().to_string();
  EXPECT_EQ(replay->refund_ref, done->refund_ref);
  EXPECT_EQ(gw_->paypal_refunds(), 1);
  RefundRequest more{*p.charge_ref, std::nullopt, "k-more"};
  auto fully = pp->refund(view, more);
  ASSERT_FALSE(fully);
  EXPECT_EQ(fully.error().code, ErrorCode::kConflict) << fully.error().to_string();
}

TEST_P(PayPalRefundTest, ARefundWhoseAnswerWasLostIsAskedAboutNotRepeated) {
  const auto p = paid(123, 2'500);
  gw_->set_fault("paypal", testing::Fault::kLoseAnswer);
  auto lost = service_->refund(p.id, "customer asked");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kUnavailable) << lost.error().to_string();
  EXPECT_EQ(gw_->paypal_refunds(), 1);  // PayPal did it; we could not know
  EXPECT_EQ(payment(p.id).state, PaymentState::kPaid);
  ASSERT_EQ(refunds(p.id).size(), 1u);
  EXPECT_EQ(refunds(p.id)[0].status, "requested");

  // Asked again (even for another amount), it settles that refund from PayPal's records.
  auto again = service_->refund(p.id, "customer asked", Money{500, Currency::kUsd});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->state, PaymentState::kRefunded);
  EXPECT_EQ(gw_->paypal_refunds(), 1);
  EXPECT_EQ(gw_->paypal_refund_posts(), 1);  // found in the order's refunds, not posted again
  ASSERT_EQ(refunds(p.id).size(), 1u);
  EXPECT_EQ(refunds(p.id)[0].status, "completed");
  EXPECT_EQ(outbox("user_notice", "refunded"), 1);
}

TEST_P(PayPalRefundTest, ACrashAfterPayPalRefundedIsResolvedOnRecovery) {
  const auto p = paid(124, 2'500);
  struct Crash {};
  auto dying = make_service([](std::string_view point) {
    if (point == "after_gateway_refunded") throw Crash{};
  });
  EXPECT_THROW(dying->refund(p.id, "customer asked", Money{1'000, Currency::kUsd}), Crash);
  dying.reset();
  EXPECT_EQ(gw_->paypal_refunds(), 1);
  EXPECT_EQ(refunds(p.id)[0].status, "requested");
  auto report = service_->recover();
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->refunds_resolved, 1);
  EXPECT_EQ(gw_->paypal_refunds(), 1);
  EXPECT_EQ(gw_->paypal_refund_posts(), 1);
  auto rows = refunds(p.id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "completed");
  EXPECT_EQ(rows[0].amount, (Money{1'000, Currency::kUsd}));
  EXPECT_EQ(payment(p.id).state, PaymentState::kPaid);
  // Recovery again has nothing to do; the rest can still be refunded, once.
  EXPECT_EQ(service_->recover()->refunds_resolved, 0);
  ASSERT_TRUE(service_->refund(p.id, "the rest"));
  EXPECT_EQ(gw_->paypal_refunds(), 2);
  EXPECT_EQ(payment(p.id).state, PaymentState::kRefunded);
}

// ---- gateway faults -----------------------------------------------------------------------------

TEST_P(PaymentsTest, GatewaysThatHangOrAnswerGarbageCreditNothing) {
  const auto user = add_user(110);
  const auto order = add_order(user, {6'000'000, Currency::kIrr});
  gw_->set_fault("stripe", testing::Fault::kHang);
  auto hung = service_->pay_order(order, PaymentMethod::kStripe);
  ASSERT_FALSE(hung);
  EXPECT_EQ(hung.error().code, ErrorCode::kTimeout) << hung.error().to_string();
  gw_->set_fault("zarinpal", testing::Fault::kGarbage);
  auto garbage = service_->pay_order(order, PaymentMethod::kZarinpal);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kUnavailable);
  gw_->set_fault("paypal", testing::Fault::kServerError);
  EXPECT_EQ(service_->pay_order(order, PaymentMethod::kPayPal).error().code, ErrorCode::kUnavailable);
  // Every attempt is closed, none blocks the order, which can still be paid.
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payments WHERE status = 'expired'"), 3);
  auto c = service_->pay_order(order, PaymentMethod::kZarinpal);
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_TRUE(gw_->zarinpal_pay(*c->payment.provider_ref));
  gw_->set_fault("zarinpal", testing::Fault::kGarbage);
  auto polled = service_->poll(c->payment.id);
  ASSERT_FALSE(polled);
  EXPECT_EQ(polled.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPending);
  EXPECT_EQ(*service_->poll(c->payment.id), Outcome::kPaid);
}

// ---- crashes ------------------------------------------------------------------------------------

TEST_P(PaymentsTest, CrashBetweenGatewayPaidAndFulfilmentResumesAndFulfilsOnce) {
  const auto user = add_user(111);
  const auto order = add_order(user, {3'000'000, Currency::kIrr});
  // This process dies right after Zarinpal confirmed the money, before writing it down.
  struct Crash {};
  auto dying = make_service([](std::string_view point) {
    if (point == "after_gateway_paid") throw Crash{};
  });
  auto c = dying->pay_order(order, PaymentMethod::kZarinpal);
  ASSERT_TRUE(c);
  ASSERT_TRUE(gw_->zarinpal_pay(*c->payment.provider_ref));
  EXPECT_THROW(dying->poll(c->payment.id), Crash);
  dying.reset();
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPending);
  EXPECT_EQ(gw_->zarinpal_verify_calls(), 1);

  // The restarted process recovers: verify again (Zarinpal answers 101), record it once.
  auto report = service_->recover();
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->polled, 1);
  EXPECT_EQ(report->settled, 1);
  EXPECT_EQ(payment(c->payment.id).state, PaymentState::kPaid);
  EXPECT_EQ(order_status(order), "paid");

  // Fulfilment crashes after doing its work but before saying so; it runs again, once more.
  OrderFulfiller hook(*db_);
  hook.fail_next = 1;
  EXPECT_EQ(*service_->dispatch_outbox(hook), 0);
  EXPECT_EQ(*service_->dispatch_outbox(hook), 1);
  EXPECT_EQ(*service_->dispatch_outbox(hook), 0);
  EXPECT_EQ(hook.calls, 2);
  EXPECT_EQ(hook.fulfilled, 1);
  EXPECT_EQ(order_status(order), "completed");
  EXPECT_TRUE(service_->pending_outbox()->empty());
}

TEST_P(PaymentsTest, CrashRightAfterTheStartCallIsClosedOnRecovery) {
  const auto user = add_user(114);
  const auto order = add_order(user, {6'000'000, Currency::kIrr});
  struct Crash {};
  auto dying = make_service([](std::string_view point) {
    if (point == "after_start_call") throw Crash{};
  });
  EXPECT_THROW(dying->pay_order(order, PaymentMethod::kStripe), Crash);
  dying.reset();
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payments WHERE status = 'created'"), 1);
  auto early = service_->recover();
  ASSERT_TRUE(early);
  EXPECT_EQ(early->abandoned, 0);  // might still be in flight
  clock_.advance(121s);
  auto report = service_->recover();
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->abandoned, 1);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payments WHERE status = 'expired'"), 1);
  EXPECT_EQ(order_status(order), "awaiting_payment");
  auto again = service_->pay_order(order, PaymentMethod::kStripe);
  ASSERT_TRUE(again) << again.error().to_string();
  ASSERT_TRUE(gw_->deliver(*gw_->stripe_complete(*again->payment.provider_ref)));
  EXPECT_EQ(order_status(order), "paid");
}

TEST_P(PaymentsTest, AClaimedOutboxItemOfADeadDispatcherIsRetriedAfterItsClaim) {
  const auto user = add_user(112);
  const auto order = add_order(user, {1'000'000, Currency::kIrr});
  auto c = service_->pay_order(order, PaymentMethod::kCardToCard);
  ASSERT_TRUE(c);
  ASSERT_TRUE(service_->submit_receipt(c->payment.id, "f", "u"));
  ASSERT_TRUE(service_->approve(c->payment.id, 5));
  struct Dead {};
  class DyingHook final : public FulfilmentHook {
   public:
    Result<void> handle(const OutboxItem&) override { throw Dead{}; }
  } dying;
  EXPECT_THROW(service_->dispatch_outbox(dying), Dead);
  OrderFulfiller hook(*db_);
  EXPECT_EQ(*service_->dispatch_outbox(hook), 0);  // still claimed by the dead one
  clock_.advance(61s);
  EXPECT_EQ(*service_->dispatch_outbox(hook), 1);
  EXPECT_EQ(hook.fulfilled, 1);
  auto left = service_->pending_outbox();
  EXPECT_TRUE(left->empty());
}

// ---- ledger -------------------------------------------------------------------------------------

TEST_P(PaymentsTest, LedgerStaysConsistentUnderConcurrentCreditsAndDebits) {
  const auto user = add_user(113);
  Ledger& ledger = service_->ledger();
  constexpr int kThreads = 8;
  constexpr int kOps = 30;
  std::atomic<int> credits{0}, debits{0}, duplicates{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        if (i % 3 != 2) {
          // Every credit is applied twice (a replay): only the first counts.
          const std::string ref = "credit-" + std::to_string(t) + "-" + std::to_string(i);
          for (int copy = 0; copy < 2; ++copy) {
            auto r = ledger.apply({user, {1'000, Currency::kIrr}, domain::LedgerReason::kTopUp, ref, std::nullopt});
            if (r)
              ++credits;
            else if (r.error().code == ErrorCode::kAlreadyExists)
              ++duplicates;
            else
              ADD_FAILURE() << r.error().to_string();
          }
        } else {
          const std::string ref = "order:" + std::to_string(t * 1000 + i);
          auto r = ledger.apply({user, {-2'500, Currency::kIrr}, domain::LedgerReason::kPurchase, ref, std::nullopt});
          if (r)
            ++debits;
          else if (r.error().code == ErrorCode::kLimitExceeded)
            ++refused;
          else
            ADD_FAILURE() << r.error().to_string();
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(credits, kThreads * 20);
  EXPECT_EQ(duplicates, kThreads * 20);
  EXPECT_EQ(debits + refused, kThreads * 10);
  const std::int64_t expected = credits * 1'000 - debits * 2'500;
  EXPECT_EQ(ledger.balance(user)->minor, expected);
  EXPECT_EQ(ledger.sum_of_rows(user)->minor, expected);
  EXPECT_GE(expected, 0);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM wallet_ledger WHERE balance_after_minor < 0"), 0);
  EXPECT_EQ(ledger_rows(user), credits + debits);
  // Replaying rows in order reproduces every balance_after: no lost update.
  auto rows = ledger.rows(user);
  ASSERT_TRUE(rows);
  std::int64_t running = 0;
  std::vector<std::int64_t> afters;
  for (const auto& r : *rows) afters.push_back(r.balance_after.minor);
  std::sort(afters.begin(), afters.end());
  std::int64_t max_after = 0;
  for (const auto& r : *rows) {
    running += r.delta.minor;
    max_after = std::max(max_after, r.balance_after.minor);
  }
  EXPECT_EQ(running, expected);
  EXPECT_EQ(
      ledger.apply({user, {-(expected + 1), Currency::kIrr}, domain::LedgerReason::kPurchase, "too-much", std::nullopt})
          .error()
          .code,
      ErrorCode::kLimitExceeded);
  EXPECT_EQ(ledger.apply({user, {1, Currency::kUsd}, domain::LedgerReason::kTopUp, "usd", std::nullopt}).error().code,
            ErrorCode::kInvalidArgument);
}

// ---- the registry: a tenant's settings to a working service ------------------------------------

TEST_P(PaymentsTest, RegistryBuildsATenantsServiceFromItsEncryptedSettings) {
  auto insert = [&](const std::string& provider, int enabled, const std::string& config,
                    std::optional<std::string> secret) {
    auto r = db_->with_session([&](Session& s) {
      return s.exec(
          "INSERT INTO payment_methods (provider, enabled, config, secret_enc, updated_at) "
          "VALUES (:p, :e, :c, :s, 1)",
          {{"p", provider},
           {"e", std::int64_t{enabled}},
           {"c", config},
           {"s", secret ? storage::Value{*secret} : storage::Value{}}});
    });
    ASSERT_TRUE(r) << r.error().to_string();
  };
  // A stand-in envelope: "enc:" + plaintext (the real one is crypto::SecretBox).
  auto seal = [](const std::string& plain) { return "enc:" + plain; };
  insert("stripe", 1, "{}",
         seal(R"({"secret_key":")" + gw_options_.stripe_secret_key + R"(","webhook_secret":")" +
              gw_options_.stripe_webhook_secret + R"("})"));
  insert("card_to_card", 1, R"({"card_number":"6037990000009999","card_holder":"Shop"})", std::nullopt);
  insert("zarinpal", 0, "{}", seal(R"({"merchant_id":"x"})"));
  insert("paypal", 1, "{}", std::string("garbage"));  // cannot be opened: left out
  GatewayUrls urls;
  urls.stripe = gw_->base_url();
  urls.callback_base = base_ + "/payments";
  PaymentRegistry registry(*storage_, client_, clock_, urls, [](const std::string& env) -> Result<std::string> {
    if (env.rfind("enc:", 0) != 0) return fail(ErrorCode::kCorrupted, "not an envelope");
    return env.substr(4);
  });
  EXPECT_EQ(registry.service("t999"), nullptr);
  EXPECT_EQ(registry.service("x1"), nullptr);
  auto service = registry.service("t1");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(registry.service("t1"), service);
  EXPECT_NE(service->provider(PaymentMethod::kStripe), nullptr);
  EXPECT_NE(service->provider(PaymentMethod::kCardToCard), nullptr);
  EXPECT_EQ(service->provider(PaymentMethod::kZarinpal), nullptr);
  EXPECT_EQ(service->provider(PaymentMethod::kPayPal), nullptr);
  // And it works end to end: a Stripe payment paid through our webhook route.
  {
    std::lock_guard lock(service_mu_);
    service_ = service;
  }
  ASSERT_TRUE(service->set_exchange_rate({Currency::kUsd, Currency::kIrr, 600'000}));
  const auto user = add_user(120);
  const auto order = add_order(user, {6'000'000, Currency::kIrr});
  auto c = service->pay_order(order, PaymentMethod::kStripe);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(*gw_->deliver(*gw_->stripe_complete(*c->payment.provider_ref)), 200);
  EXPECT_EQ(order_status(order), "paid");
  auto card = service->pay_order(add_order(user, {10'000, Currency::kIrr}), PaymentMethod::kCardToCard);
  ASSERT_TRUE(card);
  EXPECT_EQ(card->action.card_number, "6037990000009999");
  registry.invalidate(1);
  EXPECT_NE(registry.service("t1"), service);
}

INSTANTIATE_TEST_SUITE_P(Backends, PaymentsTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, PayPalRefundTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::payments
