#include "telegram/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "telegram/outgoing_queue.hpp"

namespace ms::telegram {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = RateLimiter::TimePoint;
using Queue = OutgoingQueue<int>;

constexpr std::int64_t kBot = 777000111;

// Largest number of grants inside any window (t - span, t].
int max_in_window(const std::vector<TimePoint>& times, std::chrono::microseconds span) {
  int best = 0;
  std::size_t lo = 0;
  for (std::size_t hi = 0; hi < times.size(); ++hi) {
    while (times[lo] + span <= times[hi]) ++lo;
    best = std::max(best, static_cast<int>(hi - lo + 1));
  }
  return best;
}

// Drains the queue with a manual clock, jumping to retry_at when nothing may go, until
// `until` or the queue is empty. Returns the grant times.
std::vector<TimePoint> drain(Queue& q, ManualClock& clock, TimePoint until, std::vector<int>* order = nullptr) {
  std::vector<TimePoint> times;
  while (clock.steady_now() < until && q.size() > 0) {
    auto next = q.next();
    if (next.item) {
      times.push_back(clock.steady_now());
      if (order) order->push_back(next.item->payload);
      continue;
    }
    EXPECT_TRUE(next.retry_at.has_value());
    EXPECT_GT(*next.retry_at, clock.steady_now());
    clock.advance(std::chrono::duration_cast<std::chrono::microseconds>(*next.retry_at - clock.steady_now()));
  }
  return times;
}

TEST(RateLimiter, ThirtyPerSecondPerBotReachedButNeverExceededOverAMinute) {
  ManualClock clock;
  RateLimiter limiter(clock);
  Queue q(limiter);
  for (int i = 0; i < 2500; ++i) ASSERT_TRUE(q.push({kBot, 1000 + i, ChatKind::kPrivate, Priority::kInteractive, i}));
  const TimePoint start = clock.steady_now();
  const auto times = drain(q, clock, start + seconds(60));
  EXPECT_LE(max_in_window(times, seconds(1)), 30);
  EXPECT_EQ(times.size(), 30u * 60u);
}

TEST(RateLimiter, PrivateChatAllowsShortBurstThenOnePerSecond) {
  ManualClock clock;
  RateLimiter limiter(clock);
  const TimePoint t0 = clock.steady_now();
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kInteractive).granted);
  RateDecision d = limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kInteractive);
  EXPECT_FALSE(d.granted);
  EXPECT_EQ(d.blocked_by, RateDecision::Blocker::kChat);
  EXPECT_EQ(d.wait_until, t0 + seconds(1));
  // Another chat is not affected.
  EXPECT_TRUE(limiter.try_acquire(kBot, 2, ChatKind::kPrivate, Priority::kInteractive).granted);

  clock.advance(milliseconds(999));
  EXPECT_FALSE(limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kInteractive).granted);
  clock.advance(milliseconds(1));
  EXPECT_TRUE(limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kInteractive).granted);
  EXPECT_FALSE(limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kInteractive).granted);

  // Sustained over a minute: one per second after the burst.
  Queue q(limiter);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(q.push({kBot, 3, ChatKind::kPrivate, Priority::kInteractive, i}));
  const TimePoint start = clock.steady_now();
  const auto times = drain(q, clock, start + seconds(60));
  EXPECT_EQ(times.size(), 3u + 59u);
  for (std::size_t i = 3; i < times.size(); ++i) EXPECT_GE(times[i] - times[i - 1], seconds(1));
}

TEST(RateLimiter, GroupsAndChannelsTwentyPerMinute) {
  ManualClock clock;
  RateLimiter limiter(clock);
  Queue q(limiter);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(q.push({kBot, -1001, ChatKind::kGroup, Priority::kInteractive, i}));
  const TimePoint start = clock.steady_now();
  const auto times = drain(q, clock, start + seconds(300));
  EXPECT_EQ(times.size(), 100u);
  EXPECT_EQ(max_in_window(times, seconds(60)), 20);

  RateLimiter fresh(clock);
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(fresh.try_acquire(kBot, -1002, ChatKind::kChannel, Priority::kInteractive).granted);
  RateDecision d = fresh.try_acquire(kBot, -1002, ChatKind::kChannel, Priority::kInteractive);
  EXPECT_FALSE(d.granted);
  EXPECT_EQ(d.wait_until, clock.steady_now() + seconds(60));
}

TEST(RateLimiter, BulkLeavesRoomForReplies) {
  ManualClock clock;
  RateLimiter limiter(clock);
  const TimePoint t0 = clock.steady_now();
  for (int i = 0; i < 28; ++i) {
    EXPECT_TRUE(limiter.try_acquire(kBot, 100 + i, ChatKind::kPrivate, Priority::kBulk).granted) << i;
    // Bulk is spaced evenly: the next one is refused until 1/28 s later.
    EXPECT_FALSE(limiter.try_acquire(kBot, 400 + i, ChatKind::kPrivate, Priority::kBulk).granted) << i;
    if (i < 27) clock.advance(std::chrono::microseconds(1'000'000 / 28));
  }
  RateDecision bulk = limiter.try_acquire(kBot, 500, ChatKind::kPrivate, Priority::kBulk);
  EXPECT_FALSE(bulk.granted);
  EXPECT_EQ(bulk.blocked_by, RateDecision::Blocker::kBot);
  EXPECT_TRUE(limiter.try_acquire(kBot, 501, ChatKind::kPrivate, Priority::kInteractive).granted);
  EXPECT_TRUE(limiter.try_acquire(kBot, 502, ChatKind::kPrivate, Priority::kInteractive).granted);
  RateDecision full = limiter.try_acquire(kBot, 503, ChatKind::kPrivate, Priority::kInteractive);
  EXPECT_FALSE(full.granted);
  EXPECT_EQ(full.wait_until, t0 + seconds(1));
  // Another bot has its own budget.
  EXPECT_TRUE(limiter.try_acquire(kBot + 1, 503, ChatKind::kPrivate, Priority::kBulk).granted);
}

TEST(RateLimiter, RetryAfterPausesBotOrChat) {
  ManualClock clock;
  RateLimiter limiter(clock);
  const TimePoint t0 = clock.steady_now();
  limiter.on_retry_after(kBot, std::nullopt, 5);
  RateDecision d = limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kInteractive);
  EXPECT_FALSE(d.granted);
  EXPECT_EQ(d.blocked_by, RateDecision::Blocker::kBot);
  EXPECT_EQ(d.wait_until, t0 + seconds(5));
  limiter.on_retry_after(kBot, std::nullopt, 1);  // a shorter pause does not shorten it
  clock.advance(seconds(4));
  EXPECT_FALSE(limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kInteractive).granted);
  clock.advance(seconds(1));
  EXPECT_TRUE(limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kInteractive).granted);

  limiter.on_retry_after(kBot, 2, 30);
  d = limiter.try_acquire(kBot, 2, ChatKind::kPrivate, Priority::kInteractive);
  EXPECT_FALSE(d.granted);
  EXPECT_EQ(d.blocked_by, RateDecision::Blocker::kChat);
  EXPECT_EQ(d.wait_until, clock.steady_now() + seconds(30));
  EXPECT_TRUE(limiter.try_acquire(kBot, 3, ChatKind::kPrivate, Priority::kInteractive).granted);

  // Through the queue: nothing leaves before the pause ends.
  Queue q(limiter);
  ASSERT_TRUE(q.push({kBot, 2, ChatKind::kPrivate, Priority::kInteractive, 7}));
  auto next = q.next();
  EXPECT_FALSE(next.item);
  EXPECT_EQ(next.retry_at, clock.steady_now() + seconds(30));
  clock.advance(seconds(30));
  next = q.next();
  ASSERT_TRUE(next.item);
  EXPECT_EQ(next.item->payload, 7);
}

// What the sandbox emulator answers with: retry_after is the whole seconds until the
// request would be granted, rounded up, for each of the three limits.
TEST(RateLimiter, RetryAfterSecondsPerChatPerGroupAndPerBot) {
  ManualClock clock;
  RateLimiter limiter(clock);
  auto acquire = [&](std::int64_t bot, std::int64_t chat, ChatKind kind) {
    return limiter.try_acquire(bot, chat, kind, Priority::kInteractive).retry_after_seconds(clock.steady_now());
  };
  // Private chat: a burst of 3, then one per second.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(acquire(1, 10, ChatKind::kPrivate), 0) << i;
  EXPECT_EQ(acquire(1, 10, ChatKind::kPrivate), 1);
  EXPECT_EQ(acquire(1, 11, ChatKind::kPrivate), 0);  // another chat has its own budget
  EXPECT_EQ(acquire(2, 10, ChatKind::kPrivate), 0);  // and so has another bot
  clock.advance(milliseconds(500));
  EXPECT_EQ(acquire(1, 10, ChatKind::kPrivate), 1);  // half a second left rounds up to 1
  clock.advance(milliseconds(500));
  EXPECT_EQ(acquire(1, 10, ChatKind::kPrivate), 0);

  // Group: 20 within a minute, then the wait until the first of them leaves the window.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(acquire(3, -100, ChatKind::kGroup), 0) << i;
    clock.advance(milliseconds(70));
  }
  EXPECT_EQ(acquire(3, -100, ChatKind::kGroup), 59);  // 60 s - 1.4 s = 58.6 s
  clock.advance(milliseconds(58'599));
  EXPECT_EQ(acquire(3, -100, ChatKind::kGroup), 1);
  clock.advance(milliseconds(1));
  EXPECT_EQ(acquire(3, -100, ChatKind::kGroup), 0);
  EXPECT_EQ(acquire(3, -100, ChatKind::kGroup), 1);  // the second grant was 70 ms after the first

  // Bot: 30 per second across chats.
  for (int chat = 0; chat < 30; ++chat) EXPECT_EQ(acquire(4, 1000 + chat, ChatKind::kPrivate), 0) << chat;
  EXPECT_EQ(acquire(4, 5000, ChatKind::kPrivate), 1);
  clock.advance(milliseconds(110));
  EXPECT_EQ(acquire(4, 5001, ChatKind::kPrivate), 1);  // a sliding window: nothing back before 1 s
  clock.advance(milliseconds(890));
  EXPECT_EQ(acquire(4, 5002, ChatKind::kPrivate), 0);

  RateDecision granted;
  granted.granted = true;
  EXPECT_EQ(granted.retry_after_seconds(clock.steady_now()), 0);
  RateDecision overdue;  // a wait_until already passed still asks for at least a second
  overdue.wait_until = clock.steady_now() - seconds(3);
  EXPECT_EQ(overdue.retry_after_seconds(clock.steady_now()), 1);
}

TEST(RateLimiter, SwitchedOffGrantsEverythingAndRecordsNothing) {
  ManualClock clock;
  RateLimits off;
  off.enabled = false;
  RateLimiter limiter(clock, off);
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kBulk).granted) << i;
    EXPECT_TRUE(limiter.try_acquire(kBot, -1001, ChatKind::kGroup, Priority::kInteractive).granted) << i;
  }
  EXPECT_EQ(limiter.tracked_chats(kBot), 0u);
  // Telegram's own retry_after still holds.
  limiter.on_retry_after(kBot, std::nullopt, 2);
  RateDecision paused = limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kBulk);
  EXPECT_FALSE(paused.granted);
  EXPECT_EQ(paused.wait_until, clock.steady_now() + seconds(2));
  limiter.on_retry_after(kBot, 7, 5);
  clock.advance(seconds(2));
  EXPECT_TRUE(limiter.try_acquire(kBot, 1, ChatKind::kPrivate, Priority::kBulk).granted);
  EXPECT_FALSE(limiter.try_acquire(kBot, 7, ChatKind::kPrivate, Priority::kBulk).granted);
}

TEST(OutgoingQueue, InteractiveItemsGoBeforeBulk) {
  ManualClock clock;
  RateLimiter limiter(clock);
  Queue q(limiter);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(q.push({kBot, 100 + i, ChatKind::kPrivate, Priority::kBulk, 1000 + i}));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.push({kBot, 900 + i, ChatKind::kPrivate, Priority::kInteractive, i}));
  EXPECT_EQ(q.size(Priority::kBulk), 50u);
  EXPECT_EQ(q.size(Priority::kInteractive), 5u);
  for (int i = 0; i < 5; ++i) {
    auto next = q.next();
    ASSERT_TRUE(next.item);
    EXPECT_EQ(next.item->payload, i);
  }
  auto next = q.next();
  ASSERT_TRUE(next.item);
  EXPECT_EQ(next.item->priority, Priority::kBulk);
  // A reply arriving mid-broadcast jumps the line.
  ASSERT_TRUE(q.push({kBot, 999, ChatKind::kPrivate, Priority::kInteractive, 42}));
  EXPECT_EQ(q.next().item->payload, 42);
}

TEST(OutgoingQueue, RoundRobinAcrossChatsKeepsPerChatOrder) {
  ManualClock clock;
  RateLimits generous;
  generous.private_burst = 1000;
  RateLimiter limiter(clock, generous);
  Queue q(limiter);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.push({kBot, 1, ChatKind::kPrivate, Priority::kInteractive, 100 + i}));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.push({kBot, 2, ChatKind::kPrivate, Priority::kInteractive, 200 + i}));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.push({kBot, 3, ChatKind::kPrivate, Priority::kInteractive, 300 + i}));
  std::vector<int> order;
  drain(q, clock, clock.steady_now() + seconds(10), &order);
  ASSERT_EQ(order.size(), 30u);
  for (std::size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(order[i], static_cast<int>(100 * (i % 3 + 1) + i / 3)) << "position " << i;
  }
}

TEST(OutgoingQueue, BlockedChatDoesNotHoldBackOthers) {
  ManualClock clock;
  RateLimiter limiter(clock);
  Queue q(limiter);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.push({kBot, 1, ChatKind::kPrivate, Priority::kInteractive, i}));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(q.next().item);  // chat 1's burst
  ASSERT_TRUE(q.push({kBot, 2, ChatKind::kPrivate, Priority::kInteractive, 77}));
  auto next = q.next();
  ASSERT_TRUE(next.item);
  EXPECT_EQ(next.item->payload, 77);
  next = q.next();
  EXPECT_FALSE(next.item);
  EXPECT_EQ(next.retry_at, clock.steady_now() + seconds(1));
}

TEST(OutgoingQueue, CapacityIsBoundedPerClassWithClearError) {
  ManualClock clock;
  RateLimiter limiter(clock);
  Queue q(limiter, Queue::Options{2, 3});
  ASSERT_TRUE(q.push({kBot, 1, ChatKind::kPrivate, Priority::kInteractive, 1}));
  ASSERT_TRUE(q.push({kBot, 2, ChatKind::kPrivate, Priority::kInteractive, 2}));
  auto full = q.push({kBot, 3, ChatKind::kPrivate, Priority::kInteractive, 3});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(full.error().message, "outgoing queue is full: 2 interactive messages waiting");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.push({kBot, 10 + i, ChatKind::kPrivate, Priority::kBulk, i}));
  EXPECT_FALSE(q.push({kBot, 20, ChatKind::kPrivate, Priority::kBulk, 0}));
  ASSERT_TRUE(q.next().item);
  EXPECT_TRUE(q.push({kBot, 3, ChatKind::kPrivate, Priority::kInteractive, 3}));
}

TEST(OutgoingQueue, DropChatRemovesItsItems) {
  ManualClock clock;
  RateLimiter limiter(clock);
  Queue q(limiter);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.push({kBot, 1, ChatKind::kPrivate, Priority::kBulk, i}));
  ASSERT_TRUE(q.push({kBot, 1, ChatKind::kPrivate, Priority::kInteractive, 9}));
  ASSERT_TRUE(q.push({kBot, 2, ChatKind::kPrivate, Priority::kBulk, 5}));
  EXPECT_EQ(q.drop_chat(kBot, 1).size(), 5u);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.next().item->chat, 2);
  EXPECT_EQ(q.drop_chat(kBot, 1).size(), 0u);
}

TEST(OutgoingQueue, PushFrontGoesFirstAndDropBotTakesOnlyThatBot) {
  ManualClock clock;
  RateLimiter limiter(clock, RateLimits{.enabled = false});
  Queue q(limiter);
  ASSERT_TRUE(q.push({kBot, 1, ChatKind::kPrivate, Priority::kInteractive, 1}));
  ASSERT_TRUE(q.push({kBot, 1, ChatKind::kPrivate, Priority::kInteractive, 2}));
  auto first = q.next().item;
  ASSERT_TRUE(first);
  EXPECT_EQ(first->payload, 1);
  q.push_front(std::move(*first));  // a 429: it must still go before 2
  EXPECT_EQ(q.next().item->payload, 1);
  EXPECT_EQ(q.next().item->payload, 2);
  ASSERT_TRUE(q.push({kBot, 1, ChatKind::kPrivate, Priority::kBulk, 3}));
  ASSERT_TRUE(q.push({kBot + 1, 1, ChatKind::kPrivate, Priority::kBulk, 4}));
  ASSERT_TRUE(q.push({kBot, 2, ChatKind::kPrivate, Priority::kInteractive, 5}));
  EXPECT_EQ(q.drop_bot(kBot).size(), 2u);
  EXPECT_EQ(q.size(), 1u);
  auto left = q.next().item;
  ASSERT_TRUE(left);
  EXPECT_EQ(left->bot, kBot + 1);
  EXPECT_FALSE(q.next().item);
}

TEST(OutgoingQueue, OneInFlightPerChatHoldsTheChatUntilReleased) {
  ManualClock clock;
  RateLimiter limiter(clock, RateLimits{.enabled = false});
  Queue q(limiter, Queue::Options{.one_in_flight_per_chat = true});
  ASSERT_TRUE(q.push({kBot, 1, ChatKind::kPrivate, Priority::kInteractive, 1}));
  ASSERT_TRUE(q.push({kBot, 1, ChatKind::kPrivate, Priority::kInteractive, 2}));
  ASSERT_TRUE(q.push({kBot, 2, ChatKind::kPrivate, Priority::kInteractive, 3}));
  EXPECT_EQ(q.next().item->payload, 1);
  EXPECT_EQ(q.next().item->payload, 3);  // chat 1 waits for its first message
  auto none = q.next();
  EXPECT_FALSE(none.item);
  q.release(kBot, 1);
  EXPECT_EQ(q.next().item->payload, 2);
}

TEST(OutgoingQueue, BroadcastToTenThousandPacedAtTheLimit) {
  ManualClock clock;
  RateLimiter limiter(clock);
  Queue q(limiter);
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(q.push({kBot, 2'000'000 + i, ChatKind::kPrivate, Priority::kBulk, i}));
  const TimePoint start = clock.steady_now();
  const auto times = drain(q, clock, start + std::chrono::hours(1));
  ASSERT_EQ(times.size(), 10'000u);
  EXPECT_LE(max_in_window(times, seconds(1)), 30);
  const double elapsed = std::chrono::duration<double>(times.back() - start).count();
  const double rate = 10'000 / elapsed;
  EXPECT_GE(rate, 27.0) << elapsed;
  EXPECT_LE(rate, 30.0) << elapsed;
  // Idle chats are forgotten as the broadcast goes on.
  EXPECT_LT(limiter.tracked_chats(kBot), 1100u);
}

TEST(OutgoingQueue, ConcurrentProducersAndConsumerLoseNothing) {
  ManualClock clock;
  RateLimits unlimited;
  unlimited.enabled = false;
  RateLimiter limiter(clock, unlimited);
  Queue q(limiter, Queue::Options{100'000, 100'000});
  std::atomic<int> taken{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        ASSERT_TRUE(
            q.push({kBot, t * 1000 + i, ChatKind::kPrivate, i % 2 ? Priority::kBulk : Priority::kInteractive, i}));
      }
    });
  }
  std::thread consumer([&] {
    while (taken.load() < 2000) {
      if (q.next().item) taken.fetch_add(1);
    }
  });
  for (auto& p : producers) p.join();
  consumer.join();
  EXPECT_EQ(taken.load(), 2000);
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace ms::telegram
