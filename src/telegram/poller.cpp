#include "telegram/poller.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ms::telegram {

std::shared_ptr<LongPoller> LongPoller::create(BotClient& client, TimerQueue& timers, PollerOptions options, Sink sink,
                                               OnError on_error, std::shared_ptr<const void> anchor) {
  auto poller = std::shared_ptr<LongPoller>(
      new LongPoller(client, timers, std::move(options), std::move(sink), std::move(on_error)));
  poller->anchor_ = std::move(anchor);
  return poller;
}

LongPoller::LongPoller(BotClient& client, TimerQueue& timers, PollerOptions options, Sink sink, OnError on_error)
    : client_(client),
      timers_(timers),
      options_(std::move(options)),
      sink_(std::move(sink)),
      on_error_(std::move(on_error)),
      backoff_(options_.min_backoff) {}

void LongPoller::start() {
  if (started_.exchange(true)) return;
  running_ = true;
  poll();
}

void LongPoller::stop() { running_ = false; }

void LongPoller::poll() {
  if (!running_) return;
  GetUpdates request;
  if (offset_ != 0) request.offset = offset_.load();
  request.limit = options_.limit;
  request.timeout = options_.timeout_seconds;
  if (!options_.allowed_updates.empty()) request.allowed_updates = options_.allowed_updates;
  client_.call(request, [self = shared_from_this()](Reply<GetUpdates> reply) { self->on_reply(std::move(reply)); });
}

void LongPoller::on_reply(Reply<GetUpdates> reply) {
  if (!running_) return;
  if (!reply) {
    const TelegramError& err = reply.error();
    if (is_unauthorized(err)) {
      // Stopped before it is reported, so whoever hears of it sees a stopped poller.
      running_ = false;
      spdlog::error("bot {}: the token was revoked or is wrong; polling stopped", client_.bot_id());
      if (on_error_) on_error_(err);
      return;
    }
    if (on_error_) on_error_(err);
    if (is_rate_limited(err) && err.retry_after) return retry_in(std::chrono::seconds(*err.retry_after));
    if (is_conflict(err))
      spdlog::warn("bot {}: getUpdates conflict (a webhook is set or another process polls): {}", client_.bot_id(),
                   err.description);
    auto delay = backoff_;
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    return retry_in(delay);
  }
  backoff_ = options_.min_backoff;
  std::vector<Update> fresh;
  std::int64_t next_offset = offset_.load();
  for (auto& u : *reply) {
    next_offset = std::max(next_offset, u.update_id + 1);
    if (seen_.first_time(u.update_id)) fresh.push_back(std::move(u));
  }
  offset_ = next_offset;  // before the sink: whoever sees the updates sees them confirmed
  const std::size_t taken = fresh.empty() || !sink_ ? fresh.size() : std::min(sink_(fresh), fresh.size());
  if (taken < fresh.size()) {
    // Full: confirm only what was taken; the rest come again with the next poll.
    for (std::size_t i = taken; i < fresh.size(); ++i) seen_.forget(fresh[i].update_id);
    offset_ = fresh[taken].update_id;
    return retry_in(options_.full_pause);
  }
  poll();
}

void LongPoller::retry_in(std::chrono::milliseconds delay) {
  timers_.schedule(delay, [self = shared_from_this()] { self->poll(); });
}

}  // namespace ms::telegram
