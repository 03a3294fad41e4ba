// WorkerPool: N threads running queued tasks, with a bounded queue.
//
// Blocking work (database calls, readiness checks, file reads) runs here so that event
// loops never block. Thread-safe. Tasks run in FIFO order across the threads; a task that
// throws is a bug: it is logged and the worker keeps going.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/result.hpp"

namespace ms {

class WorkerPool {
 public:
  // threads >= 1; capacity >= 1 tasks waiting at most.
  WorkerPool(int threads, std::size_t capacity);
  // Runs every task already queued, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a task; never blocks. Failure: kUnavailable when the queue is full or stopping.
  Result<void> post(std::function<void()> task);
  // Stops accepting tasks, runs the queued ones, joins. Idempotent.
  void shutdown();
  // True on one of this pool's threads.
  bool on_worker_thread() const;
  // Starts `n` more threads, e.g. to replace threads stuck in a task that hangs (the
  // bot runtime does this). Does nothing once shutting down.
  void add_threads(int n);
  std::size_t thread_count() const;

 private:
  void loop();

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ms
