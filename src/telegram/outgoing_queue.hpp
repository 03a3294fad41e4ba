// OutgoingQueue: messages waiting to be sent, handed out in the order the rate limiter
// allows: interactive items (replies to people) before bulk items (broadcasts), and within
// a class round robin across chats, so one long broadcast or one chatty chat cannot starve
// the others. Items of one chat and class keep their order.
//
// With `one_in_flight_per_chat`, a chat whose last granted item has not been release()d
// is passed over, so a chat's messages also arrive in order when sends run concurrently.
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
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
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
    bool one_in_flight_per_chat = false;
  };
  struct Next {
    std::optional<Item> item;           // granted and removed from the queue
    std::optional<TimePoint> retry_at;  // nothing granted, items wait: ask again then
  };

  explicit OutgoingQueue(RateLimiter& limiter) : OutgoingQueue(limiter, Options{}) {}
  OutgoingQueue(RateLimiter& limiter, Options options)
      : limiter_(limiter), one_in_flight_(options.one_in_flight_per_chat) {
    lanes_[0].capacity = options.interactive_capacity;
    lanes_[1].capacity = options.bulk_capacity;
  }

  // Fails with kLimitExceeded when the item's class already holds its capacity.
  // The item is taken only on success, so a refused caller still holds it.
  Result<void> push(Item&& item) {
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
        if (std::find(blocked_bots.begin(), blocked_bots.end(), key.bot) != blocked_bots.end() ||
            (one_in_flight_ && in_flight_.count(key))) {
          lane.ring.push_back(key);
          continue;
        }
        auto& items = lane.per_chat[key];
        Item& head = items.front();
        const RateDecision d = limiter_.try_acquire(head.bot, head.chat, head.kind, head.priority, now);
        if (d.granted) {
          if (one_in_flight_) in_flight_.insert(key);
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

  // The chat's granted item is done (sent or given up): its next item may go.
  void release(std::int64_t bot, std::int64_t chat) {
    std::lock_guard lock(mu_);
    in_flight_.erase(Key{bot, chat});
  }

  // Puts back an item that was granted but could not go (Telegram answered 429): it goes
  // ahead of its chat's other items. Never refused: it was admitted once already.
  void push_front(Item item) {
    std::lock_guard lock(mu_);
    Lane& lane = lane_of(item.priority);
    const Key key{item.bot, item.chat};
    auto& items = lane.per_chat[key];
    if (items.empty()) lane.ring.push_front(key);
    items.push_front(std::move(item));
    ++lane.count;
  }

  // Removes and returns every waiting item for one chat of a bot (the person blocked it).
  std::vector<Item> drop_chat(std::int64_t bot, std::int64_t chat) {
    std::lock_guard lock(mu_);
    std::vector<Item> dropped;
    const Key key{bot, chat};
    for (Lane& lane : lanes_) {
      auto it = lane.per_chat.find(key);
      if (it == lane.per_chat.end()) continue;
      take_all(lane, it, dropped);
      std::erase(lane.ring, key);
    }
    return dropped;
  }

  // Removes and returns every waiting item of a bot (it was removed or lost its token).
  std::vector<Item> drop_bot(std::int64_t bot) {
    std::lock_guard lock(mu_);
    std::vector<Item> dropped;
    for (Lane& lane : lanes_) {
      for (auto it = lane.per_chat.begin(); it != lane.per_chat.end();) {
        if (it->first.bot != bot) {
          ++it;
          continue;
        }
        auto next = std::next(it);
        take_all(lane, it, dropped);
        it = next;
      }
      std::erase_if(lane.ring, [bot](const Key& k) { return k.bot == bot; });
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

  template <class It>
  static void take_all(Lane& lane, It it, std::vector<Item>& out) {
    lane.count -= it->second.size();
    for (auto& item : it->second) out.push_back(std::move(item));
    lane.per_chat.erase(it);
  }

  RateLimiter& limiter_;
  const bool one_in_flight_;
  mutable std::mutex mu_;
  Lane lanes_[2];
  std::unordered_set<Key, KeyHash> in_flight_;
};

}  // namespace ms::telegram
