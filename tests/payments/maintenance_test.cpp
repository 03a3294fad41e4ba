// PaymentMaintenance over a real PaymentService (SQLite and PostgreSQL), a real TimerQueue
// and WorkerPool: recovery once at start, expiry and the outbox on every pass, never two
// passes at once, and stop() waiting for the pass that runs.
#include <condition_variable>

#include "core/timer_queue.hpp"
#include "payments/maintenance.hpp"
#include "payments_fixture.hpp"

namespace ms::payments {
namespace {

// Waits (real time) until `done` holds; false after `limit`.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A hook that counts how many deliveries run at the same moment, and can be held.
class WatchingHook final : public FulfilmentHook {
 public:
  explicit WatchingHook(storage::Database& db) : inner(db) {}
  Result<void> handle(const OutboxItem& item) override {
    const int now = ++running;
    int seen = max_running.load();
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
    }
    {
      std::unique_lock lock(mu);
      entered = true;
      entered_cv.notify_all();
      release_cv.wait(lock, [this] { return !hold; });
    }
    if (slow.count() > 0) std::this_thread::sleep_for(slow);
    auto r = inner.handle(item);
    --running;
    ++handled;
    return r;
  }
  void release() {
    std::lock_guard lock(mu);
    hold = false;
    release_cv.notify_all();
  }
  OrderFulfiller inner;
  std::atomic<int> running{0}, max_running{0}, handled{0};
  std::chrono::milliseconds slow{0};
  std::mutex mu;
  std::condition_variable entered_cv, release_cv;
  bool hold = false;
  bool entered = false;
};

class MaintenanceTest : public PaymentsTest {
 protected:
  // An order paid by card and approved: one fulfil_order item waits in the outbox.
  std::int64_t approved_order(std::int64_t tg) {
    const auto user = add_user(tg);
    const auto order = add_order(user, {1'000'000, Currency::kIrr});
    auto c = service_->pay_order(order, PaymentMethod::kCardToCard);
    EXPECT_TRUE(c) << c.error().to_string();
    EXPECT_TRUE(service_->submit_receipt(c->payment.id, "photo-" + std::to_string(tg), "u-" + std::to_string(tg)));
    EXPECT_TRUE(service_->approve(c->payment.id, 1));
    return order;
  }
  TimerQueue timers_;
  WorkerPool workers_{3, 100};
};

TEST_P(MaintenanceTest, RecoversOnceThenExpiresAndFulfilsOnEveryPass) {
  // Left by a "crash": a NOWPayments invoice paid while we were down (its IPN lost) and an
  // approved order not yet fulfilled.
  const auto user = add_user(600);
  const auto np_order = add_order(user, {1'050, Currency::kUsd});
  auto np = service_->pay_order(np_order, PaymentMethod::kNowPayments);
  ASSERT_TRUE(np) << np.error().to_string();
  ASSERT_TRUE(gw_->nowpayments_pay(*np->payment.provider_ref, "finished"));
  const auto approved = approved_order(601);

  WatchingHook hook(*db_);
  PaymentMaintenance m(*service_, hook, timers_, workers_, {50ms, 100});
  m.start();
  ASSERT_TRUE(eventually([&] { return m.stats().passes >= 1; }));
  EXPECT_EQ(m.stats().recoveries, 1);
  EXPECT_EQ(m.stats().recovery.settled, 1);
  EXPECT_EQ(order_status(np_order), "completed");  // paid by recovery, fulfilled in the same pass
  EXPECT_EQ(order_status(approved), "completed");

  // Later: a card payment nobody pays expires on a pass, and a new approval is fulfilled.
  const auto o = add_order(user, {700'000, Currency::kIrr});
  auto unpaid = service_->pay_order(o, PaymentMethod::kCardToCard);
  ASSERT_TRUE(unpaid);
  const auto later = approved_order(602);
  clock_.advance(std::chrono::hours(2));
  ASSERT_TRUE(eventually([&] { return order_status(o) == "cancelled/expired"; }));
  ASSERT_TRUE(eventually([&] { return order_status(later) == "completed"; }));
  EXPECT_EQ(payment(unpaid->payment.id).state, PaymentState::kExpired);
  const auto passes = m.stats().passes;
  ASSERT_TRUE(eventually([&] { return m.stats().passes >= passes + 2; }));
  EXPECT_EQ(m.stats().recoveries, 1);  // once, however many passes
  EXPECT_EQ(m.stats().failures, 0) << m.stats().last_error;
  EXPECT_EQ(hook.inner.fulfilled, 3);
  EXPECT_EQ(m.stats().expired, 1);
  m.stop();
}

TEST_P(MaintenanceTest, NeverTwoPassesAtOnce) {
  for (int i = 0; i < 4; ++i) approved_order(610 + i);
  WatchingHook hook(*db_);
  hook.slow = 40ms;
  PaymentMaintenance m(*service_, hook, timers_, workers_, {1ms, 1});  // one item per pass
  m.start();
  std::atomic<bool> poking{true};
  std::thread poker([&] {
    while (poking) {
      m.poke();
      std::this_thread::sleep_for(1ms);
    }
  });
  EXPECT_TRUE(eventually([&] { return hook.handled >= 4; }));
  poking = false;
  poker.join();
  m.stop();
  EXPECT_EQ(hook.max_running, 1);
  EXPECT_EQ(hook.inner.fulfilled, 4);
  EXPECT_GE(m.stats().passes, 4);
}

TEST_P(MaintenanceTest, StopWaitsForTheRunningPassAndNothingRunsAfter) {
  approved_order(620);
  WatchingHook hook(*db_);
  hook.hold = true;
  PaymentMaintenance m(*service_, hook, timers_, workers_, {20ms, 100});
  m.start();
  {
    std::unique_lock lock(hook.mu);
    ASSERT_TRUE(hook.entered_cv.wait_for(lock, 10s, [&] { return hook.entered; }));
  }
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    m.stop();
    stopped = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(stopped) << "stop() returned while a pass was running";
  hook.release();
  stopper.join();
  EXPECT_TRUE(stopped);
  EXPECT_EQ(m.stats().passes, 1);
  EXPECT_EQ(hook.inner.fulfilled, 1);
  approved_order(621);
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(m.stats().passes, 1);
  EXPECT_EQ(hook.handled, 1);
  m.start();  // a stopped maintenance stays stopped
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(m.stats().passes, 1);
}

TEST_P(MaintenanceTest, AFailingHookIsRetriedOnTheNextPass) {
  const auto order = approved_order(630);
  WatchingHook hook(*db_);
  hook.inner.fail_next = 1;  // fulfils, then "crashes" before saying done
  PaymentMaintenance m(*service_, hook, timers_, workers_, {20ms, 100});
  m.start();
  ASSERT_TRUE(eventually([&] { return service_->pending_outbox()->empty(); }));
  m.stop();
  EXPECT_GE(hook.handled, 2);
  EXPECT_EQ(hook.inner.fulfilled, 1);  // the hook's effect happened once
  EXPECT_EQ(order_status(order), "completed");
}

INSTANTIATE_TEST_SUITE_P(Backends, MaintenanceTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::payments
