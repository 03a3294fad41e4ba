#include "core/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace ms {
namespace {

TEST(WorkerPool, RefusesWhenFullAndDrainsOnShutdown) {
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::atomic<int> ran{0};
  WorkerPool pool(1, 2);
  ASSERT_TRUE(pool.post([&, gate] {
    gate.wait();
    ++ran;
  }));  // occupies the only thread
  // The first task may not have been taken off the queue yet: fill up to the bound.
  int accepted = 0;
  while (pool.post([&] { ++ran; })) ++accepted;
  EXPECT_GE(accepted, 1);
  EXPECT_LE(accepted, 2);
  auto refused = pool.post([] {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  release.set_value();
  pool.shutdown();
  EXPECT_EQ(ran.load(), 1 + accepted);
  EXPECT_FALSE(pool.post([] {}));
}

TEST(WorkerPool, TaskThatThrowsDoesNotStopTheWorker) {
  WorkerPool pool(1, 8);
  std::promise<void> done;
  ASSERT_TRUE(pool.post([] { throw std::runtime_error("boom"); }).has_value());
  ASSERT_TRUE(pool.post([&] { done.set_value(); }).has_value());
  EXPECT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

}  // namespace
}  // namespace ms
