#include "telegram/intake.hpp"

#include <spdlog/spdlog.h>

#include <deque>
#include <optional>

#include "core/crypto/primitives.hpp"
#include "core/metrics.hpp"

namespace ms::telegram {

bool UpdateDeduper::first_time(std::int64_t update_id) {
  std::lock_guard lock(mutex_);
  if (recent_.size() >= window_ && update_id <= *recent_.begin()) return false;
  if (!recent_.insert(update_id).second) return false;
  if (recent_.size() > window_) recent_.erase(recent_.begin());
  return true;
}

void UpdateDeduper::forget(std::int64_t update_id) {
  std::lock_guard lock(mutex_);
  recent_.erase(update_id);
}

struct ChatOrderedExecutor::State {
  struct Queue {
    std::deque<std::function<void()>> tasks;
    std::uint64_t generation = 0;  // the drain that owns the key; unique across keys
    std::optional<std::chrono::steady_clock::time_point> running_since;
  };
  std::mutex mutex;
  std::map<std::string, Queue> queues;  // a key present = a drain owns it
  std::size_t pending = 0;
  std::size_t max_pending = 0;
  std::size_t hung = 0;
  std::uint64_t next_generation = 1;
};

ChatOrderedExecutor::ChatOrderedExecutor(WorkerPool& pool, std::size_t max_pending)
    : pool_(pool), state_(std::make_shared<State>()) {
  state_->max_pending = max_pending == 0 ? 1 : max_pending;
}

ChatOrderedExecutor::~ChatOrderedExecutor() = default;

bool ChatOrderedExecutor::post_drain(const std::shared_ptr<State>& state, WorkerPool& pool, const std::string& key,
                                     std::uint64_t generation) {
  return pool.post([state, pool = &pool, key, generation] { drain(state, *pool, key, generation); }).has_value();
}

Result<void> ChatOrderedExecutor::submit(const std::string& key, std::function<void()> task) {
  std::uint64_t start = 0;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->pending >= state_->max_pending)
      return fail(ErrorCode::kLimitExceeded,
                  "update queue is full: " + std::to_string(state_->pending) + " updates waiting");
    auto [it, inserted] = state_->queues.try_emplace(key);
    it->second.tasks.push_back(std::move(task));
    ++state_->pending;
    if (inserted) start = it->second.generation = state_->next_generation++;  // no drain owns this key yet
  }
  if (start != 0 && !post_drain(state_, pool_, key, start)) {
    std::lock_guard lock(state_->mutex);
    state_->pending -= state_->queues[key].tasks.size();
    state_->queues.erase(key);
    return fail(ErrorCode::kUnavailable, "update workers are shutting down or full");
  }
  return ok();
}

void ChatOrderedExecutor::drain(const std::shared_ptr<State>& state_, WorkerPool& pool_, const std::string& key,
                                std::uint64_t generation) {
  // One task per turn, then back to the pool: a busy chat cannot starve the others.
  std::function<void()> task;
  {
    std::lock_guard lock(state_->mutex);
    auto it = state_->queues.find(key);
    if (it == state_->queues.end() || it->second.generation != generation || it->second.tasks.empty()) return;
    task = std::move(it->second.tasks.front());
    it->second.tasks.pop_front();
    it->second.running_since = std::chrono::steady_clock::now();
  }
  try {
    task();
  } catch (const std::exception& e) {
    spdlog::error("update handler for {} threw: {}", key, e.what());
  } catch (...) {
    spdlog::error("update handler for {} threw", key);
  }
  bool more = false;
  {
    std::lock_guard lock(state_->mutex);
    --state_->pending;
    auto it = state_->queues.find(key);
    if (it == state_->queues.end() || it->second.generation != generation) {
      --state_->hung;  // released while it hung: the key has moved on without this drain
      return;
    }
    it->second.running_since.reset();
    if (it->second.tasks.empty())
      state_->queues.erase(it);
    else
      more = true;
  }
  if (more && !post_drain(state_, pool_, key, generation)) {
    // The pool is shutting down: run what is left here rather than lose it.
    drain(state_, pool_, key, generation);
  }
}

std::vector<std::string> ChatOrderedExecutor::release_hung(std::chrono::steady_clock::duration limit) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::string> released;
  std::vector<std::pair<std::string, std::uint64_t>> restart;
  {
    std::lock_guard lock(state_->mutex);
    for (auto it = state_->queues.begin(); it != state_->queues.end();) {
      auto& q = it->second;
      if (!q.running_since || now - *q.running_since <= limit) {
        ++it;
        continue;
      }
      released.push_back(it->first);
      ++state_->hung;
      if (q.tasks.empty()) {
        it = state_->queues.erase(it);
        continue;
      }
      q.generation = state_->next_generation++;
      q.running_since.reset();
      restart.emplace_back(it->first, q.generation);
      ++it;
    }
  }
  for (auto& [key, generation] : restart) {
    if (!post_drain(state_, pool_, key, generation)) {
      spdlog::error("update workers refused the next task of {} after a hung handler", key);
    }
  }
  return released;
}

std::size_t ChatOrderedExecutor::pending() const {
  std::lock_guard lock(state_->mutex);
  return state_->pending;
}

std::size_t ChatOrderedExecutor::hung() const {
  std::lock_guard lock(state_->mutex);
  return state_->hung;
}

void WebhookIntake::add_routes(http::Router& router) {
  router.add_sync(http::Method::kPost, "/telegram/{instance}", [this](http::Request& request) {
    return accept(std::string(request.path_param("instance").value_or("")), request);
  });
}

void WebhookIntake::set(const std::string& instance, WebhookTarget target) {
  auto entry = std::make_shared<Entry>(Entry{std::move(target), std::make_shared<UpdateDeduper>()});
  std::lock_guard lock(mutex_);
  entries_[instance] = std::move(entry);
}

void WebhookIntake::remove(const std::string& instance) {
  std::lock_guard lock(mutex_);
  entries_.erase(instance);
}

http::Response WebhookIntake::accept(const std::string& instance, const http::Request& request) {
  static auto& updates = metrics::counter_family("telegram_webhook_updates_total",
                                                 "Webhook requests by outcome (accepted, duplicate, ...)");
  auto count = [&](const char* result) { updates.Add({{"result", result}}).Increment(); };
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(instance);
    if (it != entries_.end()) entry = it->second;
  }
  if (!entry) {
    count("unknown_instance");
    return http::Response::error(404, "not_found", "no bot instance here");
  }
  auto secret = request.header("X-Telegram-Bot-Api-Secret-Token");
  if (!secret || !crypto::constant_time_equals(*secret, entry->target.secret_token)) {
    count("forbidden");
    spdlog::warn("webhook for instance {}: wrong or missing secret token; update ignored", instance);
    return http::Response::error(403, "permission_denied", "wrong secret token");
  }
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  auto update = body.is_discarded() ? fail(ErrorCode::kInvalidArgument, "body is not JSON") : from_json<Update>(body);
  if (!update) {
    count("malformed");
    return http::Response::error(400, "invalid_argument", "not an Update: " + update.error().message);
  }
  const std::int64_t id = update->update_id;
  if (!entry->seen->first_time(id)) {
    count("duplicate");
    return http::Response::json(200, nlohmann::json::object());
  }
  if (auto delivered = entry->target.deliver(std::move(*update)); !delivered) {
    count("overloaded");
    // Telegram retries a failed delivery; forget the id so the retry is not a "duplicate".
    entry->seen->forget(id);
    return http::Response::error(429, "limit_exceeded", delivered.error().message);
  }
  count("accepted");
  return http::Response::json(200, nlohmann::json::object());
}

}  // namespace ms::telegram
