#include "telegram/intake.hpp"

#include <spdlog/spdlog.h>

#include <deque>

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
  std::mutex mutex;
  std::map<std::string, std::deque<std::function<void()>>> queues;  // a key present = draining
  std::size_t pending = 0;
  std::size_t max_pending = 0;
};

ChatOrderedExecutor::ChatOrderedExecutor(WorkerPool& pool, std::size_t max_pending)
    : pool_(pool), state_(std::make_shared<State>()) {
  state_->max_pending = max_pending == 0 ? 1 : max_pending;
}

ChatOrderedExecutor::~ChatOrderedExecutor() = default;

Result<void> ChatOrderedExecutor::submit(const std::string& key, std::function<void()> task) {
  bool start = false;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->pending >= state_->max_pending)
      return fail(ErrorCode::kLimitExceeded,
                  "update queue is full: " + std::to_string(state_->pending) + " updates waiting");
    auto [it, inserted] = state_->queues.try_emplace(key);
    it->second.push_back(std::move(task));
    ++state_->pending;
    start = inserted;  // no drain running for this key yet
  }
  if (start) {
    auto posted = pool_.post([state = state_, pool = &pool_, key] { drain(state, *pool, key); });
    if (!posted) {
      std::lock_guard lock(state_->mutex);
      state_->pending -= state_->queues[key].size();
      state_->queues.erase(key);
      return posted;
    }
  }
  return ok();
}

void ChatOrderedExecutor::drain(const std::shared_ptr<State>& state_, WorkerPool& pool_, const std::string& key) {
  // One task per turn, then back to the pool: a busy chat cannot starve the others.
  std::function<void()> task;
  {
    std::lock_guard lock(state_->mutex);
    auto it = state_->queues.find(key);
    if (it == state_->queues.end() || it->second.empty()) return;
    task = std::move(it->second.front());
    it->second.pop_front();
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
    if (it != state_->queues.end()) {
      if (it->second.empty())
        state_->queues.erase(it);
      else
        more = true;
    }
  }
  if (more && !pool_.post([state = state_, pool = &pool_, key] { drain(state, *pool, key); })) {
    // The pool is shutting down: run what is left here rather than lose it.
    drain(state_, pool_, key);
  }
}

std::size_t ChatOrderedExecutor::pending() const {
  std::lock_guard lock(state_->mutex);
  return state_->pending;
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
