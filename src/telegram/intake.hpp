// Update intake, the parts shared by long polling and webhooks:
//   UpdateDeduper        drops update ids already seen (a retried webhook, a re-read poll);
//   ChatOrderedExecutor  runs one chat's updates one at a time in arrival order, different
//                        chats and bots in parallel, with a bound on what may wait;
//   WebhookIntake        POST /telegram/<instance>: checks X-Telegram-Bot-Api-Secret-Token,
//                        answers at once and hands the update over for processing after.
//
// Threads: all three are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/worker_pool.hpp"
#include "http/router.hpp"
#include "telegram/types.hpp"

namespace ms::telegram {

// Remembers the newest `window` update ids of one bot. Telegram's ids grow, so an id at or
// below the oldest remembered one, once the window is full, counts as seen too.
class UpdateDeduper {
 public:
  explicit UpdateDeduper(std::size_t window = 4096) : window_(window == 0 ? 1 : window) {}
  // True the first time an id is offered; false for a repeat.
  bool first_time(std::int64_t update_id);
  // Un-sees an id whose processing was refused, so that its redelivery is taken.
  void forget(std::int64_t update_id);

 private:
  std::mutex mutex_;
  std::size_t window_;
  std::set<std::int64_t> recent_;
};

// Runs tasks so that tasks with the same key (e.g. "bot:chat") run one at a time in the
// order submitted, and tasks of different keys run in parallel on `pool`. A task that
// throws is logged; the key's next task still runs. A task that hangs holds its thread,
// but release_hung() lets the key's later tasks go on without it. `pool` must outlive
// the executor and the tasks it queued.
class ChatOrderedExecutor {
 public:
  ChatOrderedExecutor(WorkerPool& pool, std::size_t max_pending);
  ~ChatOrderedExecutor();
  ChatOrderedExecutor(const ChatOrderedExecutor&) = delete;
  ChatOrderedExecutor& operator=(const ChatOrderedExecutor&) = delete;

  // Queues `task` behind the key's earlier tasks. Failure: kLimitExceeded when max_pending
  // tasks are already waiting (the caller pushes back: a webhook answers 429 so Telegram
  // retries later, a poller waits), kUnavailable when the pool refuses work.
  Result<void> submit(const std::string& key, std::function<void()> task);
  // Tasks queued or running (a released hung task counts until it returns).
  std::size_t pending() const;

  // For every key whose running task started more than `limit` ago: gives up waiting for
  // it, so the key's next tasks start on another thread. Returns those keys. The hung
  // task keeps its thread until it returns (the caller may add threads to the pool).
  std::vector<std::string> release_hung(std::chrono::steady_clock::duration limit);
  // Released tasks that have not returned yet.
  std::size_t hung() const;

 private:
  struct State;
  // Tasks hold the state, so queued work survives the executor; `pool` must outlive both.
  static void drain(const std::shared_ptr<State>& state, WorkerPool& pool, const std::string& key,
                    std::uint64_t generation);
  static bool post_drain(const std::shared_ptr<State>& state, WorkerPool& pool, const std::string& key,
                         std::uint64_t generation);

  WorkerPool& pool_;
  std::shared_ptr<State> state_;
};

// Where one instance's webhook updates go.
struct WebhookTarget {
  std::string secret_token;  // the secret_token given to setWebhook
  // Takes an update for processing and returns at once. kLimitExceeded means "full".
  std::function<Result<void>(Update)> deliver;
};

class WebhookIntake {
 public:
  // Registers POST /telegram/{instance} on `router`. Answers: 200 accepted (or a dropped
  // duplicate), 400 a body that is not an Update, 403 a wrong or missing secret (nothing
  // is processed), 404 an unknown instance, 429 when the target is full (Telegram retries).
  void add_routes(http::Router& router);
  void set(const std::string& instance, WebhookTarget target);
  void remove(const std::string& instance);

 private:
  struct Entry {
    WebhookTarget target;
    std::shared_ptr<UpdateDeduper> seen;
  };
  http::Response accept(const std::string& instance, const http::Request& request);

  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace ms::telegram
