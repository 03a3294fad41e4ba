// The shop bot end to end: a person starts the bot, buys a plan with every payment method
// the test gateways offer, gets their link and QR code, renews and adds traffic, takes the
// free trial once, pays from the wallet and rewards their referrer; an admin approves a
// receipt (a second press changes nothing); a panel that fails after payment refunds the
// order to the wallet; a shop restarted after payment delivers exactly once.
#include <future>

#include "shop_fixture.hpp"

namespace ms::shop::testing {
namespace {

class ShopE2E : public ShopTest {};

TEST_P(ShopE2E, CardPurchaseReviewedOnceDeliversLinkAndQr) {
  choose_plan(alice_);
  press(alice_, "کارت به کارت");
  ASSERT_TRUE(wait_saw(alice_, "6037990000001234"));
  // The unique amount to transfer is in the message, in Rial digits.
  const auto payment = scalar("SELECT max(id) AS v FROM payments");
  const auto amount = scalar("SELECT amount_minor AS v FROM payments WHERE id = " + std::to_string(payment));
  EXPECT_GE(amount, kPlanPrice);
  EXPECT_TRUE(saw(alice_, std::to_string(amount)));

  ASSERT_TRUE(emulator_->send_photo(alice_, "vpn_shop_bot", picture("receipt-bytes-1")));
  ASSERT_TRUE(wait_saw(alice_, "رسید شما دریافت شد"));
  // The owner gets the receipt with approve/reject; two presses (a double tap) apply once.
  ASSERT_TRUE(eventually([&] { return find_button(owner_, "تأیید").has_value(); }));
  auto approve = find_button(owner_, "تأیید");
  auto q1 = emulator_->press_button(owner_, "vpn_shop_bot", approve->first, approve->second);
  auto q2 = emulator_->press_button(owner_, "vpn_shop_bot", approve->first, approve->second);
  ASSERT_TRUE(q1 && q2);
  const std::string a1 = answer_text(*q1), a2 = answer_text(*q2);
  EXPECT_TRUE((a1 == "تأیید شد." && a2.find("قبلاً بررسی") != std::string::npos) ||
              (a2 == "تأیید شد." && a1.find("قبلاً بررسی") != std::string::npos))
      << a1 << " / " << a2;

  ASSERT_TRUE(wait_saw(alice_, "آماده است"));
  ASSERT_TRUE(eventually([&] { return photos(alice_) == 1; }));  // the QR code
  EXPECT_EQ(marzban_->user_count(), 1u);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders WHERE status = 'completed'"), 1);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM services WHERE status = 'active'"), 1);
  // The link the person got is the panel's subscription link.
  auto url = db_->with_session([](storage::Session& s) -> Result<std::string> {
    auto row = s.query_one("SELECT subscription_url FROM services");
    if (!row) return fail(std::move(row.error()));
    return (*row)->get_string("subscription_url");
  });
  ASSERT_TRUE(url);
  EXPECT_TRUE(saw(alice_, *url));
  EXPECT_NE(url->find(marzban_->base_url()), std::string::npos);
}

TEST_P(ShopE2E, ReusedReceiptIsFlaggedAndRejectedPaymentCanBeResubmitted) {
  choose_plan(alice_);
  press(alice_, "کارت به کارت");
  ASSERT_TRUE(wait_saw(alice_, "6037990000001234"));
  ASSERT_TRUE(emulator_->send_photo(alice_, "vpn_shop_bot", picture("same-receipt")));
  ASSERT_TRUE(wait_saw(alice_, "رسید شما دریافت شد"));
  press(owner_, "رد");
  ASSERT_TRUE(wait_saw(alice_, "رسید شما تأیید نشد"));
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM payments WHERE status = 'rejected'"), 1);
  EXPECT_EQ(marzban_->user_count(), 0u);

  // Bob sends a receipt; then Alice's old photo again for Bob's payment is flagged.
  choose_plan(bob_);
  press(bob_, "Card to card");
  ASSERT_TRUE(wait_saw(bob_, "6037990000001234"));
  ASSERT_TRUE(emulator_->send_photo(bob_, "vpn_shop_bot", picture("same-receipt")));
  ASSERT_TRUE(wait_saw(owner_, "قبلاً برای پرداخت دیگری"));
}

TEST_P(ShopE2E, WalletPurchaseRewardsTheReferrer) {
  // Alice is here first; Bob comes through her link with a campaign tag.
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  ASSERT_TRUE(wait_saw(alice_, "خوش آمدید"));
  choose_plan(bob_, "r" + std::to_string(alice_) + "-cinsta");
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM users WHERE campaign = 'insta' AND referrer_id IS NOT NULL"), 1);
  // Not enough money: refused, nothing taken.
  auto q = press(bob_, "Wallet");
  EXPECT_NE(answer_text(q).find("balance"), std::string::npos);
  ASSERT_TRUE(payments_->ledger().apply({user_id(bob_), Money{2'000'000, Currency::kIrr},
                                         domain::LedgerReason::kAdminAdjustment, "test:gift", std::nullopt}));
  choose_plan(bob_);
  press(bob_, "Wallet");
  ASSERT_TRUE(wait_saw(bob_, "is ready"));
  EXPECT_EQ(balance(bob_), 2'000'000 - kPlanPrice);
  // 10% of 1,500,000 Rial to Alice, once, in her wallet and her referral figures.
  ASSERT_TRUE(eventually([&] { return balance(alice_) == kPlanPrice / 10; }));
  ASSERT_TRUE(wait_saw(alice_, "پاداش دعوت"));
  EXPECT_EQ(scalar("SELECT reward_minor AS v FROM referrals"), kPlanPrice / 10);
  auto ledger = payments_->ledger().sum_of_rows(user_id(alice_));
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->minor, kPlanPrice / 10);
}

TEST_P(ShopE2E, StarsPurchase) {
  choose_plan(bob_);
  press(bob_, "Telegram Stars");
  // The invoice arrives; Bob pays it in Telegram; the pre-checkout is answered and the
  // successful_payment delivers the service.
  std::int64_t invoice = 0;
  ASSERT_TRUE(eventually([&] {
    for (const auto& m : chat(bob_).value("messages", json::array())) {
      if (m.value("from_bot", false) && m["message"].contains("invoice")) invoice = m["message"]["message_id"];
    }
    return invoice != 0;
  }));
  std::promise<Result<json>> paid;
  emulator_->pay_invoice(bob_, "vpn_shop_bot", invoice, "", [&](Result<json> r) { paid.set_value(std::move(r)); });
  auto result = paid.get_future().get();
  ASSERT_TRUE(result) << result.error().to_string();
  ASSERT_TRUE(wait_saw(bob_, "is ready"));
  EXPECT_EQ(scalar("SELECT amount_minor AS v FROM payments WHERE provider = 'telegram_stars'"), kPlanPrice / 20'000);
  EXPECT_EQ(marzban_->user_count(), 1u);
}

TEST_P(ShopE2E, TrialOnceThenRenewAndAddTraffic) {
  ASSERT_TRUE(emulator_->send_command(bob_, "vpn_shop_bot", "start"));
  press(bob_, "Free trial");
  ASSERT_TRUE(wait_saw(bob_, "is ready"));
  EXPECT_EQ(marzban_->user_count(), 1u);
  EXPECT_EQ(scalar("SELECT traffic_limit_bytes AS v FROM services"), 1LL << 30);
  // The trial button is gone from a fresh menu; an old button says it was used.
  start_and_wait(bob_);
  auto q = press(bob_, "Free trial");
  EXPECT_NE(answer_text(q).find("already used"), std::string::npos);
  EXPECT_EQ(marzban_->user_count(), 1u);

  // Renew the trial service with the monthly plan from the wallet.
  ASSERT_TRUE(payments_->ledger().apply({user_id(bob_), Money{5'000'000, Currency::kIrr},
                                         domain::LedgerReason::kAdminAdjustment, "test:gift", std::nullopt}));
  const auto expiry_before = scalar("SELECT expires_at AS v FROM services");
  press(bob_, "My services");  // the menu's list
  press(bob_, "active");
  press(bob_, "Renew");
  press(bob_, "1 Month 50GB");
  press(bob_, "Wallet");
  ASSERT_TRUE(wait_saw(bob_, "was renewed")) << chat(bob_).dump();
  EXPECT_EQ(scalar("SELECT expires_at AS v FROM services"), expiry_before + 30 * 86'400);
  EXPECT_EQ(scalar("SELECT traffic_limit_bytes AS v FROM services"), (1LL << 30) + (50LL << 30));

  press(bob_, "My services");  // under the delivery message
  press(bob_, "Add traffic");
  press(bob_, "+10GB");
  press(bob_, "Wallet");
  ASSERT_TRUE(eventually([&] { return scalar("SELECT traffic_limit_bytes AS v FROM services") == (61LL << 30); }));
  EXPECT_EQ(balance(bob_), 5'000'000 - kPlanPrice - 300'000);
  EXPECT_EQ(marzban_->user_count(), 1u);
}

TEST_P(ShopE2E, PanelFailureAfterPaymentRefundsToTheWallet) {
  choose_plan(bob_);
  ASSERT_TRUE(payments_->ledger().apply({user_id(bob_), Money{kPlanPrice, Currency::kIrr},
                                         domain::LedgerReason::kAdminAdjustment, "test:gift", std::nullopt}));
  // The panel answers every call with a 500: broken after the money was taken.
  marzban_->add_fault({"", "/api/*", marzban_test::Fault::Kind::kStatus, 500, 0ms, -1});
  press(bob_, "Wallet");
  // Each delivery attempt fails; the payment maintenance tries again, and after the third
  // failure the order is refunded.
  ASSERT_TRUE(eventually([&] {
    (void)payments_->dispatch_outbox(*shop_);
    return saw(bob_, "went back to your wallet");
  }));
  EXPECT_EQ(scalar("SELECT attempts AS v FROM payment_outbox WHERE kind = 'fulfil_order'"), 3);
  // The panel is marked down: nothing is offered until it is healthy again.
  EXPECT_EQ(scalar("SELECT healthy AS v FROM panels"), 0);
  EXPECT_EQ(balance(bob_), kPlanPrice);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders WHERE status = 'refunded'"), 1);
  ASSERT_TRUE(wait_saw(owner_, "ناموفق بود"));
  EXPECT_EQ(marzban_->user_count(), 0u);
  // A panel that is down is not offered for sale.
  start_and_wait(bob_);
  auto q = press(bob_, "Buy");
  EXPECT_NE(answer_text(q).find("Nothing is for sale"), std::string::npos);
}

TEST_P(ShopE2E, RestartAfterPaymentDeliversExactlyOnce) {
  choose_plan(alice_);
  press(alice_, "کارت به کارت");
  ASSERT_TRUE(wait_saw(alice_, "6037990000001234"));
  ASSERT_TRUE(emulator_->send_photo(alice_, "vpn_shop_bot", picture("receipt")));
  ASSERT_TRUE(wait_saw(alice_, "رسید شما دریافت شد"));
  const auto payment = scalar("SELECT max(id) AS v FROM payments");
  // The shop goes down; the approval happens meanwhile (e.g. from the web panel), so the
  // order is paid with nobody to deliver it.
  stop_shop();
  ASSERT_TRUE(payments_->approve(payment, owner_));
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders WHERE status = 'paid'"), 1);
  start_shop();
  auto resumed = shop_->resume();
  ASSERT_TRUE(resumed) << resumed.error().to_string();
  ASSERT_TRUE(wait_saw(alice_, "آماده است"));
  EXPECT_EQ(marzban_->user_count(), 1u);
  // Running recovery again delivers nothing more.
  ASSERT_TRUE(shop_->resume());
  auto again = payments_->dispatch_outbox(*shop_);
  ASSERT_TRUE(again);
  std::this_thread::sleep_for(300ms);
  int ready = 0;
  for (const auto& t : texts(alice_)) ready += t.find("آماده است") != std::string::npos;
  EXPECT_EQ(ready, 1);
  EXPECT_EQ(marzban_->user_count(), 1u);
  EXPECT_EQ(marzban_->hits("POST /api/user"), 1);
}

// After a restart the start-up resume, the outbox and the periodic pass may all take up the
// same paid order at once (with a slow panel); the person still gets one delivery.
TEST_P(ShopE2E, ConcurrentResumesDeliverOnce) {
  choose_plan(alice_);
  press(alice_, "کارت به کارت");
  ASSERT_TRUE(wait_saw(alice_, "6037990000001234"));
  ASSERT_TRUE(emulator_->send_photo(alice_, "vpn_shop_bot", picture("receipt")));
  ASSERT_TRUE(wait_saw(alice_, "رسید شما دریافت شد"));
  const auto payment = scalar("SELECT max(id) AS v FROM payments");
  stop_shop();
  ASSERT_TRUE(payments_->approve(payment, owner_));
  start_shop();
  marzban_->add_fault({"POST", "/api/user", marzban_test::Fault::Kind::kDelay, 0, 300ms});
  auto first = std::async(std::launch::async, [&] { return shop_->resume(); });
  auto outbox = std::async(std::launch::async, [&] { return payments_->dispatch_outbox(*shop_); });
  auto second = std::async(std::launch::async, [&] { return shop_->resume(); });
  ASSERT_TRUE(first.get());
  ASSERT_TRUE(outbox.get());
  ASSERT_TRUE(second.get());
  // Every pass has returned: what was sent is all that will be.
  ASSERT_TRUE(wait_saw(alice_, "آماده است"));
  int ready = 0;
  for (const auto& t : texts(alice_)) ready += t.find("آماده است") != std::string::npos;
  EXPECT_EQ(ready, 1);
  EXPECT_EQ(photos(alice_), 1);
  EXPECT_EQ(marzban_->user_count(), 1u);
  EXPECT_EQ(marzban_->hits("POST /api/user"), 1);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders WHERE status = 'completed'"), 1);
}

TEST_P(ShopE2E, LanguageSwitchAndBannedPerson) {
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  ASSERT_TRUE(wait_saw(alice_, "خوش آمدید"));
  press(alice_, "زبان");
  press(alice_, "English");
  ASSERT_TRUE(wait_saw(alice_, "Welcome to the shop"));
  ASSERT_TRUE(db_->with_session([&](storage::Session& s) {
    return s.exec("UPDATE users SET banned = 1 WHERE telegram_id = :tg", {{"tg", alice_}});
  }));
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  ASSERT_TRUE(wait_saw(alice_, "You are banned"));
}

TEST_P(ShopE2E, PackageLimitOnPeopleWithAServiceIsEnforcedAndTheOwnerTold) {
  stop_shop();
  max_users_with_service_ = 1;
  start_shop();
  for (auto who : {alice_, bob_}) {
    start_and_wait(who);
    ASSERT_TRUE(payments_->ledger().apply({user_id(who), Money{3 * kPlanPrice, Currency::kIrr},
                                           domain::LedgerReason::kAdminAdjustment, "test:gift:" + std::to_string(who),
                                           std::nullopt}));
  }
  choose_plan(alice_);
  press(alice_, "کیف پول");
  ASSERT_TRUE(wait_saw(alice_, "آماده است"));
  // Bob would be the second person with a service: refused, nothing taken, the owner told.
  choose_plan(bob_);
  auto q = press(bob_, "Wallet");
  EXPECT_NE(answer_text(q).find("cannot be sold"), std::string::npos);
  EXPECT_EQ(balance(bob_), 3 * kPlanPrice);
  ASSERT_TRUE(wait_saw(owner_, "Starter"));
  // Alice, who has one, may still buy another.
  choose_plan(alice_);
  press(alice_, "کیف پول");
  ASSERT_TRUE(eventually([&] { return marzban_->user_count() == 2u; }));
}

INSTANTIATE_TEST_SUITE_P(Backends, ShopE2E, ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::shop::testing
