#include "core/timer_queue.hpp"

#include <gtest/gtest.h>

#include <future>
#include <vector>

namespace ms {
namespace {

using namespace std::chrono_literals;

TEST(TimerQueue, RunsInDueOrderNotSchedulingOrder) {
  TimerQueue timers;
  std::mutex mutex;
  std::vector<int> order;
  std::promise<void> done;
  auto record = [&](int n) {
    std::lock_guard lock(mutex);
    order.push_back(n);
    if (order.size() == 3) done.set_value();
  };
  timers.schedule(60ms, [&] { record(3); });
  timers.schedule(0ms, [&] { record(1); });
  timers.schedule(30ms, [&] { record(2); });
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(TimerQueue, WaitsAtLeastTheDelay) {
  TimerQueue timers;
  std::promise<std::chrono::steady_clock::time_point> fired;
  const auto start = std::chrono::steady_clock::now();
  timers.schedule(50ms, [&] { fired.set_value(std::chrono::steady_clock::now()); });
  auto at = fired.get_future();
  ASSERT_EQ(at.wait_for(5s), std::future_status::ready);
  EXPECT_GE(at.get() - start, 50ms);
}

TEST(TimerQueue, CancelledTimersNeverRunAndThrowingIsContained) {
  TimerQueue timers;
  std::atomic<bool> cancelled_ran{false};
  auto id = timers.schedule(30ms, [&] { cancelled_ran = true; });
  EXPECT_TRUE(timers.cancel(id));
  EXPECT_FALSE(timers.cancel(id));
  timers.schedule(0ms, [] { throw std::runtime_error("bug"); });
  std::promise<void> after;
  timers.schedule(60ms, [&] { after.set_value(); });
  ASSERT_EQ(after.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(cancelled_ran.load());
  EXPECT_EQ(timers.size(), 0u);
}

TEST(TimerQueue, DestructionDropsPendingTimers) {
  std::atomic<bool> ran{false};
  {
    TimerQueue timers;
    timers.schedule(10s, [&] { ran = true; });
    EXPECT_EQ(timers.size(), 1u);
  }
  EXPECT_FALSE(ran.load());
}

}  // namespace
}  // namespace ms
