// WorkerPool: a few threads that run blocking work (database pings, file reads) off the
// server's event loop.
//
// Thread-safety: post() may be called from any thread. The destructor stops taking work,
// finishes what was queued, and joins the threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ms::http {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads = 1);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`. Returns false (and drops it) once the pool is shutting down. A task that
  // throws is logged and the worker keeps going.
  bool post(std::function<void()> task);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ms::http
