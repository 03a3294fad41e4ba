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

TEST(WorkerPool, AddedThreadsTakeWorkWhileOthersAreStuck) {
  WorkerPool pool(1, 8);
  std::promise<void> release;
  auto gate = release.get_future().share();
  ASSERT_TRUE(pool.post([gate] { gate.wait(); }).has_value());  // the only thread is stuck
  std::promise<void> done;
  ASSERT_TRUE(pool.post([&] { done.set_value(); }).has_value());
  auto ran = done.get_future();
  EXPECT_EQ(ran.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  pool.add_threads(1);
  EXPECT_EQ(pool.thread_count(), 2u);
  EXPECT_EQ(ran.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  release.set_value();
  pool.shutdown();
  pool.add_threads(1);  // ignored once stopping
  EXPECT_EQ(pool.thread_count(), 0u);
}

}  // namespace
}  // namespace ms
