// The shop's periodic pass end to end: traffic and expiry notices once each, auto-renewal
// from the wallet once per period (and one "too little in the wallet" message when it
// cannot), the admins' /admin menu and its list of receipts waiting.
#include "shop_fixture.hpp"

namespace ms::shop::testing {
namespace {

class ShopMaintenance : public ShopTest {
 protected:
  // Bob buys the monthly plan from his wallet (topped up by `gift` Rial) and turns auto-renew on.
  void bob_buys_with_auto_renew(std::int64_t gift) {
    choose_plan(bob_);
    ASSERT_TRUE(payments_->ledger().apply({user_id(bob_), Money{gift, Currency::kIrr},
                                           domain::LedgerReason::kAdminAdjustment, "test:gift", std::nullopt}));
    press(bob_, "Wallet");
    ASSERT_TRUE(wait_saw(bob_, "is ready"));
    press(bob_, "My services");
    press(bob_, "Auto-renew");
    ASSERT_TRUE(eventually([&] { return scalar("SELECT auto_renew AS v FROM services") == 1; }));
  }

  std::string account_name() {
    auto name = db_->with_session([](storage::Session& s) -> Result<std::string> {
      auto row = s.query_one("SELECT panel_username FROM services");
      if (!row) return fail(std::move(row.error()));
      return (*row)->get_string("panel_username");
    });
    return name ? *name : "";
  }

  int count(std::int64_t who, const std::string& part) {
    int n = 0;
    for (const auto& t : texts(who)) n += t.find(part) != std::string::npos;
    return n;
  }
};

TEST_P(ShopMaintenance, NoticesOnceAndAutoRenewFromTheWallet) {
  bob_buys_with_auto_renew(2 * kPlanPrice);
  const auto expiry = scalar("SELECT expires_at AS v FROM services");
  // 85% of 50 GB used: one traffic notice, however many passes run.
  ASSERT_TRUE(marzban_->set_used_traffic(account_name(), (50LL << 30) * 85 / 100));
  for (int i = 0; i < 3; ++i) {
    auto pass = shop_->maintain();
    ASSERT_TRUE(pass) << pass.error().to_string();
  }
  ASSERT_TRUE(wait_saw(bob_, "% of the traffic of"));
  EXPECT_EQ(count(bob_, "% of the traffic of"), 1);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM notices_sent WHERE kind = 'traffic_80'"), 1);

  // 20 hours before the end: the service renews itself from the wallet, once.
  clock_.set_unix_seconds(expiry - 20 * 3600);
  for (int i = 0; i < 3; ++i) {
    auto pass = shop_->maintain();
    ASSERT_TRUE(pass) << pass.error().to_string();
  }
  ASSERT_TRUE(wait_saw(bob_, "was renewed"));
  EXPECT_EQ(count(bob_, "was renewed"), 1);
  EXPECT_EQ(scalar("SELECT expires_at AS v FROM services"), expiry + 30 * 86'400);
  EXPECT_EQ(balance(bob_), 0);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders WHERE kind = 'renew' AND status = 'completed'"), 1);
  // The renewal is a new period: the 1-day notice of the old end is not sent.
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM notices_sent WHERE kind = 'expiry_1d'"), 0);
}

TEST_P(ShopMaintenance, AutoRenewWithTooLittleInTheWalletTellsOnceAndExpires) {
  bob_buys_with_auto_renew(kPlanPrice);  // nothing left after the purchase
  const auto expiry = scalar("SELECT expires_at AS v FROM services");
  clock_.set_unix_seconds(expiry - 20 * 3600);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(shop_->maintain());
  ASSERT_TRUE(wait_saw(bob_, "Auto-renew of service"));
  ASSERT_TRUE(wait_saw(bob_, "ends in less than a day"));
  EXPECT_EQ(count(bob_, "Auto-renew of service"), 1);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders WHERE kind = 'renew' AND status = 'cancelled'"), 1);
  // After the end: one "ended on" notice and the service is expired.
  clock_.set_unix_seconds(expiry + 60);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(shop_->maintain());
  ASSERT_TRUE(wait_saw(bob_, "ended on"));
  EXPECT_EQ(count(bob_, "ended on"), 1);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM services WHERE status = 'expired'"), 1);
}

TEST_P(ShopMaintenance, AdminMenuAndWaitingReceipts) {
  choose_plan(alice_);
  press(alice_, "کارت به کارت");
  ASSERT_TRUE(wait_saw(alice_, "6037990000001234"));
  ASSERT_TRUE(emulator_->send_photo(alice_, "vpn_shop_bot", picture("r-1")));
  ASSERT_TRUE(wait_saw(alice_, "رسید شما دریافت شد"));
  // Alice is no admin: /admin is just her menu.
  start_and_wait(alice_);
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "admin"));
  EXPECT_FALSE(eventually([&] { return saw(alice_, "مدیریت فروشگاه"); }, 1500ms));
  // The owner lists the receipts waiting and approves from the list.
  ASSERT_TRUE(emulator_->send_command(owner_, "vpn_shop_bot", "admin"));
  ASSERT_TRUE(wait_saw(owner_, "مدیریت فروشگاه (مالک)"));
  press(owner_, "رسیدها");
  ASSERT_TRUE(eventually([&] { return photos(owner_) == 2; }));  // on arrival, and in the list
  press(owner_, "تأیید");
  ASSERT_TRUE(wait_saw(alice_, "آماده است"));
  EXPECT_EQ(marzban_->user_count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ShopMaintenance,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::shop::testing
