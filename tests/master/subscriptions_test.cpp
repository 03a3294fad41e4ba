// SubscriptionStore::apply_paid_order on both backends: one customer's paid orders, applied
// at the same moment by two deliveries (the outbox pass and an approval's own kick), each
// add their period; none is lost and none counted twice.
#include <gtest/gtest.h>

#include <latch>
#include <thread>

#include "bots/master/subscriptions.hpp"
#include "storage/package_repository.hpp"
#include "storage/storage_test_support.hpp"

namespace ms::master {
namespace {

using storage::Session;
constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::int64_t kMonth = 30 * domain::kDaySeconds;

class SubscriptionStoreTest : public storage::testing::StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    db_ = &storage_->master();
    ASSERT_TRUE(storage::PackageRepository(*db_).seed_defaults(1));
  }
  std::int64_t insert(const std::string& sql, const storage::Params& params = {}) {
    auto id = db_->with_session([&](Session& s) -> Result<std::int64_t> {
      auto row = s.query_one(sql, params);
      if (!row) return fail(std::move(row.error()));
      return (*row)->get_int("id");
    });
    EXPECT_TRUE(id) << id.error().to_string();
    return id ? *id : 0;
  }
  std::int64_t paid_order(std::int64_t customer, const std::string& package = "starter") {
    return insert(
        "INSERT INTO package_orders (customer_id, package_id, billing_period, kind, status, amount_minor, currency, "
        "created_at, updated_at) VALUES (:c, (SELECT id FROM packages WHERE code = :p), 'monthly', 'renew', "
        "'paid', 100, 'USD', 1, 1) RETURNING id",
        {{"c", customer}, {"p", package}});
  }
  storage::Database* db_ = nullptr;
};

// Starter is $50 and Professional $100 a month (domain::default_packages).
TEST_P(SubscriptionStoreTest, AnotherPackageGetsThePaidTimeLeftAtItsPrice) {
  SubscriptionStore store(*db_);
  const auto customer = insert(
      "INSERT INTO customers (telegram_id, name, created_at, updated_at) VALUES (77, 'Sara', 1, 1) RETURNING id");
  ASSERT_TRUE(store.apply_paid_order(paid_order(customer), kNow));
  const std::int64_t later = kNow + 15 * domain::kDaySeconds;  // $25 of Starter left
  const auto pro = insert("SELECT id FROM packages WHERE code = 'professional'");

  auto preview = store.carry_over(customer, pro, domain::BillingCycle::kMonthly, later);
  ASSERT_TRUE(preview) << preview.error().to_string();
  EXPECT_EQ(preview->left_seconds, 15 * domain::kDaySeconds);
  EXPECT_EQ(preview->carried_seconds, 15 * domain::kDaySeconds / 2);  // $25 of $100 a month
  auto same = store.carry_over(customer, preview->from_package_id, domain::BillingCycle::kMonthly, later);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->carried_seconds, 0);  // the same package renews: its days stay as they are

  const auto upgrade = paid_order(customer, "professional");
  auto applied = store.apply_paid_order(upgrade, later);
  ASSERT_TRUE(applied && applied->applied);
  EXPECT_EQ(applied->subscription->package_code, "professional");
  EXPECT_EQ(applied->subscription->period_end, later + kMonth + 15 * domain::kDaySeconds / 2);
  // Delivered again: nothing changes.
  auto again = store.apply_paid_order(upgrade, later + 60);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->applied);
  EXPECT_EQ(store.current(customer)->value().period_end, later + kMonth + 15 * domain::kDaySeconds / 2);

  // Back to Starter a day later: the 36.5 days left of Professional are worth 73 of Starter.
  const std::int64_t next_day = later + domain::kDaySeconds;
  auto back = store.apply_paid_order(paid_order(customer, "starter"), next_day);
  ASSERT_TRUE(back && back->applied);
  EXPECT_EQ(back->subscription->period_end, next_day + kMonth + 73 * domain::kDaySeconds);
}

TEST_P(SubscriptionStoreTest, TwoPaidOrdersAppliedAtOnceAddTwoPeriods) {
  SubscriptionStore store(*db_);
  for (int round = 0; round < 40; ++round) {
    const auto customer = insert(
        "INSERT INTO customers (telegram_id, name, created_at, updated_at) VALUES (:t, 'Sara', 1, 1) RETURNING id",
        {{"t", std::int64_t{9000 + round}}});
    // Even rounds: a first subscription made by the two at once; odd: an existing one renewed.
    const bool renewing = round % 2 == 1;
    if (renewing) {
      const auto first = paid_order(customer);
      ASSERT_TRUE(store.apply_paid_order(first, kNow));
    }
    const auto a = paid_order(customer), b = paid_order(customer);
    Result<AppliedOrder> ra = fail(ErrorCode::kInternal, "not run"), rb = ra;
    std::latch go(2);
    std::thread ta([&] {
      go.arrive_and_wait();
      ra = store.apply_paid_order(a, kNow);
    });
    std::thread tb([&] {
      go.arrive_and_wait();
      rb = store.apply_paid_order(b, kNow);
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(ra) << ra.error().to_string();
    ASSERT_TRUE(rb) << rb.error().to_string();
    EXPECT_TRUE(ra->applied && rb->applied);
    auto sub = store.current(customer);
    ASSERT_TRUE(sub && *sub);
    const int periods = renewing ? 3 : 2;
    EXPECT_EQ((*sub)->period_end, kNow + periods * kMonth) << "round " << round;
    auto rows = db_->with_session([&](Session& s) {
      return s.query_one("SELECT count(*) AS n FROM subscriptions WHERE customer_id = :c", {{"c", customer}});
    });
    ASSERT_TRUE(rows && *rows);
    EXPECT_EQ((*rows)->get_int("n"), 1) << "round " << round;
    // Delivered again: nothing changes.
    auto again = store.apply_paid_order(a, kNow + 5);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->applied);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SubscriptionStoreTest,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::master
