// The subscription lifecycle with a ManualClock on both backends: from active through every
// reminder, grace, suspension, the erasure warnings and erasure (the tenant really gone),
// each notice once even when the feature is built again; renewals from grace and from
// suspension; downgrades refused and allowed; the subscriptions migration keeping the old rows.
//
// Deployments here is mostly a small recording one (recording_deployments.hpp): it keeps each
// instance's state and records every call. LifecyclePipelineTest runs the REAL DeployPipeline
// (jobs on the master database, the in-process backend, the sandbox emulator over HTTP): the
// package lapses while a bot is mid-deployment, and it ends suspended, never running, until a
// payment brings it up.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "core/crypto/keyring.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/timer_queue.hpp"
#include "core/worker_pool.hpp"
#include "deploy/inprocess/inprocess_deployer.hpp"
#include "deploy/pipeline.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "jobs/jobs.hpp"
#include "bots/master/lifecycle.hpp"
#include "bots/master/subscriptions.hpp"
#include "payments/registry.hpp"
#include "recording_deployments.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"
#include "bots/shop/host.hpp"
#include "storage/migrations/migrations.hpp"
#include "storage/package_repository.hpp"
#include "storage/storage_test_support.hpp"
#include "telegram/runtime.hpp"

namespace ms::master {
namespace {

using testing::RecordingDeployments;

using domain::BotState;
using storage::Backend;
using storage::Session;
constexpr std::int64_t kDay = domain::kDaySeconds;

class LifecycleTest : public storage::testing::StorageTest {
 protected:
  static constexpr std::int64_t kT0 = 1'800'000'000;
  static constexpr std::int64_t kTenant = 7;
  static constexpr std::int64_t kTelegram = 555;

  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    db_ = &storage_->master();
    deployments_ = std::make_unique<RecordingDeployments>(*db_);
    ASSERT_TRUE(storage::PackageRepository(*db_).seed_defaults(1));
    ASSERT_TRUE(storage_->create_tenant(kTenant));
    customer_ = insert(
        "INSERT INTO customers (tenant_id, telegram_id, name, created_at, updated_at) VALUES (7, 555, "
        "'Sara', 1, 1) RETURNING id");
    bot1_ = add_bot("h1");
    bot2_ = add_bot("h2");
    deployments_->add(bot1_, customer_);
    deployments_->add(bot2_, customer_);
    ctx_.db = db_;
    ctx_.clock = &clock_;
    ctx_.deployments = deployments_.get();
    ctx_.language_of = [](std::int64_t) { return std::string("en"); };
    ctx_.send = [this](std::int64_t chat, const std::string& text,
                       std::optional<telegram::InlineKeyboardMarkup>) -> Result<void> {
      std::lock_guard lock(sent_mutex_);
      if (fail_sends_ > 0) {
        --fail_sends_;
        return fail(ErrorCode::kUnavailable, "telegram down");
      }
      sent_.push_back({chat, text});
      return ok();
    };
    lifecycle_ = std::make_unique<SubscriptionLifecycle>(ctx_, *storage_);
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
  std::int64_t add_bot(const std::string& hash) {
    return insert(
        "INSERT INTO bot_instances (customer_id, token_enc, token_hash, admin_telegram_id, status, created_at, "
        "updated_at) VALUES (:c, 'enc', :h, 555, 'running', 1, 1) RETURNING id",
        {{"c", customer_}, {"h", hash}});
  }
  std::int64_t subscribe(const std::string& package, std::int64_t end, const std::string& state = "active") {
    return insert(
        "INSERT INTO subscriptions (customer_id, package_id, state, cycle, period_start, period_end, created_at, "
        "updated_at) VALUES (:c, (SELECT id FROM packages WHERE code = :p), :st, 'monthly', :start, :end, 1, 1) "
        "RETURNING id",
        {{"c", customer_}, {"p", package}, {"st", state}, {"start", end - 30 * kDay}, {"end", end}});
  }
  std::string scalar_text(const std::string& sql) {
    auto v = db_->with_session([&](Session& s) -> Result<std::string> {
      auto row = s.query_one(sql);
      if (!row) return fail(std::move(row.error()));
      return *row ? (*row)->get_string("v") : std::string("<none>");
    });
    EXPECT_TRUE(v) << v.error().to_string();
    return v ? *v : "";
  }
  std::int64_t scalar(const std::string& sql) { return std::stoll(scalar_text(sql)); }
  std::string state(std::int64_t sub) {
    return scalar_text("SELECT state AS v FROM subscriptions WHERE id = " + std::to_string(sub));
  }

  // Moves the clock to `at`, ticks, and returns what the customer was told by this tick.
  std::vector<std::string> tick_at(std::int64_t at, int expect_did = -1) {
    clock_.set_unix_seconds(at);
    const std::size_t before = sent_.size();
    auto did = lifecycle_->tick(at);
    EXPECT_TRUE(did) << did.error().to_string();
    if (did && expect_did >= 0) {
      EXPECT_EQ(*did, expect_did) << "at " << at - kT0;
    }
    std::vector<std::string> out;
    for (std::size_t i = before; i < sent_.size(); ++i) {
      EXPECT_EQ(sent_[i].first, kTelegram);
      out.push_back(sent_[i].second);
    }
    return out;
  }

  ManualClock clock_{kT0};
  storage::Database* db_ = nullptr;
  std::unique_ptr<RecordingDeployments> deployments_;
  MasterContext ctx_;
  std::unique_ptr<SubscriptionLifecycle> lifecycle_;
  std::mutex sent_mutex_;
  std::vector<std::pair<std::int64_t, std::string>> sent_;
  int fail_sends_ = 0;
  std::int64_t customer_ = 0, bot1_ = 0, bot2_ = 0;
};

bool has(const std::vector<std::string>& texts, const std::string& part) {
  return texts.size() == 1 && texts[0].find(part) != std::string::npos;
}

TEST_P(LifecycleTest, ActiveThroughEveryNoticeGraceSuspensionAndErasure) {
  const std::int64_t end = kT0 + 10 * kDay;
  const std::int64_t sub = subscribe("starter", end);
  const std::int64_t erase_at = end + 3 * kDay + 30 * kDay;

  EXPECT_TRUE(tick_at(kT0, 0).empty());
  EXPECT_TRUE(has(tick_at(end - 7 * kDay + 3600, 1), "Your Starter package ends in 7 days"));
  EXPECT_TRUE(tick_at(end - 7 * kDay + 7200, 0).empty());
  EXPECT_TRUE(has(tick_at(end - 3 * kDay, 1), "Only 3 days left on your Starter package"));
  // A restart: the feature is built again, and the notices already sent stay sent.
  lifecycle_ = std::make_unique<SubscriptionLifecycle>(ctx_, *storage_);
  EXPECT_TRUE(tick_at(end - 3 * kDay + 60, 0).empty());
  EXPECT_TRUE(has(tick_at(end - kDay + 3600, 1), "Your Starter package ends tomorrow"));
  EXPECT_EQ(state(sub), "active");

  EXPECT_TRUE(has(tick_at(end + 3600, 2), "Your bots keep running until"));
  EXPECT_EQ(state(sub), "grace");
  EXPECT_TRUE(deployments_->calls().empty());  // grace: the bots keep running

  EXPECT_TRUE(has(tick_at(end + 3 * kDay + 3600, 2), "Your bots are paused"));
  EXPECT_EQ(state(sub), "suspended");
  EXPECT_EQ(deployments_->calls(),
            (std::vector<std::string>{"suspend " + std::to_string(bot1_), "suspend " + std::to_string(bot2_)}));
  EXPECT_EQ(deployments_->state(bot1_), BotState::kSuspended);
  EXPECT_TRUE(tick_at(end + 4 * kDay, 0).empty());

  lifecycle_ = std::make_unique<SubscriptionLifecycle>(ctx_, *storage_);
  EXPECT_TRUE(has(tick_at(erase_at - 7 * kDay + 3600, 1), "will be erased for good in 7 days"));
  EXPECT_TRUE(tick_at(erase_at - 7 * kDay + 7200, 0).empty());
  EXPECT_TRUE(has(tick_at(erase_at - kDay + 3600, 1), "will be erased for good tomorrow"));
  ASSERT_TRUE(storage_->tenant(kTenant));

  EXPECT_TRUE(has(tick_at(erase_at, 2), "your bots and their data were erased"));
  EXPECT_EQ(state(sub), "erased");
  auto tenant = storage_->tenant(kTenant);
  ASSERT_FALSE(tenant);
  EXPECT_EQ(tenant.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*storage_->list_tenants(), std::vector<std::int64_t>{});
  EXPECT_EQ(scalar_text("SELECT COALESCE(tenant_id, 0) AS v FROM customers WHERE id = " + std::to_string(customer_)),
            "0");
  EXPECT_EQ(deployments_->calls().size(), 4u);
  EXPECT_EQ(deployments_->calls()[2], "remove " + std::to_string(bot1_));
  EXPECT_EQ(deployments_->calls()[3], "remove " + std::to_string(bot2_));
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM bot_instances WHERE status = 'deleted'"), 2);

  lifecycle_ = std::make_unique<SubscriptionLifecycle>(ctx_, *storage_);
  EXPECT_TRUE(tick_at(erase_at + 60 * kDay, 0).empty());
  EXPECT_EQ(sent_.size(), 8u);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM subscription_notices"), 8);
}

TEST_P(LifecycleTest, MissedTicksSendOnlyTheNearestReminderAndRetryAFailedSend) {
  const std::int64_t end = kT0 + 10 * kDay;
  subscribe("starter", end);
  // The first tick in a week comes two days before the end: only the 3-day reminder.
  fail_sends_ = 1;
  clock_.set_unix_seconds(end - 2 * kDay);
  EXPECT_FALSE(lifecycle_->tick(end - 2 * kDay).value_or(-1) > 0);  // Telegram was down
  EXPECT_TRUE(sent_.empty());
  auto again = tick_at(end - 2 * kDay + 600, 1);
  EXPECT_TRUE(has(again, "Only 2 days left"));
  EXPECT_TRUE(tick_at(end - 2 * kDay + 1200, 0).empty());  // the 7-day one is not sent late
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM subscription_notices"), 2);
}

TEST_P(LifecycleTest, OnlyTheNewestSubscriptionOfACustomerCounts) {
  // An old row long past its retention, and the customer's current, paid one.
  const std::int64_t old = subscribe("starter", kT0 - 100 * kDay, "suspended");
  const std::int64_t current = subscribe("starter", kT0 + 20 * kDay);
  EXPECT_TRUE(tick_at(kT0, 0).empty());
  EXPECT_EQ(state(old), "suspended");
  EXPECT_EQ(state(current), "active");
  EXPECT_TRUE(deployments_->calls().empty());
  EXPECT_TRUE(storage_->tenant(kTenant));
}

TEST_P(LifecycleTest, RenewingFromGraceKeepsTheBotsAndStartsANewPeriod) {
  const std::int64_t end = kT0 + kDay;
  const std::int64_t sub = subscribe("starter", end);
  tick_at(end + 3600);
  ASSERT_EQ(state(sub), "grace");
  clock_.set_unix_seconds(end + kDay);
  auto renewed = lifecycle_->renew(customer_, "starter", domain::BillingCycle::kMonthly);
  ASSERT_TRUE(renewed) << renewed.error().to_string();
  EXPECT_EQ(*renewed, sub);
  EXPECT_EQ(state(sub), "active");
  // Late renewals do not pay for the lapsed day: the new period starts now.
  EXPECT_EQ(scalar("SELECT period_end AS v FROM subscriptions WHERE id = " + std::to_string(sub)), end + 31 * kDay);
  EXPECT_TRUE(deployments_->calls().empty());
  EXPECT_TRUE(tick_at(end + 3 * kDay + 3600, 0).empty());  // no suspension any more
  // The new period has its own reminders.
  EXPECT_TRUE(has(tick_at(end + 31 * kDay - 7 * kDay + 60, 1), "ends in 7 days"));
}

TEST_P(LifecycleTest, RenewingFromSuspensionResumesEveryBot) {
  const std::int64_t end = kT0 + kDay;
  const std::int64_t sub = subscribe("starter", end);
  tick_at(end + 4 * kDay);
  ASSERT_EQ(state(sub), "suspended");
  ASSERT_EQ(deployments_->state(bot2_), BotState::kSuspended);
  // The master bot's fulfilment recorded the renewal itself and tells the lifecycle.
  auto recorded = db_->with_session([&](Session& s) {
    return s.exec("UPDATE subscriptions SET state = 'active', period_end = :e WHERE id = :id",
                  {{"e", end + 40 * kDay}, {"id", sub}});
  });
  ASSERT_TRUE(recorded);
  ASSERT_TRUE(lifecycle_->on_renewed(sub));
  EXPECT_EQ(deployments_->state(bot1_), BotState::kRunning);
  EXPECT_EQ(deployments_->state(bot2_), BotState::kRunning);
  const auto calls = deployments_->calls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[2], "resume " + std::to_string(bot1_));
  EXPECT_EQ(calls[3], "resume " + std::to_string(bot2_));
  ASSERT_TRUE(lifecycle_->on_renewed(sub));  // again (an outbox retry): nothing more to resume
  EXPECT_EQ(deployments_->calls().size(), 4u);

  // Suspended again, then renewed through renew(): resumed once more.
  tick_at(end + 45 * kDay);
  ASSERT_EQ(state(sub), "suspended");
  clock_.set_unix_seconds(end + 46 * kDay);
  ASSERT_TRUE(lifecycle_->renew(customer_, "starter", domain::BillingCycle::kYearly));
  EXPECT_EQ(state(sub), "active");
  EXPECT_EQ(scalar_text("SELECT cycle AS v FROM subscriptions WHERE id = " + std::to_string(sub)), "yearly");
  EXPECT_EQ(deployments_->state(bot1_), BotState::kRunning);
  EXPECT_EQ(deployments_->calls().size(), 8u);

  auto other = subscribe("starter", kT0, "suspended");
  auto refused = lifecycle_->on_renewed(other);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
}

TEST_P(LifecycleTest, BotsFollowTheSubscriptionWhenTheyWereLeftBehind) {
  // The state moved to suspended, then the process died before the bots were suspended.
  const std::int64_t sub = subscribe("starter", kT0 - 4 * kDay, "suspended");
  tick_at(kT0);
  EXPECT_EQ(deployments_->state(bot1_), BotState::kSuspended);
  EXPECT_EQ(deployments_->state(bot2_), BotState::kSuspended);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM bot_instances WHERE status = 'suspended'"), 2);
  tick_at(kT0 + 60);
  EXPECT_EQ(deployments_->calls().size(), 2u);  // nothing more to do
  // Paid again (the payment recorded the renewal), and the resume that should have followed
  // was lost: the next tick resumes them, once.
  auto renewed = db_->with_session([&](Session& s) {
    return s.exec("UPDATE subscriptions SET state = 'active', period_end = :e WHERE id = :id",
                  {{"e", kT0 + 30 * kDay}, {"id", sub}});
  });
  ASSERT_TRUE(renewed);
  tick_at(kT0 + 120);
  tick_at(kT0 + 180);
  EXPECT_EQ(deployments_->state(bot1_), BotState::kRunning);
  EXPECT_EQ(deployments_->state(bot2_), BotState::kRunning);
  const auto calls = deployments_->calls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[2], "resume " + std::to_string(bot1_));
}

TEST_P(LifecycleTest, AnErasureCutShortIsFinishedAndAPaymentMeanwhileKeepsItsBots) {
  // The move to erased happened (the customer unlinked, the tenant recorded), the process
  // died before the files were gone.
  const std::int64_t sub = subscribe("starter", kT0 - 40 * kDay, "erased");
  auto moved = db_->with_session([&](Session& s) -> Result<void> {
    auto a = s.exec("UPDATE subscriptions SET erased_tenant_id = 7 WHERE id = :id", {{"id", sub}});
    if (!a) return fail(std::move(a.error()));
    auto b = s.exec("UPDATE customers SET tenant_id = NULL WHERE id = :c", {{"c", customer_}});
    if (!b) return fail(std::move(b.error()));
    return ok();
  });
  ASSERT_TRUE(moved);
  // The customer paid since: a new subscription, whose bots must stay.
  subscribe("starter", kT0 + 30 * kDay);
  ASSERT_TRUE(storage_->tenant(kTenant));
  tick_at(kT0);
  auto tenant = storage_->tenant(kTenant);
  ASSERT_FALSE(tenant);
  EXPECT_EQ(tenant.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(deployments_->calls().empty());
  tick_at(kT0 + 60);  // done: nothing is tried again
  EXPECT_TRUE(deployments_->calls().empty());
}

TEST_P(LifecycleTest, DowngradeThatDoesNotFitIsRefusedNamingTheExcess) {
  const std::int64_t sub = subscribe("professional", kT0 + 20 * kDay);
  auto tenant = storage_->tenant(kTenant);
  ASSERT_TRUE(tenant);
  auto seeded = (*tenant)->transaction([](Session& s) -> Result<void> {
    for (const char* sql : {
             "INSERT INTO panels (name, base_url, username, password_enc, created_at, updated_at) VALUES ('p1', "
             "'https://a.example', 'admin', 'enc', 1, 1)",
             "INSERT INTO panels (name, base_url, username, password_enc, created_at, updated_at) VALUES ('p2', "
             "'https://b.example', 'admin', 'enc', 1, 1)",
             "INSERT INTO users (telegram_id, created_at, updated_at) VALUES (9001, 1, 1)",
             "INSERT INTO services (user_id, panel_id, panel_username, status, created_at, updated_at) VALUES (1, 1, "
             "'u1', 'active', 1, 1)",
         }) {
      if (auto r = s.exec(sql); !r) return fail(std::move(r.error()));
    }
    return ok();
  });
  ASSERT_TRUE(seeded) << seeded.error().to_string();

  auto refused = lifecycle_->change_package(customer_, "starter");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(refused.error().message,
            "You can't switch to the Starter package yet:\n"
            "The Starter package allows 1 shop bots and you have 2; remove 1.\n"
            "The Starter package allows 1 panels and you have 2; remove 1.");
  auto starter = storage::PackageRepository(*db_).get("starter");
  ASSERT_TRUE(starter && *starter);
  auto excess = lifecycle_->excess(customer_, **starter);
  ASSERT_TRUE(excess);
  EXPECT_EQ(describe_excess(**starter, *excess, i18n::Lang::kFa),
            "تغییر به بستهٔ استارتر ممکن نیست:\n"
            "بستهٔ استارتر حداکثر ۱ ربات فروش دارد و شما ۲ ربات دارید؛ ۱ ربات را حذف کنید.\n"
            "بستهٔ استارتر حداکثر ۱ پنل دارد و شما ۲ پنل دارید؛ ۱ پنل را حذف کنید.");
  EXPECT_EQ(scalar_text("SELECT p.code AS v FROM subscriptions s JOIN packages p ON p.id = s.package_id WHERE s.id = " +
                        std::to_string(sub)),
            "professional");
  // A renewal into the smaller package is refused the same way.
  auto renew = lifecycle_->renew(customer_, "starter", domain::BillingCycle::kMonthly);
  ASSERT_FALSE(renew);
  EXPECT_EQ(renew.error().code, ErrorCode::kLimitExceeded);

  // Upgrading always fits.
  ASSERT_TRUE(lifecycle_->change_package(customer_, "enterprise"));
  EXPECT_EQ(scalar_text("SELECT p.code AS v FROM subscriptions s JOIN packages p ON p.id = s.package_id WHERE s.id = " +
                        std::to_string(sub)),
            "enterprise");

  // With one bot removed and one panel gone, Starter fits.
  ASSERT_TRUE(deployments_->remove(bot2_));
  ASSERT_TRUE((*tenant)->with_session([](Session& s) { return s.exec("DELETE FROM panels WHERE name = 'p2'"); }));
  auto allowed = lifecycle_->change_package(customer_, "starter");
  ASSERT_TRUE(allowed) << allowed.error().to_string();
  EXPECT_EQ(scalar_text("SELECT p.code AS v FROM subscriptions s JOIN packages p ON p.id = s.package_id WHERE s.id = " +
                        std::to_string(sub)),
            "starter");
}

TEST_P(LifecycleTest, TheSubscriptionMigrationKeepsTheOldRowsAndWhatReferencesThem) {
  auto place = storage::testing::Place::make(GetParam());
  ASSERT_TRUE(place) << place.error().to_string();
  auto opened = storage::Storage::open((*place)->options());
  ASSERT_TRUE(opened) << opened.error().to_string();
  std::unique_ptr<storage::Storage> old = std::move(*opened);
  const auto& all = storage::migrations::master();
  // Found by name, so renumbering it after other branches' migrations needs no change here.
  const auto mine =
      std::find_if(all.begin(), all.end(), [](const auto& m) { return m.name == "subscription_lifecycle"; });
  ASSERT_NE(mine, all.end());
  ASSERT_GE(mine - all.begin(), 3);  // after billing (v3), whose tables the rows below need
  const std::vector<storage::migrations::Migration> before(all.begin(), mine);
  ASSERT_TRUE(storage::migrations::apply(old->master(), before, clock_));
  auto filled = old->master().transaction([](Session& s) -> Result<void> {
    for (const char* sql : {
             "INSERT INTO customers (telegram_id, name, created_at, updated_at) VALUES (111, 'Sara', 5, 5)",
             "INSERT INTO packages (code, name_fa, name_en, monthly_price_minor, yearly_price_minor, currency, "
             "created_at, updated_at) VALUES ('starter', 'استارتر', 'Starter', 5000, 50000, 'USD', 5, 5)",
             "INSERT INTO subscriptions (customer_id, package_id, status, created_at, updated_at) "
             "VALUES (1, 1, 'pending', 100, 100)",
             "INSERT INTO subscriptions (customer_id, package_id, status, billing_period, starts_at, created_at, "
             "updated_at) VALUES (1, 1, 'active', 'yearly', 200, 150, 150)",
             "INSERT INTO subscriptions (customer_id, package_id, status, starts_at, expires_at, created_at, "
             "updated_at) VALUES (1, 1, 'expired', 300, 400, 300, 300)",
             "INSERT INTO subscriptions (customer_id, package_id, status, starts_at, expires_at, created_at, "
             "updated_at) VALUES (1, 1, 'cancelled', 500, 600, 500, 550)",
             "INSERT INTO package_orders (customer_id, package_id, subscription_id, amount_minor, currency, "
             "created_at, updated_at) VALUES (1, 1, 2, 50000, 'USD', 150, 150)",
             "INSERT INTO payments (customer_id, subscription_id, provider, amount_minor, currency, status, "
             "created_at, updated_at) VALUES (1, 3, 'stripe', 5000, 'USD', 'paid', 300, 300)",
         }) {
      if (auto r = s.exec(sql); !r) return fail(std::move(r.error()));
    }
    return ok();
  });
  ASSERT_TRUE(filled) << filled.error().to_string();
  auto migrated = storage::migrations::apply(old->master(), all, clock_);
  ASSERT_TRUE(migrated) << migrated.error().to_string();
  EXPECT_EQ(migrated->version, all.back().version);
  auto rows = old->master().with_session([](Session& s) {
    return s.query(
        "SELECT id, state, cycle, period_start, period_end, COALESCE(cancelled_at, 0) AS cancelled FROM "
        "subscriptions ORDER BY id");
  });
  ASSERT_TRUE(rows) << rows.error().to_string();
  std::vector<std::string> got;
  for (const auto& r : *rows) {
    got.push_back(std::to_string(r.get_int("id")) + " " + r.get_string("state") + " " + r.get_string("cycle") + " " +
                  std::to_string(r.get_int("period_start")) + ".." + std::to_string(r.get_int("period_end")) + " " +
                  std::to_string(r.get_int("cancelled")));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"1 trial monthly 100..100 0", "2 active yearly 200..31536200 0",
                                           "3 suspended monthly 300..400 0", "4 cancelled monthly 500..600 550"}));
  auto refs = old->master().transaction([](Session& s) -> Result<std::string> {
    auto o = s.query_one("SELECT subscription_id FROM package_orders");
    if (!o) return fail(std::move(o.error()));
    auto p = s.query_one("SELECT subscription_id FROM payments");
    if (!p) return fail(std::move(p.error()));
    return std::to_string((*o)->get_int("subscription_id")) + "," + std::to_string((*p)->get_int("subscription_id"));
  });
  ASSERT_TRUE(refs) << refs.error().to_string();
  EXPECT_EQ(*refs, "2,3");
  // The references still hold, and new rows take ids after the kept ones.
  auto dangling = old->master().with_session([](Session& s) {
    return s.exec(
        "INSERT INTO package_orders (customer_id, package_id, subscription_id, amount_minor, currency, created_at, "
        "updated_at) VALUES (1, 1, 99, 5000, 'USD', 1, 1)");
  });
  ASSERT_FALSE(dangling);
  EXPECT_EQ(dangling.error().code, ErrorCode::kInvalidArgument);
  auto fresh = old->master().with_session([](Session& s) {
    return s.query_one(
        "INSERT INTO subscriptions (customer_id, package_id, state, period_start, period_end, created_at, updated_at) "
        "VALUES (1, 1, 'active', 1, 2, 1, 1) RETURNING id");
  });
  ASSERT_TRUE(fresh) << fresh.error().to_string();
  EXPECT_EQ((*fresh)->get_int("id"), 5);
  auto bad_state = old->master().with_session(
      [](Session& s) { return s.exec("UPDATE subscriptions SET state = 'pending' WHERE id = 1"); });
  EXPECT_FALSE(bad_state);
  old.reset();
}

INSTANTIATE_TEST_SUITE_P(Backends, LifecycleTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

// A backend whose first start() is slow: it waits until the test lets it go.
class SlowStartDeployer final : public deploy::Deployer {
 public:
  explicit SlowStartDeployer(deploy::Deployer& inner) : inner_(inner) {}
  deploy::Backend backend() const override { return inner_.backend(); }
  Result<void> start(const deploy::InstanceSpec& spec) override {
    if (!slow_.exchange(false)) return inner_.start(spec);
    entered_.count_down();
    release_.wait();
    return inner_.start(spec);
  }
  Result<void> stop(std::int64_t id) override { return inner_.stop(id); }
  Result<deploy::InstanceHealth> health(std::int64_t id) override { return inner_.health(id); }
  std::vector<std::int64_t> running() const override { return inner_.running(); }

  std::atomic<bool> slow_{true};
  std::latch entered_{1};
  std::latch release_{1};

 private:
  deploy::Deployer& inner_;
};

class LifecyclePipelineTest : public LifecycleTest {
 protected:
  void SetUp() override {
    LifecycleTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Only the pipeline's own instances here.
    ASSERT_TRUE(db_->with_session([](Session& s) { return s.exec("DELETE FROM bot_instances"); }));
    sandbox::EmulatorOptions eo;
    eo.max_long_poll = std::chrono::seconds(5);
    emulator_ = std::make_unique<sandbox::Emulator>(eo);
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    sandbox_ = std::make_unique<http::Server>(so);
    sandbox::add_sandbox_routes(sandbox_->router(), *emulator_);
    ASSERT_TRUE(sandbox_->start());
    const std::string api = "http://127.0.0.1:" + std::to_string(sandbox_->bound_port()) + "/sandbox";
    auto bot = emulator_->create_bot("sara_vpn_bot", "Sara VPN");
    ASSERT_TRUE(bot);
    token_ = bot->token;
    auto dan = emulator_->create_user({0, "Dan", "", "", "en"});
    ASSERT_TRUE(dan);
    dan_ = (*dan)["id"].get<std::int64_t>();

    payments_ = std::make_unique<payments::PaymentRegistry>(
        *storage_, http_, SystemClock::instance(), payments::GatewayUrls{},
        [this](const std::string& envelope) { return crypto::decrypt(keyring_, envelope); });
    telegram::RuntimeOptions ro;
    ro.poller.timeout_seconds = 2;
    ro.poller.min_backoff = std::chrono::milliseconds(50);
    ro.poller.max_backoff = std::chrono::milliseconds(200);
    ro.limits.enabled = false;
    runtime_ = std::make_unique<telegram::BotRuntime>(http_, timers_, api, ro);
    host_ = std::make_unique<shop::ShopHost>(*storage_, *payments_, box_, http_, *runtime_, SystemClock::instance());
    inprocess_ = std::make_unique<deploy::InProcessDeployer>(*host_, *runtime_, SystemClock::instance());
    slow_ = std::make_unique<SlowStartDeployer>(*inprocess_);
    jobs::RunnerOptions jo;
    jo.lease = std::chrono::seconds(2);
    jo.backoff_base = std::chrono::milliseconds(100);
    jo.poll_every = std::chrono::milliseconds(20);
    runner_ = std::make_unique<jobs::JobRunner>(*db_, SystemClock::instance(), jo);
    deploy::PipelineOptions po;
    po.telegram_api_url = api;
    po.health_wait = std::chrono::seconds(10);
    // As serve: the package decides, on the lifecycle's clock.
    po.may_serve = may_serve_gate(*db_, clock_);
    pipeline_ =
        std::make_unique<deploy::DeployPipeline>(*storage_, keyring_, http_, *runner_, SystemClock::instance(), po);
    pipeline_->add_backend(*slow_);
    runner_->start(pool_, timers_);
    ctx_.deployments = pipeline_.get();
    lifecycle_ = std::make_unique<SubscriptionLifecycle>(ctx_, *storage_);
  }

  void TearDown() override {
    lifecycle_.reset();
    if (slow_) slow_->release_.count_down();
    if (runner_) runner_->stop();
    pipeline_.reset();
    runner_.reset();
    slow_.reset();
    inprocess_.reset();
    host_.reset();
    runtime_.reset();
    payments_.reset();
    if (sandbox_) sandbox_->stop(std::chrono::milliseconds(200));
    LifecycleTest::TearDown();
  }

  std::string bot_state(std::int64_t id) {
    return scalar_text("SELECT status AS v FROM bot_instances WHERE id = " + std::to_string(id));
  }
  std::vector<std::string> answers(std::int64_t who) {
    std::vector<std::string> out;
    auto c = emulator_->read_chat(who, "sara_vpn_bot");
    if (!c) return out;
    for (const auto& m : c->value("messages", nlohmann::json::array()))
      if (m.value("from_bot", false) && m["message"].contains("text")) out.push_back(m["message"]["text"]);
    return out;
  }
  template <typename F>
  static bool eventually(F f, std::chrono::milliseconds within = std::chrono::seconds(30)) {
    const auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
      if (f()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return f();
  }

  crypto::Keyring keyring_{crypto::generate_key()};
  crypto::SecretBox box_{keyring_};
  http::CurlClient http_;
  TimerQueue timers_;
  WorkerPool pool_{4, 1000};
  std::unique_ptr<sandbox::Emulator> emulator_;
  std::unique_ptr<http::Server> sandbox_;
  std::string token_;
  std::int64_t dan_ = 0;
  std::unique_ptr<payments::PaymentRegistry> payments_;
  std::unique_ptr<telegram::BotRuntime> runtime_;
  std::unique_ptr<shop::ShopHost> host_;
  std::unique_ptr<deploy::InProcessDeployer> inprocess_;
  std::unique_ptr<SlowStartDeployer> slow_;
  std::unique_ptr<jobs::JobRunner> runner_;
  std::unique_ptr<deploy::DeployPipeline> pipeline_;
};

TEST_P(LifecyclePipelineTest, APackageThatLapsesMidDeploymentLeavesTheBotSuspendedUntilAPaymentBringsItUp) {
  const std::int64_t end = kT0 + 10 * kDay;
  const std::int64_t sub = subscribe("starter", end);
  deploy::NewInstance n;
  n.customer_id = customer_;
  n.token = token_;
  n.owner_telegram_id = kTelegram;
  auto id = pipeline_->create(n);
  ASSERT_TRUE(id) << id.error().to_string();
  // Every state the bot's row passes through from here on.
  std::atomic<bool> watching{true};
  std::set<std::string> seen;
  std::mutex seen_mu;
  std::thread watch([&] {
    while (watching.load()) {
      auto s = bot_state(*id);
      {
        std::lock_guard lock(seen_mu);
        seen.insert(s);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  });
  slow_->entered_.wait();  // the deployment is inside its slow `started` step
  EXPECT_EQ(bot_state(*id), "starting");

  // The grace runs out meanwhile: the tick suspends the subscription and the bot; the
  // suspension waits for the running step, then supersedes the rest of the deployment.
  const std::int64_t lapsed = end + 3 * kDay + 3600;
  clock_.set_unix_seconds(lapsed);
  auto ticking = std::async(std::launch::async, [&] { return lifecycle_->tick(lapsed); });
  EXPECT_EQ(ticking.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  slow_->release_.count_down();
  auto did = ticking.get();
  ASSERT_TRUE(did) << did.error().to_string();
  EXPECT_EQ(state(sub), "suspended");
  EXPECT_EQ(bot_state(*id), "suspended");
  ASSERT_TRUE(eventually([&] {
    auto job = runner_->find("deploy:" + std::to_string(*id) + ":1");
    return job && *job && (*job)->status == jobs::JobStatus::kDead;
  }));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(bot_state(*id), "suspended");
  EXPECT_FALSE(runtime_->status(*id));
  ASSERT_TRUE(emulator_->send_command(dan_, "sara_vpn_bot", "start"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(answers(dan_).empty()) << "the shop answered while its package had lapsed";
  // The next tick changes nothing.
  auto again = lifecycle_->tick(lapsed + 60);
  ASSERT_TRUE(again);
  EXPECT_EQ(bot_state(*id), "suspended");
  watching = false;
  watch.join();
  EXPECT_EQ(seen.count("running"), 0u) << "the bot was running while its package had lapsed";

  // The customer pays: the renewal resumes the bot, set up and started by a new deployment.
  auto renewed = lifecycle_->renew(customer_, "starter", domain::BillingCycle::kMonthly);
  ASSERT_TRUE(renewed) << renewed.error().to_string();
  EXPECT_EQ(state(sub), "active");
  ASSERT_TRUE(eventually([&] { return bot_state(*id) == "running"; })) << bot_state(*id);
  EXPECT_TRUE(runtime_->status(*id));
  const auto before = answers(dan_).size();
  ASSERT_TRUE(emulator_->send_command(dan_, "sara_vpn_bot", "start"));
  ASSERT_TRUE(eventually([&] { return answers(dan_).size() > before; }));
  EXPECT_EQ(answers(dan_).back().find("paused"), std::string::npos) << answers(dan_).back();
}

INSTANTIATE_TEST_SUITE_P(Backends, LifecyclePipelineTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::master
