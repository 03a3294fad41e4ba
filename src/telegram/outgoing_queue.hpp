// OutgoingQueue: messages waiting to be sent, handed out in the order the rate limiter
// allows: interactive items (replies to people) before bulk items (broadcasts), and within
// a class round robin across chats, so one long broadcast or one chatty chat cannot starve
// the others. Items of one chat and class keep their order.
//
// Capacity is bounded per class; push() fails with kLimitExceeded when that class is full.
// next() grants the item through the RateLimiter (recording it as sent); when nothing may
// go now it reports the earliest time worth asking again. A scan skips the remaining chats
// of a bot once the bot-wide limit refused one, but is otherwise linear in waiting chats.
//
// Threads: thread-safe (one mutex; it calls into the limiter while holding it, never the
// other way round).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "telegram/rate_limiter.hpp"

namespace ms::telegram {

template <class T>
class OutgoingQueue {
 public:
  using TimePoint = RateLimiter::TimePoint;

  struct Item {
    std::int64_t bot = 0;
    std::int64_t chat = 0;
    ChatKind kind = ChatKind::kPrivate;
    Priority priority = Priority::kInteractive;
    T payload{};
  };
  struct Options {
    std::size_t interactive_capacity = 10'000;
    std::size_t bulk_capacity = 100'000;
  };
  struct Next {
    std::optional<Item> item;           // granted and removed from the queue
    std::optional<TimePoint> retry_at;  // nothing granted, items wait: ask again then
  };

  explicit OutgoingQueue(RateLimiter& limiter) : OutgoingQueue(limiter, Options{}) {}
  OutgoingQueue(RateLimiter& limiter, Options options) : limiter_(limiter) {
    lanes_[0].capacity = options.interactive_capacity;
    lanes_[1].capacity = options.bulk_capacity;
  }

  // Fails with kLimitExceeded when the item's class already holds its capacity.
  Result<void> push(Item item) {
    std::lock_guard lock(mu_);
    Lane& lane = lane_of(item.priority);
    if (lane.count >= lane.capacity) {
      return fail(ErrorCode::kLimitExceeded, std::string("outgoing queue is full: ") + std::to_string(lane.count) +
                                                 (item.priority == Priority::kInteractive ? " interactive" : " bulk") +
                                                 " messages waiting");
    }
    const Key key{item.bot, item.chat};
    auto& items = lane.per_chat[key];
    if (items.empty()) lane.ring.push_back(key);
    items.push_back(std::move(item));
    ++lane.count;
    return ok();
  }

  Next next() { return next(limiter_.clock().steady_now()); }

  Next next(TimePoint now) {
    std::lock_guard lock(mu_);
    Next out;
    for (Lane& lane : lanes_) {
      std::vector<std::int64_t> blocked_bots;
      const std::size_t scan = lane.ring.size();
      for (std::size_t i = 0; i < scan; ++i) {
        const Key key = lane.ring.front();
        lane.ring.pop_front();
        if (std::find(blocked_bots.begin(), blocked_bots.end(), key.bot) != blocked_bots.end()) {
          lane.ring.push_back(key);
          continue;
        }
        auto& items = lane.per_chat[key];
        Item& head = items.front();
        const RateDecision d = limiter_.try_acquire(head.bot, head.chat, head.kind, head.priority, now);
        if (d.granted) {
          out.item = std::move(head);
          items.pop_front();
          --lane.count;
          if (items.empty()) {
            lane.per_chat.erase(key);
          } else {
            lane.ring.push_back(key);
          }
          out.retry_at.reset();
          return out;
        }
        lane.ring.push_back(key);
        if (d.blocked_by == RateDecision::Blocker::kBot) blocked_bots.push_back(key.bot);
        if (!out.retry_at || d.wait_until < *out.retry_at) out.retry_at = d.wait_until;
      }
    }
    return out;
  }

  // Removes every waiting item for one chat of a bot (the person blocked the bot).
  std::size_t drop_chat(std::int64_t bot, std::int64_t chat) {
    std::lock_guard lock(mu_);
    std::size_t dropped = 0;
    const Key key{bot, chat};
    for (Lane& lane : lanes_) {
      auto it = lane.per_chat.find(key);
      if (it == lane.per_chat.end()) continue;
      dropped += it->second.size();
      lane.count -= it->second.size();
      lane.per_chat.erase(it);
      std::erase(lane.ring, key);
    }
    return dropped;
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return lanes_[0].count + lanes_[1].count;
  }
  std::size_t size(Priority priority) const {
    std::lock_guard lock(mu_);
    return lanes_[priority == Priority::kInteractive ? 0 : 1].count;
  }

 private:
  struct Key {
    std::int64_t bot;
    std::int64_t chat;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<std::int64_t>()(k.bot) * 1000003u ^ std::hash<std::int64_t>()(k.chat);
    }
  };
  struct Lane {
    std::unordered_map<Key, std::deque<Item>, KeyHash> per_chat;
    std::deque<Key> ring;  // chats with waiting items, in round-robin order
    std::size_t count = 0;
    std::size_t capacity = 0;
  };

  Lane& lane_of(Priority p) { return lanes_[p == Priority::kInteractive ? 0 : 1]; }

  RateLimiter& limiter_;
  mutable std::mutex mu_;
  Lane lanes_[2];
};

}  // namespace ms::telegram
