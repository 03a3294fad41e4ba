// Outgoing rate limits shaped like Telegram's (reference §6): about 30 messages per second
// per bot, one per second per private chat with a short burst allowed, 20 per minute per
// group or channel, and a 429's retry_after pausing the bot or one chat until it passes.
//
// Pure logic: callers pass `now` (or let the injected Clock supply it); nothing sleeps.
// Two priority classes: bulk traffic (broadcasts) may fill only `bulk_per_second` of the
// bot's 30/s window, so a reply to a person always finds a free slot within the second;
// ordering between waiting items is OutgoingQueue's job (outgoing_queue.hpp).
//
// Bulk grants are also spaced evenly (1 s / bulk_per_second apart), because Telegram counts
// at arrival: a burst sent within one second may arrive spread out, and the next second's
// first messages would then meet it in Telegram's window.
//
// Exactness: the bot and group limits are sliding windows, so no window of 1 s (60 s)
// ever holds more than 30 (20) grants. Private chats use a token bucket (GCRA) of
// `private_burst` messages refilled at one per `private_interval`.
//
// The sandbox emulator enforces the same limits on the server side with this class, so a
// bot that paces itself here is never refused there (and `enabled = false` lets tests and
// load runs switch the emulator's limits off).
//
// Threads: thread-safe; one mutex guards all state. State of idle chats is dropped as the
// chat map grows, so a broadcast to 10,000 people does not leave 10,000 entries behind.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/clock.hpp"

namespace ms::telegram {

enum class ChatKind { kPrivate, kGroup, kChannel };
enum class Priority { kInteractive, kBulk };

struct RateLimits {
  bool enabled = true;  // false: no limits of our own (a 429's pause still holds); nothing recorded
  int bot_per_second = 30;
  int bulk_per_second = 28;  // at most this many of the bot's window may be bulk
  int private_burst = 3;
  std::chrono::microseconds private_interval = std::chrono::seconds(1);
  int group_per_minute = 20;
};

struct RateDecision {
  enum class Blocker { kNone, kBot, kChat };
  bool granted = false;
  // When not granted: the earliest time the same request could be granted (given no other
  // traffic in between). Equal to `now` when granted.
  std::chrono::steady_clock::time_point wait_until;
  Blocker blocked_by = Blocker::kNone;

  // What a 429 would carry as retry_after: the whole seconds from `now` until wait_until,
  // rounded up and at least 1; 0 when granted.
  int retry_after_seconds(std::chrono::steady_clock::time_point now) const;
};

class RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit RateLimiter(const Clock& clock, RateLimits limits = {});

  const Clock& clock() const { return clock_; }
  const RateLimits& limits() const { return limits_; }

  // Grants and records one message from `bot` to `chat`, or says when to come back; a
  // refusal consumes nothing.
  RateDecision try_acquire(std::int64_t bot, std::int64_t chat, ChatKind kind, Priority priority, TimePoint now);
  RateDecision try_acquire(std::int64_t bot, std::int64_t chat, ChatKind kind, Priority priority);

  // Telegram answered 429 with retry_after = `seconds`: pause the chat (when given) or the
  // whole bot until now + seconds. A shorter pause never shortens a longer one.
  void on_retry_after(std::int64_t bot, std::optional<std::int64_t> chat, int seconds, TimePoint now);
  void on_retry_after(std::int64_t bot, std::optional<std::int64_t> chat, int seconds);

  // Drops everything known about a bot (it was removed from the runtime).
  void forget_bot(std::int64_t bot);
  // Chats of `bot` with state held (for memory accounting and tests).
  std::size_t tracked_chats(std::int64_t bot) const;

 private:
  struct ChatState {
    TimePoint tat{};               // GCRA theoretical arrival time (private chats)
    std::deque<TimePoint> window;  // grants in the last minute (groups, channels)
    TimePoint paused_until{};
  };
  struct BotState {
    std::deque<TimePoint> window;  // grants in the last second
    std::deque<bool> window_bulk;  // parallel to window: was that grant bulk
    TimePoint paused_until{};
    TimePoint next_bulk{};  // bulk grants are spaced 1 s / bulk_per_second apart
    std::unordered_map<std::int64_t, ChatState> chats;
    std::size_t prune_at = kPruneThreshold;
  };
  static constexpr std::size_t kPruneThreshold = 1024;

  void prune_idle(BotState& bot, TimePoint now);

  const Clock& clock_;
  const RateLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, BotState> bots_;
};

}  // namespace ms::telegram
