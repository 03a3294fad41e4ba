// A purchase in the shop bot through each payment gateway (NOWPayments, Zarinpal, Stripe,
// PayPal), end to end on SQLite and PostgreSQL: the person picks location -> plan -> the
// gateway and gets the payment link and "Check payment"; the test plays the payer at the
// strict gateway test servers (tests/payments) and the money arrives by every path the
// gateway has: its webhook / IPN / the payer's browser coming back to our payment routes (a
// real http::Server, as in `serve`), and the person pressing "Check payment" (a poll). In
// whatever order and however many copies arrive, the panel account is made once and the
// link and QR code are delivered once.
#include <future>

#include "core/worker_pool.hpp"
#include "gateway_servers.hpp"
#include "payments/nowpayments/nowpayments.hpp"
#include "payments/paypal/paypal.hpp"
#include "payments/routes.hpp"
#include "payments/stripe/stripe.hpp"
#include "payments/zarinpal/zarinpal.hpp"
#include "shop_fixture.hpp"

namespace ms::shop::testing {
namespace {

using domain::PaymentState;
using payments::testing::Delivery;

constexpr std::int64_t kRialPerDollar = 600'000;  // the plan (1,500,000 Rial) is $2.50
constexpr Money kPlanInDollars{250, Currency::kUsd};

class ShopGateways : public ShopTest {
 protected:
  void SetUp() override {
    // Our payment routes and the gateways are up before the shop's PaymentService is made:
    // its providers point at the gateways, its callbacks at us.
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.threads = 2;
    ours_ = std::make_unique<http::Server>(so);
    payments::PaymentRoutes routes;
    routes.pool = &pool_;
    routes.resolve = [this](std::string_view account) -> std::shared_ptr<payments::PaymentService> {
      return account == "t1" ? payments_ : nullptr;
    };
    routes.audit = [this](const payments::AuditEvent& e) {
      std::lock_guard lock(mu_);
      rejected_.push_back(e.provider + ": " + e.reason);
    };
    payments::add_payment_routes(ours_->router(), std::move(routes));
    ASSERT_TRUE(ours_->start());
    ours_url_ = "http://127.0.0.1:" + std::to_string(ours_->bound_port());
    gw_options_.clock = &clock_;
    gw_options_.stripe_webhook_url = ours_url_ + "/payments/stripe/t1/webhook";
    gw_options_.paypal_webhook_url = ours_url_ + "/payments/paypal/t1/webhook";
    gw_ = std::make_unique<payments::testing::GatewayTestServers>(gw_options_);
    ASSERT_TRUE(gw_->start());
    ShopTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(payments_->set_exchange_rate({Currency::kUsd, Currency::kIrr, kRialPerDollar}));
  }

  void TearDown() override {
    if (ours_) ours_->stop(1s);
    pool_.shutdown();
    if (gw_) gw_->stop();
    ShopTest::TearDown();
    std::lock_guard lock(mu_);
    EXPECT_TRUE(rejected_.empty()) << "a genuine callback was refused: " << rejected_.front();
  }

  void add_providers(std::vector<std::shared_ptr<payments::PaymentProvider>>& providers,
                     payments::ServiceOptions& o) override {
    const std::string gw = gw_->base_url();
    payments::NowPaymentsSettings np;
    np.api_url = gw;
    np.api_key = gw_options_.nowpayments_api_key;
    np.ipn_secret = gw_options_.nowpayments_ipn_secret;
    np.email = gw_options_.nowpayments_email;
    np.password = gw_options_.nowpayments_password;
    np.timeout = 5s;
    providers.push_back(std::make_shared<payments::NowPaymentsProvider>(std::move(np), gw_client_));
    providers.push_back(std::make_shared<payments::ZarinpalProvider>(
        payments::ZarinpalSettings{gw, gw_options_.zarinpal_merchant_id, 5s}, gw_client_));
    providers.push_back(std::make_shared<payments::StripeProvider>(
        payments::StripeSettings{gw, gw_options_.stripe_secret_key, gw_options_.stripe_webhook_secret, 300, 5s},
        gw_client_, clock_));
    providers.push_back(std::make_shared<payments::PayPalProvider>(
        payments::PayPalSettings{gw, gw_options_.paypal_client_id, gw_options_.paypal_client_secret,
                                 gw_options_.paypal_webhook_id, 5s},
        gw_client_, clock_));
    o.callback_base_url = ours_url_ + "/payments";
  }

  struct Started {
    std::int64_t payment = 0;
    std::string ref;  // the gateway's id of it (invoice, authority, session, order)
    std::string url;  // the page the person is sent to
  };

  // `who` goes from /start to the gateway whose button says `method`, and gets the link to
  // the gateway's page and "Check payment".
  Started checkout(std::int64_t who, const std::string& method) {
    Started s;
    choose_plan(who);
    press(who, method);
    EXPECT_TRUE(eventually([&] { return find_button(who, "🔍").has_value(); }))
        << "no Check payment after " << method << ": " << chat(who).dump().substr(0, 4000);
    s.payment = scalar("SELECT max(id) AS v FROM payments WHERE user_id = " + std::to_string(user_id(who)));
    auto p = payments_->get(s.payment);
    EXPECT_TRUE(p) << p.error().to_string();
    if (!p) return s;
    EXPECT_EQ(p->state, PaymentState::kPending);
    s.ref = p->provider_ref.value_or("");
    s.url = p->action.url;
    EXPECT_FALSE(s.ref.empty());
    EXPECT_EQ(s.url.rfind(gw_->base_url() + "/", 0), 0u) << s.url;
    EXPECT_EQ(link_in_chat(who), s.url);  // what the person opens
    return s;
  }

  // The URL of the newest link button the bot sent.
  std::string link_in_chat(std::int64_t who) {
    auto messages = chat(who).value("messages", json::array());
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      const auto& msg = (*it)["message"];
      if (!msg.contains("reply_markup")) continue;
      for (const auto& row : msg["reply_markup"].value("inline_keyboard", json::array()))
        for (const auto& b : row)
          if (b.contains("url")) return b["url"].get<std::string>();
    }
    return "";
  }

  // Presses "Check payment"; the bot's answer.
  std::string check(std::int64_t who) { return answer_text(press(who, "🔍")); }
  bool says_received(std::int64_t who, const std::string& answer) {
    return answer == (who == bob_ ? "✅ Your payment was received." : "✅ پرداخت شما دریافت شد.");
  }

  int deliveries(std::int64_t who) {
    int n = 0;
    for (const auto& t : texts(who)) n += t.find(who == bob_ ? "is ready" : "آماده است") != std::string::npos;
    return n;
  }

  // What the shop's host does every few seconds (ShopHost: ShopBot::maintain): the payment
  // outbox a callback filled is delivered.
  bool maintained_until_delivered(std::int64_t who) {
    return eventually([&] {
      auto pass = shop_->maintain();
      EXPECT_TRUE(pass) << pass.error().to_string();
      return deliveries(who) > 0;
    });
  }

  // A GET as the payer's browser makes it (redirects are not followed).
  http::ClientResponse browse(const std::string& url) {
    http::ClientRequest r;
    r.url = url;
    r.timeout = 20s;
    auto res = gw_client_.send_sync(r);
    EXPECT_TRUE(res) << url << ": " << res.error().to_string();
    return res ? *res : http::ClientResponse{};
  }
  int deliver(const Delivery& d) {
    auto status = gw_->deliver(d);
    EXPECT_TRUE(status) << d.url << ": " << status.error().to_string();
    return status.value_or(0);
  }

  // After the last callback and press: one more pass of the host, so nothing is still on
  // its way; then `who` holds exactly one service, delivered once with its QR code, the
  // order completed, the payment paid once (in `paid`), one fulfilment, nothing in the wallet.
  void expect_sold_once(std::int64_t who, const Started& s, Money paid) {
    auto pass = shop_->maintain();
    ASSERT_TRUE(pass) << pass.error().to_string();
    EXPECT_EQ(pass->outbox_done, 0);
    EXPECT_EQ(pass->orders_resumed, 0);
    const std::string uid = std::to_string(user_id(who)), pid = std::to_string(s.payment);
    EXPECT_EQ(deliveries(who), 1);
    EXPECT_EQ(photos(who), 1);  // the QR code
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM services WHERE user_id = " + uid), 1);
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders WHERE user_id = " + uid), 1);
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders WHERE status = 'completed' AND user_id = " + uid), 1);
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM payments WHERE user_id = " + uid), 1);
    auto p = payments_->get(s.payment);
    ASSERT_TRUE(p) << p.error().to_string();
    EXPECT_EQ(p->state, PaymentState::kPaid);
    EXPECT_EQ(p->amount, paid);
    EXPECT_FALSE(p->flag.has_value()) << *p->flag;
    EXPECT_TRUE(p->paid_at.has_value());
    EXPECT_EQ(p->order_id, scalar("SELECT id AS v FROM orders WHERE user_id = " + uid));
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM payment_outbox WHERE kind = 'fulfil_order' AND status = 'done' AND "
                     "payment_id = " +
                     pid),
              1);
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM payment_outbox WHERE payment_id = " + pid), 1);
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM wallet_ledger WHERE user_id = " + uid), 0);
    EXPECT_EQ(balance(who), 0);
    // The link delivered is the panel's account's.
    auto url = db_->with_session([&](storage::Session& session) -> Result<std::string> {
      auto row = session.query_one("SELECT subscription_url FROM services WHERE user_id = " + uid);
      if (!row) return fail(std::move(row.error()));
      if (!*row) return fail(ErrorCode::kNotFound, "no service");
      return (*row)->get_string("subscription_url");
    });
    ASSERT_TRUE(url) << url.error().to_string();
    EXPECT_TRUE(saw(who, *url));
  }

  WorkerPool pool_{2, 1000};
  std::unique_ptr<http::Server> ours_;
  std::string ours_url_;
  payments::testing::GatewayServerOptions gw_options_;
  std::unique_ptr<payments::testing::GatewayTestServers> gw_;
  http::CurlClient gw_client_;
  std::mutex mu_;
  std::vector<std::string> rejected_;  // callbacks our routes refused (none may be)
};

TEST_P(ShopGateways, NowPaymentsByIpnAndByCheckingThePayment) {
  // Alice pays; NOWPayments' IPN reaches us twice (it repeats them); then she presses Check.
  auto a = checkout(alice_, "🪙");
  EXPECT_EQ(a.url, gw_->base_url() + "/payment/?iid=" + a.ref);
  EXPECT_NE(check(alice_).find("هنوز تأیید نشده"), std::string::npos);  // nothing paid yet
  auto ipn = gw_->nowpayments_pay(a.ref, "finished");
  ASSERT_TRUE(ipn) << ipn.error().to_string();
  EXPECT_EQ(deliver(*ipn), 200);
  EXPECT_EQ(deliver(*ipn), 200);
  ASSERT_TRUE(maintained_until_delivered(alice_));
  EXPECT_TRUE(says_received(alice_, check(alice_)));
  expect_sold_once(alice_, a, kPlanInDollars);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM payment_events WHERE provider = 'nowpayments'"), 1);

  // Bob pays but the IPN is lost: his Check asks NOWPayments (the invoice's payments). The
  // IPN comes after all, and he presses again: nothing more.
  auto b = checkout(bob_, "🪙");
  auto lost = gw_->nowpayments_pay(b.ref, "finished");
  ASSERT_TRUE(lost) << lost.error().to_string();
  EXPECT_TRUE(says_received(bob_, check(bob_)));
  ASSERT_TRUE(wait_saw(bob_, "is ready"));
  EXPECT_EQ(deliver(*lost), 200);
  EXPECT_TRUE(says_received(bob_, check(bob_)));
  expect_sold_once(bob_, b, kPlanInDollars);
  EXPECT_EQ(marzban_->user_count(), 2u);
  EXPECT_EQ(marzban_->hits("POST /api/user"), 2);
}

TEST_P(ShopGateways, ZarinpalByTheReturningBrowserAndByCheckingThePayment) {
  // Alice pays on StartPay; her browser comes back to our callback, which verifies with
  // Zarinpal; she reloads the page; then she presses Check in the bot.
  auto a = checkout(alice_, "🏦");
  EXPECT_EQ(a.url, gw_->base_url() + "/pg/StartPay/" + a.ref);
  auto start = browse(a.url + "?result=OK");
  ASSERT_EQ(start.status, 302);
  const std::string callback(start.headers.get("Location").value_or(""));
  ASSERT_EQ(callback.rfind(ours_url_ + "/payments/zarinpal/t1/callback?Authority=" + a.ref, 0), 0u) << callback;
  auto page = browse(callback);
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(browse(callback).status, 200);
  ASSERT_TRUE(maintained_until_delivered(alice_));
  EXPECT_TRUE(says_received(alice_, check(alice_)));
  expect_sold_once(alice_, a, Money{kPlanPrice, Currency::kIrr});

  // Bob pays but closes the browser before it comes back: his Check verifies with Zarinpal.
  // The browser's return comes later: nothing more.
  auto b = checkout(bob_, "🏦");
  auto late = gw_->zarinpal_pay(b.ref);
  ASSERT_TRUE(late) << late.error().to_string();
  EXPECT_TRUE(says_received(bob_, check(bob_)));
  ASSERT_TRUE(wait_saw(bob_, "is ready"));
  EXPECT_EQ(browse(*late).status, 200);
  EXPECT_TRUE(says_received(bob_, check(bob_)));
  expect_sold_once(bob_, b, Money{kPlanPrice, Currency::kIrr});
  EXPECT_EQ(marzban_->user_count(), 2u);
  EXPECT_EQ(marzban_->hits("POST /api/user"), 2);
}

TEST_P(ShopGateways, StripeByWebhookRacingTheCheckAndByCheckingThePayment) {
  // Alice completes the Checkout Session. Two copies of Stripe's webhook and her press of
  // Check arrive at the same moment; then her browser comes back to the return page.
  auto a = checkout(alice_, "(Stripe)");
  EXPECT_EQ(a.url, gw_->base_url() + "/c/pay/" + a.ref);
  auto event = gw_->stripe_complete(a.ref);
  ASSERT_TRUE(event) << event.error().to_string();
  auto first = std::async(std::launch::async, [&] { return deliver(*event); });
  auto second = std::async(std::launch::async, [&] { return deliver(*event); });
  const std::string answer = check(alice_);
  EXPECT_EQ(first.get(), 200);
  EXPECT_EQ(second.get(), 200);
  // Whoever won, the money is in and the Check says so; the host's pass (or the Check's
  // own dispatch) delivers.
  EXPECT_TRUE(says_received(alice_, answer)) << answer;
  ASSERT_TRUE(maintained_until_delivered(alice_));
  EXPECT_TRUE(says_received(alice_, check(alice_)));
  EXPECT_EQ(browse(ours_url_ + "/payments/stripe/t1/return?session_id=" + a.ref).status, 200);
  expect_sold_once(alice_, a, kPlanInDollars);

  // Bob's webhook is lost: his Check asks Stripe for the session. It arrives later.
  auto b = checkout(bob_, "(Stripe)");
  auto lost = gw_->stripe_complete(b.ref);
  ASSERT_TRUE(lost) << lost.error().to_string();
  EXPECT_TRUE(says_received(bob_, check(bob_)));
  ASSERT_TRUE(wait_saw(bob_, "is ready"));
  EXPECT_EQ(deliver(*lost), 200);
  EXPECT_TRUE(says_received(bob_, check(bob_)));
  expect_sold_once(bob_, b, kPlanInDollars);
  EXPECT_EQ(marzban_->user_count(), 2u);
  EXPECT_EQ(marzban_->hits("POST /api/user"), 2);
}

TEST_P(ShopGateways, PayPalByWebhookAndReturnAndByCheckingThePayment) {
  // Alice approves at PayPal. The APPROVED webhook arrives twice (we capture once), her
  // browser comes back to the return page, the CAPTURE.COMPLETED webhook follows; then Check.
  auto a = checkout(alice_, "🅿️");
  EXPECT_EQ(a.url, gw_->base_url() + "/checkoutnow?token=" + a.ref);
  auto back = gw_->paypal_approve(a.ref);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->rfind(ours_url_ + "/payments/paypal/t1/return?token=" + a.ref, 0), 0u) << *back;
  auto approved = gw_->paypal_event(a.ref, "CHECKOUT.ORDER.APPROVED");
  ASSERT_TRUE(approved) << approved.error().to_string();
  EXPECT_EQ(deliver(*approved), 200);
  EXPECT_EQ(deliver(*approved), 200);
  EXPECT_EQ(gw_->paypal_capture_calls(), 1);
  EXPECT_EQ(browse(*back).status, 200);
  auto captured = gw_->paypal_event(a.ref, "PAYMENT.CAPTURE.COMPLETED");
  ASSERT_TRUE(captured) << captured.error().to_string();
  EXPECT_EQ(deliver(*captured), 200);
  ASSERT_TRUE(maintained_until_delivered(alice_));
  EXPECT_TRUE(says_received(alice_, check(alice_)));
  expect_sold_once(alice_, a, kPlanInDollars);
  EXPECT_EQ(gw_->paypal_capture_calls(), 1);
  auto pa = payments_->get(a.payment);
  ASSERT_TRUE(pa);
  EXPECT_EQ(gw_->paypal_capture_status(pa->charge_ref.value_or("")), "COMPLETED");

  // Bob approves but neither the webhook nor his browser reaches us: Check captures the
  // order. Both arrive later: nothing more, no second capture.
  auto b = checkout(bob_, "🅿️");
  auto late = gw_->paypal_approve(b.ref);
  ASSERT_TRUE(late) << late.error().to_string();
  EXPECT_TRUE(says_received(bob_, check(bob_)));
  ASSERT_TRUE(wait_saw(bob_, "is ready"));
  EXPECT_EQ(gw_->paypal_capture_calls(), 2);
  auto late_event = gw_->paypal_event(b.ref, "CHECKOUT.ORDER.APPROVED");
  ASSERT_TRUE(late_event) << late_event.error().to_string();
  EXPECT_EQ(deliver(*late_event), 200);
  EXPECT_EQ(browse(*late).status, 200);
  EXPECT_TRUE(says_received(bob_, check(bob_)));
  expect_sold_once(bob_, b, kPlanInDollars);
  EXPECT_EQ(gw_->paypal_capture_calls(), 2);
  EXPECT_EQ(marzban_->user_count(), 2u);
  EXPECT_EQ(marzban_->hits("POST /api/user"), 2);
}

TEST_P(ShopGateways, AShortPaymentWaitsForTheShopAndAnExpiredOneIsSaidToHaveFailed) {
  // Alice sends half of the crypto: the IPN is genuine, the money is not enough. Check
  // says the shop reviews it (on every press), nothing is made, the owner is told.
  auto a = checkout(alice_, "🪙");
  auto half = gw_->nowpayments_pay(a.ref, "partially_paid", 0.5);
  ASSERT_TRUE(half) << half.error().to_string();
  EXPECT_EQ(deliver(*half), 200);
  const std::string in_review = "فروشگاه آن را بررسی می\u200cکند";
  EXPECT_NE(check(alice_).find(in_review), std::string::npos);
  EXPECT_NE(check(alice_).find(in_review), std::string::npos);
  ASSERT_TRUE(eventually([&] {
    auto pass = shop_->maintain();
    EXPECT_TRUE(pass) << pass.error().to_string();
    return saw(owner_, "فقط") && saw(owner_, "منتظر بررسی شماست");
  }));
  auto p = payments_->get(a.payment);
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->state, PaymentState::kAwaitingReview);
  EXPECT_EQ(p->flag.value_or(""), "partially_paid");
  EXPECT_EQ(p->received.value_or(Money{}), (Money{125, Currency::kUsd}));
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders WHERE status = 'awaiting_payment'"), 1);

  // Bob leaves Stripe's page until the session expires: Check says it did not go through
  // (and how to start again).
  auto b = checkout(bob_, "(Stripe)");
  auto expired = gw_->stripe_expire(b.ref);
  ASSERT_TRUE(expired) << expired.error().to_string();
  EXPECT_EQ(deliver(*expired), 200);
  const std::string answer = check(bob_);
  EXPECT_EQ(answer.rfind("❌ This payment did not go through", 0), 0u) << answer;
  EXPECT_EQ(answer.find('{'), std::string::npos) << answer;
  EXPECT_EQ(payments_->get(b.payment)->state, PaymentState::kExpired);

  EXPECT_EQ(deliveries(alice_) + deliveries(bob_), 0);
  EXPECT_EQ(photos(alice_) + photos(bob_), 0);
  EXPECT_EQ(marzban_->user_count(), 0u);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM services"), 0);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM wallet_ledger"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ShopGateways,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::shop::testing
