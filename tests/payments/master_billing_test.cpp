// The same PaymentService on the MASTER database (Schema::master(): customers paying for
// package_orders, their wallets in customer_ledger), against the strict gateway servers
// over real HTTP, on SQLite and PostgreSQL: card-to-card approved once, a gateway webhook
// credited once, expiry, paying from the wallet, refunds.
#include "payments_fixture.hpp"
#include "storage/migrations/migrations.hpp"

namespace ms::payments {
namespace {

// The master bot's side of fulfilment, as it will be: activates the package once.
class PackageFulfiller final : public FulfilmentHook {
 public:
  explicit PackageFulfiller(storage::Database& master) : db_(master) {}
  Result<void> handle(const OutboxItem& item) override {
    if (item.kind != "fulfil_order") return ok();
    auto changed = db_.with_session([&](Session& s) {
      return s.exec("UPDATE package_orders SET status = 'completed' WHERE id = :id AND status = 'paid'",
                    {{"id", *item.order_id}});
    });
    if (!changed) return fail(changed.error());
    fulfilled += static_cast<int>(*changed);
    return ok();
  }
  storage::Database& db_;
  std::atomic<int> fulfilled{0};
};

class MasterBillingTest : public PaymentsTest {
 protected:
  void SetUp() override {
    PaymentsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto m = make_service({}, Schema::master());
    ASSERT_TRUE(m->set_exchange_rate({Currency::kUsd, Currency::kIrr, 600'000}));
    std::lock_guard lock(service_mu_);
    master_service_ = m;
  }
  PaymentService& billing() { return *master_service_; }
  storage::Database& master() { return storage_->master(); }

  std::int64_t insert(const std::string& sql, storage::Params params) {
    auto id = master().with_session([&](Session& s) -> Result<std::int64_t> {
      auto row = s.query_one(sql, params);
      if (!row) return fail(row.error());
      return (*row)->get_int("id");
    });
    EXPECT_TRUE(id) << id.error().to_string();
    return id.value_or(0);
  }
  std::int64_t add_customer(std::int64_t tg, const std::string& currency = "IRR") {
    return insert(
        "INSERT INTO customers (telegram_id, name, currency, created_at, updated_at) VALUES (:tg, 'Sara', :c, 1, 1) "
        "RETURNING id",
        {{"tg", tg}, {"c", currency}});
  }
  // A package order (new, monthly) of `price`.
  std::int64_t add_package_order(std::int64_t customer, Money price, const std::string& period = "monthly") {
    const std::string code = "pkg" + std::to_string(++packages_);
    const auto package = insert(
        "INSERT INTO packages (code, name_fa, name_en, monthly_price_minor, yearly_price_minor, currency, created_at, "
        "updated_at) VALUES (:code, 'بسته', 'Package', :m, :y, :c, 1, 1) RETURNING id",
        {{"code", code},
         {"m", price.minor},
         {"y", price.minor * 10},
         {"c", std::string(currency_code(price.currency))}});
    return insert(
        "INSERT INTO package_orders (customer_id, package_id, billing_period, kind, amount_minor, currency, "
        "created_at, updated_at) VALUES (:cu, :p, :period, 'new', :a, :c, :now, :now2) RETURNING id",
        {{"cu", customer},
         {"p", package},
         {"period", period},
         {"a", price.minor},
         {"c", std::string(currency_code(price.currency))},
         {"now", clock_.unix_seconds()},
         {"now2", clock_.unix_seconds()}});
  }
  std::string package_order_status(std::int64_t id) {
    auto s = master().with_session([&](Session& s) -> Result<std::string> {
      auto row = s.query_one("SELECT status, cancel_reason FROM package_orders WHERE id = :id", {{"id", id}});
      if (!row) return fail(row.error());
      auto reason = (*row)->opt_string("cancel_reason");
      return (*row)->get_string("status") + (reason ? "/" + *reason : "");
    });
    return s.value_or("?");
  }
  std::int64_t in_master(const std::string& sql, storage::Params params = {}) {
    return count(sql, std::move(params), &master());
  }
  std::int64_t balance(std::int64_t customer) { return billing().ledger().balance(customer)->minor; }
  int packages_ = 0;
};

TEST_P(MasterBillingTest, CardToCardIsApprovedOnceAndTheOrderFulfilledOnce) {
  const auto customer = add_customer(700);
  const auto order = add_package_order(customer, {5'000'000, Currency::kIrr});
  auto c = billing().pay_order(order, PaymentMethod::kCardToCard);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->action.kind, PayerAction::Kind::kCardTransfer);
  EXPECT_GT(c->action.amount.minor, 5'000'000);
  EXPECT_EQ(c->payment.user_id, customer);
  EXPECT_EQ(package_order_status(order), "awaiting_payment");
  ASSERT_TRUE(billing().submit_receipt(c->payment.id, "photo", "uniq-m1"));

  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> admins;
  for (int i = 0; i < 8; ++i)
    admins.emplace_back([&, i] {
      auto r = billing().approve(c->payment.id, 9000 + i);
      if (r)
        ++wins;
      else if (r.error().code == ErrorCode::kConflict)
        ++conflicts;
    });
  for (auto& t : admins) t.join();
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(conflicts, 7);
  EXPECT_EQ(package_order_status(order), "paid");
  PackageFulfiller hook(master());
  EXPECT_EQ(*billing().dispatch_outbox(hook), 1);
  EXPECT_EQ(*billing().dispatch_outbox(hook), 0);
  EXPECT_EQ(hook.fulfilled, 1);
  EXPECT_EQ(package_order_status(order), "completed");
  // All of it happened in the master database; the tenant's tables saw nothing.
  EXPECT_EQ(in_master("SELECT COUNT(*) AS n FROM payments WHERE customer_id = :c", {{"c", customer}}), 1);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payments"), 0);
}

TEST_P(MasterBillingTest, AGatewayWebhookIsCreditedOnceWhateverTheCopies) {
  const auto customer = add_customer(701);
  const auto order = add_package_order(customer, {1'050, Currency::kUsd});
  auto c = billing().pay_order(order, PaymentMethod::kNowPayments);
  ASSERT_TRUE(c) << c.error().to_string();
  auto ipn = gw_->nowpayments_pay(*c->payment.provider_ref, "finished");
  ASSERT_TRUE(ipn);
  EXPECT_EQ(ipn->url, base_ + "/payments/nowpayments/master/webhook");
  testing::Delivery forged = *ipn;
  forged.headers[1].second = std::string(128, 'a');
  EXPECT_EQ(*gw_->deliver(forged), 400);
  EXPECT_EQ(package_order_status(order), "awaiting_payment");

  std::vector<std::thread> copies;
  std::atomic<int> accepted{0};
  for (int i = 0; i < 20; ++i)
    copies.emplace_back([&] {
      auto status = gw_->deliver(*ipn);
      if (status && *status == 200) ++accepted;
    });
  for (auto& t : copies) t.join();
  EXPECT_EQ(accepted, 20);
  EXPECT_EQ(package_order_status(order), "paid");
  EXPECT_EQ(in_master("SELECT COUNT(*) AS n FROM payment_outbox WHERE kind = 'fulfil_order'"), 1);
  EXPECT_EQ(in_master("SELECT COUNT(*) AS n FROM payment_events WHERE provider = 'nowpayments'"), 1);
}

TEST_P(MasterBillingTest, UnpaidPackageOrdersExpire) {
  const auto customer = add_customer(702);
  const auto order = add_package_order(customer, {5'000'000, Currency::kIrr});
  auto c = billing().pay_order(order, PaymentMethod::kCardToCard);
  ASSERT_TRUE(c);
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(*billing().expire_due(), 1);
  EXPECT_EQ(billing().get(c->payment.id)->state, PaymentState::kExpired);
  EXPECT_EQ(package_order_status(order), "cancelled/expired");
  EXPECT_EQ(billing().submit_receipt(c->payment.id, "late", "late").error().code, ErrorCode::kConflict);
}

TEST_P(MasterBillingTest, ACustomersWalletIsToppedUpAndPaysForAPackage) {
  const auto customer = add_customer(703);
  auto top = billing().top_up(customer, {2'000'000, Currency::kIrr}, PaymentMethod::kZarinpal);
  ASSERT_TRUE(top) << top.error().to_string();
  auto callback = gw_->zarinpal_pay(*top->payment.provider_ref);
  ASSERT_TRUE(callback);
  EXPECT_EQ(callback->rfind(base_ + "/payments/zarinpal/master/callback?", 0), 0u) << *callback;
  auto page = get(*callback);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  ASSERT_TRUE(get(*callback));  // the customer reloads the page
  EXPECT_EQ(balance(customer), 2'000'000);
  EXPECT_EQ(in_master("SELECT COUNT(*) AS n FROM customer_ledger WHERE customer_id = :c", {{"c", customer}}), 1);

  const auto order = add_package_order(customer, {1'500'000, Currency::kIrr});
  auto paid = billing().pay_order(order, PaymentMethod::kWallet);
  ASSERT_TRUE(paid) << paid.error().to_string();
  EXPECT_EQ(paid->payment.state, PaymentState::kPaid);
  EXPECT_EQ(package_order_status(order), "paid");
  EXPECT_EQ(balance(customer), 500'000);
  const auto too_much = add_package_order(customer, {1'000'000, Currency::kIrr});
  EXPECT_EQ(billing().pay_order(too_much, PaymentMethod::kWallet).error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(package_order_status(too_much), "pending");
  EXPECT_EQ(billing().ledger().sum_of_rows(customer)->minor, 500'000);
  auto rows = billing().ledger().rows(customer);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].reason, "purchase");
  EXPECT_EQ((*rows)[1].user_id, customer);
}

TEST_P(MasterBillingTest, RefundsInPartsAndATopUpRefundTakesItBackFromTheWallet) {
  const auto customer = add_customer(704);
  const auto order = add_package_order(customer, {2'500, Currency::kUsd}, "yearly");
  auto c = billing().pay_order(order, PaymentMethod::kStripe);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->action.url.rfind(gw_->base_url() + "/c/pay/", 0), 0u);
  ASSERT_TRUE(gw_->stripe_complete(*c->payment.provider_ref));
  auto page = get(base_ + "/payments/stripe/master/return?session_id=" + *c->payment.provider_ref);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  ASSERT_EQ(billing().get(c->payment.id)->state, PaymentState::kPaid);
  auto part = billing().refund(c->payment.id, "downgrade", Money{1'000, Currency::kUsd});
  ASSERT_TRUE(part) << part.error().to_string();
  EXPECT_EQ(part->state, PaymentState::kPaid);
  auto rest = billing().refund(c->payment.id, "cancelled");
  ASSERT_TRUE(rest) << rest.error().to_string();
  EXPECT_EQ(rest->state, PaymentState::kRefunded);
  EXPECT_EQ(gw_->stripe_refunded(*c->payment.provider_ref), 2'500);

  // A top-up through PayPal ($10), refunded: the wallet gives the 6,000,000 IRR back first.
  auto top = billing().top_up(customer, {6'000'000, Currency::kIrr}, PaymentMethod::kPayPal);
  ASSERT_TRUE(top) << top.error().to_string();
  ASSERT_TRUE(gw_->paypal_approve(*top->payment.provider_ref));
  ASSERT_EQ(*billing().poll(top->payment.id), Outcome::kPaid);
  ASSERT_EQ(balance(customer), 6'000'000);
  ASSERT_TRUE(billing().refund(top->payment.id, "customer asked"));
  EXPECT_EQ(balance(customer), 0);
  EXPECT_EQ(in_master("SELECT COUNT(*) AS n FROM customer_ledger WHERE reason = 'top_up_refund'"), 1);
  EXPECT_EQ(billing().ledger().sum_of_rows(customer)->minor, 0);
}

TEST_P(MasterBillingTest, RecoveryOnTheMasterFindsALostIpn) {
  const auto customer = add_customer(705);
  const auto order = add_package_order(customer, {1'050, Currency::kUsd});
  auto c = billing().pay_order(order, PaymentMethod::kNowPayments);
  ASSERT_TRUE(c);
  ASSERT_TRUE(gw_->nowpayments_pay(*c->payment.provider_ref, "finished"));  // its IPN is lost
  auto report = billing().recover();
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->settled, 1);
  EXPECT_EQ(package_order_status(order), "paid");
}

TEST_P(MasterBillingTest, MasterMigration3KeepsTheV1PaymentsInTheV2Shape) {
  auto place = storage::testing::Place::make(GetParam());
  ASSERT_TRUE(place) << place.error().to_string();
  auto opened = storage::Storage::open((*place)->options());
  ASSERT_TRUE(opened) << opened.error().to_string();
  std::unique_ptr<storage::Storage> old = std::move(*opened);
  const auto& all = storage::migrations::master();
  const std::vector<storage::migrations::Migration> v2(all.begin(), all.begin() + 2);
  ASSERT_TRUE(storage::migrations::apply(old->master(), v2, clock_));
  auto filled = old->master().transaction([](Session& s) -> Result<void> {
    for (const char* sql : {
             "INSERT INTO customers (telegram_id, name, created_at, updated_at) VALUES (111, 'Sara', 5, 5)",
             "INSERT INTO packages (code, name_fa, name_en, monthly_price_minor, yearly_price_minor, currency, "
             "created_at, updated_at) VALUES ('starter', 'استارتر', 'Starter', 5000, 50000, 'USD', 5, 5)",
             "INSERT INTO subscriptions (customer_id, package_id, status, created_at, updated_at) "
             "VALUES (1, 1, 'active', 5, 5)",
             "INSERT INTO payments (customer_id, subscription_id, provider, provider_ref, amount_minor, currency, "
             "status, created_at, updated_at) VALUES (1, 1, 'stripe', 'cs_1', 5000, 'USD', 'paid', 6, 7)",
             "INSERT INTO payments (customer_id, provider, amount_minor, currency, status, receipt_file_unique_id, "
             "created_at, updated_at) VALUES (1, 'card_to_card', 5000000, 'IRR', 'review', 'u1', 8, 8)",
         }) {
      if (auto r = s.exec(sql); !r) return fail(std::move(r.error()));
    }
    return ok();
  });
  ASSERT_TRUE(filled) << filled.error().to_string();
  // Up to v3 (later versions rebuild subscriptions; their own tests cover that).
  const std::vector<storage::migrations::Migration> v3(all.begin(), all.begin() + 3);
  auto migrated = storage::migrations::apply(old->master(), v3, clock_);
  ASSERT_TRUE(migrated) << migrated.error().to_string();
  EXPECT_EQ(migrated->version, 3);

  ServiceOptions o;
  o.schema = Schema::master();
  PaymentService service(old->master(), {}, clock_, o);
  auto paid = service.get(1);
  ASSERT_TRUE(paid) << paid.error().to_string();
  EXPECT_EQ(paid->state, PaymentState::kPaid);
  EXPECT_EQ(paid->user_id, 1);
  EXPECT_EQ(paid->provider_ref.value_or(""), "cs_1");
  EXPECT_EQ(paid->paid_at.value_or(0), 7);
  auto review = service.get(2);
  ASSERT_TRUE(review) << review.error().to_string();
  EXPECT_EQ(review->state, PaymentState::kAwaitingReview);
  EXPECT_EQ(review->amount, (Money{5'000'000, Currency::kIrr}));
  EXPECT_EQ(review->receipt_file_unique_id.value_or(""), "u1");
  EXPECT_EQ(service.ledger().balance(1)->minor, 0);  // every customer has an empty wallet
  EXPECT_EQ(service.ledger().balance(1)->currency, Currency::kIrr);
  old.reset();
}

INSTANTIATE_TEST_SUITE_P(Backends, MasterBillingTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::payments
