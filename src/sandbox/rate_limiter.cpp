#include "sandbox/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace ms::sandbox {

double RateLimiter::refill(Bucket& b, double per_second, double burst, std::chrono::steady_clock::time_point now) {
  if (b.tokens < 0) {
    b.tokens = burst;
    b.at = now;
  }
  double elapsed = std::chrono::duration<double>(now - b.at).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst, b.tokens + elapsed * per_second);
    b.at = now;
  }
  if (b.tokens >= 1.0) return 0;
  return (1.0 - b.tokens) / per_second;
}

int RateLimiter::acquire(std::int64_t bot, std::int64_t chat, bool group) {
  if (!limits_.enabled) return 0;
  const auto now = clock_.steady_now();
  Bucket& bot_bucket = bots_[bot];
  Bucket& chat_bucket = chats_[{bot, chat}];
  double chat_rate = group ? limits_.group_per_minute / 60.0 : limits_.chat_per_second;
  double chat_burst = group ? limits_.group_burst : limits_.chat_burst;
  double wait = std::max(refill(bot_bucket, limits_.bot_per_second, limits_.bot_burst, now),
                         refill(chat_bucket, chat_rate, chat_burst, now));
  if (wait > 0) return std::max(1, static_cast<int>(std::ceil(wait)));
  bot_bucket.tokens -= 1;
  chat_bucket.tokens -= 1;
  return 0;
}

}  // namespace ms::sandbox
