// TimerQueue: one thread that runs callbacks when they are due (steady clock), so that many
// small waits (retry backoff for thousands of bots) need no thread each.
// Thread-safe. Callbacks run on the queue's thread one at a time and must not block; one
// that throws is logged. Destruction cancels what has not run yet and joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace ms {

class TimerQueue {
 public:
  using Id = std::uint64_t;
  TimerQueue();
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `fn` after `delay` (at once for a delay <= 0). Returns an id for cancel().
  Id schedule(std::chrono::steady_clock::duration delay, std::function<void()> fn);
  // True if the timer had not run yet and now never will.
  bool cancel(Id id);
  // Timers waiting.
  std::size_t size() const;

 private:
  void loop();

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  // Ordered by due time, then id (so equal times run in scheduling order).
  std::map<std::pair<std::chrono::steady_clock::time_point, Id>, std::function<void()>> timers_;
  std::map<Id, std::chrono::steady_clock::time_point> due_of_;
  Id next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ms
