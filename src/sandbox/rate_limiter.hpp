// RateLimiter: Telegram's outgoing message limits for one emulator, as token buckets driven
// by the injected Clock (so tests step time instead of sleeping): about 30 messages/s per
// bot, 1/s per chat with a short burst, 20/min per group or channel.
//
// Not thread-safe on its own: the Emulator calls it under its lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <utility>

#include "core/clock.hpp"

namespace ms::sandbox {

struct RateLimits {
  bool enabled = true;
  double bot_per_second = 30;
  double bot_burst = 30;
  double chat_per_second = 1;
  double chat_burst = 3;
  double group_per_minute = 20;
  double group_burst = 20;
};

class RateLimiter {
 public:
  RateLimiter(RateLimits limits, const Clock& clock) : limits_(limits), clock_(clock) {}

  // Takes one message of `bot` to `chat` (`group` for groups, supergroups and channels).
  // Returns 0 when allowed (the tokens are spent), otherwise the whole seconds to wait
  // (at least 1) and nothing is spent.
  int acquire(std::int64_t bot, std::int64_t chat, bool group);

 private:
  struct Bucket {
    double tokens = -1;  // -1: not yet used, starts full
    std::chrono::steady_clock::time_point at{};
  };
  // Refills `b`; returns the seconds until one token is there (0 if one is there now).
  double refill(Bucket& b, double per_second, double burst, std::chrono::steady_clock::time_point now);

  RateLimits limits_;
  const Clock& clock_;
  std::map<std::int64_t, Bucket> bots_;
  std::map<std::pair<std::int64_t, std::int64_t>, Bucket> chats_;
};

}  // namespace ms::sandbox
