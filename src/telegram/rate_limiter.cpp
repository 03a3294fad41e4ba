#include "telegram/rate_limiter.hpp"

#include <algorithm>
#include <iterator>

namespace ms::telegram {
namespace {

using std::chrono::microseconds;
using TimePoint = RateLimiter::TimePoint;

constexpr microseconds kSecond = std::chrono::seconds(1);
constexpr microseconds kMinute = std::chrono::seconds(60);

// Drops grants that left the window (now - span, now].
template <class... Parallel>
void expire(std::deque<TimePoint>& window, TimePoint now, microseconds span, Parallel&... parallel) {
  while (!window.empty() && window.front() + span <= now) {
    window.pop_front();
    (parallel.pop_front(), ...);
  }
}

}  // namespace

int RateDecision::retry_after_seconds(std::chrono::steady_clock::time_point now) const {
  if (granted) return 0;
  const auto wait = std::chrono::duration_cast<microseconds>(wait_until - now);
  const auto whole = (wait.count() + kSecond.count() - 1) / kSecond.count();  // ceil for wait > 0
  return static_cast<int>(std::max<std::int64_t>(whole, 1));
}

RateLimiter::RateLimiter(const Clock& clock, RateLimits limits) : clock_(clock), limits_(limits) {}

RateDecision RateLimiter::try_acquire(std::int64_t bot, std::int64_t chat, ChatKind kind, Priority priority) {
  return try_acquire(bot, chat, kind, priority, clock_.steady_now());
}

RateDecision RateLimiter::try_acquire(std::int64_t bot_id, std::int64_t chat_id, ChatKind kind, Priority priority,
                                      TimePoint now) {
  RateDecision d;
  d.wait_until = now;
  std::lock_guard lock(mu_);
  if (!limits_.enabled) {
    // No limits of our own, but a pause Telegram asked for (retry_after) still holds.
    auto it = bots_.find(bot_id);
    if (it != bots_.end()) {
      TimePoint until = it->second.paused_until;
      RateDecision::Blocker who = RateDecision::Blocker::kBot;
      if (auto c = it->second.chats.find(chat_id); c != it->second.chats.end() && c->second.paused_until > until) {
        until = c->second.paused_until;
        who = RateDecision::Blocker::kChat;
      }
      if (until > now) {
        d.wait_until = until;
        d.blocked_by = who;
        return d;
      }
    }
    d.granted = true;
    return d;
  }
  BotState& bot = bots_[bot_id];
  expire(bot.window, now, kSecond, bot.window_bulk);

  auto block = [&](TimePoint until, RateDecision::Blocker who) {
    if (until > d.wait_until) {
      d.wait_until = until;
      d.blocked_by = who;
    }
  };

  // Bot: a pause, the whole window, and the bulk share of it.
  if (bot.paused_until > now) block(bot.paused_until, RateDecision::Blocker::kBot);
  const auto total = static_cast<int>(bot.window.size());
  if (total >= limits_.bot_per_second) {
    block(bot.window[total - limits_.bot_per_second] + kSecond, RateDecision::Blocker::kBot);
  }
  if (priority == Priority::kBulk) {
    // Evenly spaced, not in bursts: Telegram counts at arrival, and a burst that left here
    // inside one second can arrive spread so that the next second's first sends meet it.
    if (bot.next_bulk > now) block(bot.next_bulk, RateDecision::Blocker::kBot);
    const auto bulk = static_cast<int>(std::count(bot.window_bulk.begin(), bot.window_bulk.end(), true));
    if (bulk >= limits_.bulk_per_second) {
      // The bulk grant that must leave the window before another fits.
      int seen = 0;
      for (std::size_t i = 0; i < bot.window.size(); ++i) {
        if (bot.window_bulk[i] && ++seen == bulk - limits_.bulk_per_second + 1) {
          block(bot.window[i] + kSecond, RateDecision::Blocker::kBot);
          break;
        }
      }
    }
  }

  // Chat: a pause, then the per-kind limit.
  auto found = bot.chats.find(chat_id);
  ChatState fresh;
  ChatState& chat = found != bot.chats.end() ? found->second : fresh;
  if (chat.paused_until > now) block(chat.paused_until, RateDecision::Blocker::kChat);
  const microseconds tolerance = limits_.private_interval * (limits_.private_burst - 1);
  if (kind == ChatKind::kPrivate) {
    if (chat.tat - tolerance > now) block(chat.tat - tolerance, RateDecision::Blocker::kChat);
  } else {
    expire(chat.window, now, kMinute);
    const auto n = static_cast<int>(chat.window.size());
    if (n >= limits_.group_per_minute) {
      block(chat.window[n - limits_.group_per_minute] + kMinute, RateDecision::Blocker::kChat);
    }
  }

  if (d.blocked_by != RateDecision::Blocker::kNone) return d;

  d.granted = true;
  if (priority == Priority::kBulk) bot.next_bulk = now + kSecond / std::max(limits_.bulk_per_second, 1);
  bot.window.push_back(now);
  bot.window_bulk.push_back(priority == Priority::kBulk);
  ChatState& stored = found != bot.chats.end() ? found->second : bot.chats.emplace(chat_id, fresh).first->second;
  if (kind == ChatKind::kPrivate) {
    stored.tat = std::max(stored.tat, now) + limits_.private_interval;
  } else {
    stored.window.push_back(now);
  }
  if (bot.chats.size() >= bot.prune_at) prune_idle(bot, now);
  return d;
}

void RateLimiter::prune_idle(BotState& bot, TimePoint now) {
  // A chat whose bucket is full, window empty and pause over behaves exactly like an unknown one.
  for (auto it = bot.chats.begin(); it != bot.chats.end();) {
    ChatState& c = it->second;
    expire(c.window, now, kMinute);
    it = (c.tat <= now && c.window.empty() && c.paused_until <= now) ? bot.chats.erase(it) : std::next(it);
  }
  bot.prune_at = std::max(kPruneThreshold, bot.chats.size() * 2);
}

void RateLimiter::on_retry_after(std::int64_t bot, std::optional<std::int64_t> chat, int seconds) {
  on_retry_after(bot, chat, seconds, clock_.steady_now());
}

void RateLimiter::on_retry_after(std::int64_t bot_id, std::optional<std::int64_t> chat, int seconds, TimePoint now) {
  std::lock_guard lock(mu_);
  const TimePoint until = now + std::chrono::seconds(std::max(seconds, 0));
  BotState& bot = bots_[bot_id];
  TimePoint& paused = chat ? bot.chats[*chat].paused_until : bot.paused_until;
  paused = std::max(paused, until);
}

void RateLimiter::forget_bot(std::int64_t bot) {
  std::lock_guard lock(mu_);
  bots_.erase(bot);
}

std::size_t RateLimiter::tracked_chats(std::int64_t bot) const {
  std::lock_guard lock(mu_);
  auto it = bots_.find(bot);
  return it == bots_.end() ? 0 : it->second.chats.size();
}

}  // namespace ms::telegram
