#include "core/worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ms {

WorkerPool::WorkerPool(int threads, std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
  threads = std::max(threads, 1);
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

WorkerPool::~WorkerPool() { shutdown(); }

Result<void> WorkerPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return fail(ErrorCode::kUnavailable, "workers are shutting down");
    if (queue_.size() >= capacity_) return fail(ErrorCode::kUnavailable, "the work queue is full");
    queue_.push_back(std::move(task));
  }
  ready_.notify_one();
  return ok();
}

void WorkerPool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  ready_.notify_all();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // shutdown from inside a task: the thread ends after it returns
    } else {
      t.join();
    }
  }
}

bool WorkerPool::on_worker_thread() const {
  std::lock_guard lock(mutex_);
  return std::any_of(threads_.begin(), threads_.end(),
                     [](const std::thread& t) { return t.get_id() == std::this_thread::get_id(); });
}

void WorkerPool::add_threads(int n) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { loop(); });
}

std::size_t WorkerPool::thread_count() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

void WorkerPool::loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("worker task threw: {}", e.what());
    } catch (...) {
      spdlog::error("worker task threw a non-standard exception");
    }
  }
}

}  // namespace ms
