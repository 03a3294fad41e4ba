#include "core/timer_queue.hpp"

#include <spdlog/spdlog.h>

namespace ms {

TimerQueue::TimerQueue() : thread_([this] { loop(); }) {}

TimerQueue::~TimerQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    timers_.clear();
    due_of_.clear();
  }
  changed_.notify_all();
  thread_.join();
}

TimerQueue::Id TimerQueue::schedule(std::chrono::steady_clock::duration delay, std::function<void()> fn) {
  Id id;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    auto due = std::chrono::steady_clock::now() + delay;
    timers_.emplace(std::make_pair(due, id), std::move(fn));
    due_of_.emplace(id, due);
  }
  changed_.notify_all();
  return id;
}

bool TimerQueue::cancel(Id id) {
  std::lock_guard lock(mutex_);
  auto it = due_of_.find(id);
  if (it == due_of_.end()) return false;
  timers_.erase({it->second, id});
  due_of_.erase(it);
  return true;
}

std::size_t TimerQueue::size() const {
  std::lock_guard lock(mutex_);
  return timers_.size();
}

void TimerQueue::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (timers_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto first = timers_.begin();
    const auto due = first->first.first;
    if (std::chrono::steady_clock::now() < due) {
      changed_.wait_until(lock, due);  // woken early by a new, earlier timer or by stopping
      continue;
    }
    auto fn = std::move(first->second);
    due_of_.erase(first->first.second);
    timers_.erase(first);
    lock.unlock();
    try {
      fn();
    } catch (const std::exception& e) {
      spdlog::error("timer callback threw: {}", e.what());
    } catch (...) {
      spdlog::error("timer callback threw");
    }
    lock.lock();
  }
}

}  // namespace ms
