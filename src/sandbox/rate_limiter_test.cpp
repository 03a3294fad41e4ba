// The token buckets on a manual clock: per chat, per group and per bot.
#include "sandbox/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace ms::sandbox {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, PerChatBurstThenOnePerSecond) {
  ManualClock clock;
  RateLimiter limiter(RateLimits{}, clock);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.acquire(1, 10, false), 0) << i;
  EXPECT_EQ(limiter.acquire(1, 10, false), 1);
  EXPECT_EQ(limiter.acquire(1, 11, false), 0);  // another chat has its own bucket
  EXPECT_EQ(limiter.acquire(2, 10, false), 0);  // and so has another bot
  clock.advance(500ms);
  EXPECT_EQ(limiter.acquire(1, 10, false), 1);
  clock.advance(500ms);
  EXPECT_EQ(limiter.acquire(1, 10, false), 0);
}

TEST(RateLimiter, GroupsAllowTwentyPerMinute) {
  ManualClock clock;
  RateLimiter limiter(RateLimits{}, clock);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(limiter.acquire(1, -100, true), 0) << i;
    clock.advance(70ms);  // the bot-wide bucket is never the limit here
  }
  // One message per 3 s: after 1.4 s, 1.6 s are still missing.
  EXPECT_EQ(limiter.acquire(1, -100, true), 2);
  clock.advance(1700ms);
  EXPECT_EQ(limiter.acquire(1, -100, true), 0);
  EXPECT_EQ(limiter.acquire(1, -100, true), 3);
}

TEST(RateLimiter, ThirtyPerSecondPerBotAcrossChats) {
  ManualClock clock;
  RateLimiter limiter(RateLimits{}, clock);
  for (int chat = 0; chat < 30; ++chat) EXPECT_EQ(limiter.acquire(1, 1000 + chat, false), 0) << chat;
  EXPECT_EQ(limiter.acquire(1, 5000, false), 1);
  clock.advance(110ms);  // 3.3 tokens back
  for (int chat = 0; chat < 3; ++chat) EXPECT_EQ(limiter.acquire(1, 6000 + chat, false), 0) << chat;
  EXPECT_EQ(limiter.acquire(1, 7000, false), 1);

  RateLimits off;
  off.enabled = false;
  RateLimiter unlimited(off, clock);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(unlimited.acquire(1, 1, false), 0);
}

}  // namespace
}  // namespace ms::sandbox
