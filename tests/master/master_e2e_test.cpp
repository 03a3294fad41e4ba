// The master bot end to end: a customer starts, picks a language, reads the packages and
// buys one (card-to-card approved once by an operator; the wallet; Telegram Stars renewing
// it), and takes a one-time web panel login link.
#include <future>
#include <regex>

#include "master_fixture.hpp"

namespace ms::master::testing {
namespace {

class MasterE2E : public MasterTest {};

TEST_P(MasterE2E, StartLanguageAndPackagesInBothLanguages) {
  command(alice_, "start", "Choose your language");
  press_to(alice_, "فارسی", "مادرشیپ");
  EXPECT_TRUE(wait_saw(alice_, "ندارید"));
  EXPECT_EQ(
      scalar("SELECT count(*) AS v FROM customers WHERE language = 'fa' AND telegram_id = " + std::to_string(alice_)),
      1);
  press_to(alice_, "📦 ", "استارتر");
  // A second /start does not ask for the language again and makes no second customer.
  command(alice_, "start", "مادرشیپ");
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM customers WHERE telegram_id = " + std::to_string(alice_)), 1);

  enter_en(bob_);
  press_to(bob_, "Packages", "Professional");
  press_to(bob_, "Starter", "Shop bots: 1");
  EXPECT_TRUE(wait_saw(bob_, "Monthly: $"));
  EXPECT_TRUE(wait_saw(bob_, "API access"));
}

TEST_P(MasterE2E, CardToCardApprovedOnceActivatesTheSubscriptionOnce) {
  enter_en(bob_);
  press(bob_, "Packages");
  press(bob_, "Starter");
  press_to(bob_, "Buy monthly", "Order #");
  press_to(bob_, "Card to card", "6037990000005678");
  ASSERT_TRUE(emulator_->send_photo(bob_, kBot, shop_picture(), "receipt"));
  ASSERT_TRUE(wait_saw(bob_, "We got your receipt"));
  ASSERT_TRUE(wait_saw(operator_, "Receipt for payment"));
  // Two presses of Approve at once: the payment is approved once.
  std::optional<std::pair<std::int64_t, std::string>> b;
  ASSERT_TRUE(eventually([&] { return (b = find_button(operator_, "Approve")).has_value(); }));
  auto q1 = emulator_->press_button(operator_, kBot, b->first, b->second);
  auto q2 = emulator_->press_button(operator_, kBot, b->first, b->second);
  ASSERT_TRUE(q1 && q2);
  const auto a1 = answer_text(*q1), a2 = answer_text(*q2);
  EXPECT_EQ((a1.find("already") != std::string::npos) + (a2.find("already") != std::string::npos), 1)
      << a1 << " / " << a2;
  ASSERT_TRUE(wait_saw(bob_, "package is active until"));
  const auto customer = std::to_string(customer_id(bob_));
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM subscriptions WHERE state = 'active' AND customer_id = " + customer), 1);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM payments WHERE status = 'paid' AND customer_id = " + customer), 1);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM package_orders WHERE status = 'completed' AND customer_id = " + customer),
            1);
  // The customer got a tenant database for their shop.
  EXPECT_GT(scalar("SELECT tenant_id AS v FROM customers WHERE id = " + customer), 0);
  // Another outbox pass changes nothing and says nothing again.
  bot_->tick(clock_.unix_seconds());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(count_saw(bob_, "package is active until"), 1);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM subscriptions WHERE customer_id = " + customer), 1);
}

TEST_P(MasterE2E, WalletThenStarsRenewal) {
  enter_en(bob_);
  const auto id = customer_id(bob_);
  // $66 in the wallet (in Rial, as customers' wallets are).
  ASSERT_TRUE(
      payments_->ledger().apply({id, Money{40'000'000, Currency::kIrr}, domain::LedgerReason::kTopUp, "test:1", {}}));
  press(bob_, "Packages");
  press(bob_, "Starter");
  press_to(bob_, "Buy monthly", "Order #");
  press_to(bob_, "Wallet", "package is active until");
  const auto customer = std::to_string(id);
  const auto end1 = scalar("SELECT period_end AS v FROM subscriptions WHERE customer_id = " + customer);
  EXPECT_NEAR(end1, clock_.unix_seconds() + 30 * 86400, 5);
  EXPECT_LT(scalar("SELECT balance_minor AS v FROM customers WHERE id = " + customer), 40'000'000);

  // Renew with Stars: the period grows from its end, the subscription stays one row.
  command(bob_, "menu", "Your package: Starter");
  press(bob_, "Packages");
  press(bob_, "Starter");
  press_to(bob_, "Buy monthly", "Type: renewal");
  press(bob_, "Telegram Stars");
  std::int64_t invoice = 0;
  ASSERT_TRUE(eventually([&] {
    for (const auto& m : messages(bob_)) {
      if (m["message"].contains("invoice")) invoice = m["message"]["message_id"].get<std::int64_t>();
    }
    return invoice != 0;
  }));
  std::promise<Result<json>> paid;
  emulator_->pay_invoice(bob_, kBot, invoice, "", [&](Result<json> r) { paid.set_value(std::move(r)); });
  auto result = paid.get_future().get();
  ASSERT_TRUE(result) << result.error().to_string();
  ASSERT_TRUE(eventually([&] { return count_saw(bob_, "package is active until") == 2; }));
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM subscriptions WHERE customer_id = " + customer), 1);
  EXPECT_EQ(scalar("SELECT period_end AS v FROM subscriptions WHERE customer_id = " + customer), end1 + 30 * 86400);
  EXPECT_EQ(scalar("SELECT amount_minor AS v FROM payments WHERE provider = 'telegram_stars'"), 50 * 50);
}

// Another package mid-period: the screen says before paying what the days already paid for
// become, and the new period holds them.
TEST_P(MasterE2E, AnUpgradeCarriesThePaidDaysLeftOver) {
  enter_en(bob_);
  const auto id = customer_id(bob_);
  ASSERT_TRUE(
      payments_->ledger().apply({id, Money{150'000'000, Currency::kIrr}, domain::LedgerReason::kTopUp, "test:1", {}}));
  press(bob_, "Packages");
  press(bob_, "Starter");
  press_to(bob_, "Buy monthly", "Order #");
  press_to(bob_, "Wallet", "package is active until");
  clock_.advance(std::chrono::hours(24 * 10));  // 20 days of Starter ($50 a month) left: $33.33

  command(bob_, "menu", "Your package: Starter");
  press(bob_, "Packages");
  press(bob_, "Professional");
  press_to(bob_, "Buy monthly", "Type: change of package");
  EXPECT_TRUE(wait_saw(bob_, "The 20 days left of your Starter package become 10 days of Professional"));
  press_to(bob_, "Wallet", "package is active until");
  const auto customer = std::to_string(id);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM subscriptions WHERE customer_id = " + customer), 1);
  EXPECT_EQ(scalar("SELECT CASE WHEN p.code = 'professional' THEN 1 ELSE 0 END AS v FROM subscriptions s JOIN packages "
                   "p ON p.id = s.package_id "
                   "WHERE s.customer_id = " +
                   customer),
            1);
  EXPECT_EQ(scalar("SELECT period_end AS v FROM subscriptions WHERE customer_id = " + customer),
            clock_.unix_seconds() + 40 * 86400);
}

TEST_P(MasterE2E, PanelLinkWorksOnceAndExpires) {
  enter_en(bob_);
  // What the link opens (as the person's browser or Telegram's link preview would).
  auto open_link = [&](const std::string& token) {
    http::ClientRequest r;
    r.url = "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/panel/login?token=" + token;
    auto response = http_.send_sync(std::move(r));
    EXPECT_TRUE(response);
    return response ? *response : http::ClientResponse{};
  };
  // The page's button: the form posts the token.
  auto login = [&](const std::string& token) {
    http::ClientRequest r;
    r.method = "POST";
    r.url = "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/panel/login";
    r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    r.body = "token=" + token;
    auto response = http_.send_sync(std::move(r));
    EXPECT_TRUE(response);
    return response ? *response : http::ClientResponse{};
  };
  auto link_token = [&]() {
    std::string token;
    EXPECT_TRUE(eventually([&] {
      for (const auto& t : texts(bob_)) {
        std::smatch m;
        if (std::regex_search(t, m, std::regex("/panel/login\\?token=([A-Za-z0-9_-]+)")) && m[1] != last_token_) {
          token = m[1];
          return true;
        }
      }
      return false;
    }));
    last_token_ = token;
    return token;
  };
  command(bob_, "panel", "one-time login link");
  const auto token = link_token();
  ASSERT_FALSE(token.empty());
  // Only the hash is stored.
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM login_tokens WHERE token_hash = '" + token + "'"), 0);
  // Opening the link (twice: a preview, then the person) uses nothing up; the page posts it.
  for (int i = 0; i < 2; ++i) {
    auto page = open_link(token);
    EXPECT_EQ(page.status, 200) << page.body;
    EXPECT_NE(page.body.find("name=\"token\" value=\"" + token + "\""), std::string::npos) << page.body;
    EXPECT_NE(page.body.find("method=\"post\""), std::string::npos);
    EXPECT_FALSE(page.headers.get("Set-Cookie").has_value());
  }
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM login_tokens WHERE used_at IS NOT NULL"), 0);
  EXPECT_EQ(open_link("abc.def").status, 401);
  auto first = login(token);
  EXPECT_EQ(first.status, 200) << first.body;
  auto cookie = first.headers.get("Set-Cookie");
  ASSERT_TRUE(cookie.has_value());
  EXPECT_EQ(cookie->rfind("ms_session=", 0), 0u);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM auth_sessions WHERE subject_kind = 'customer' AND subject_id = " +
                   std::to_string(customer_id(bob_))),
            1);
  auto second = login(token);
  EXPECT_EQ(second.status, 401);
  EXPECT_NE(second.body.find("unauthenticated"), std::string::npos);
  EXPECT_EQ(login("not-a-token").status, 401);

  // A link not used within 10 minutes is refused.
  command(bob_, "panel", "one-time login link");
  const auto later = link_token();
  ASSERT_FALSE(later.empty());
  clock_.advance(std::chrono::seconds(601));
  EXPECT_EQ(login(later).status, 401);
}

INSTANTIATE_TEST_SUITE_P(Backends, MasterE2E, ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         [](const auto& info) { return std::string(storage::to_string(info.param)); });

}  // namespace
}  // namespace ms::master::testing
