// LongPoller: getUpdates in a loop for one bot. Each answer's last update_id + 1 becomes the
// next offset, which confirms the batch to Telegram; updates go to the sink in order before
// the next poll starts. Failures are values handed to `on_error`, and the loop decides:
//   401             the token was revoked: report and stop for good;
//   409             a webhook is set or another process polls: report plainly, retry later;
//   429             wait retry_after, then go on;
//   transport/5xx   back off (doubling, capped) and retry.
// No thread per bot: polls run on the HTTP client's thread, waits on a shared TimerQueue.
// Backpressure: the sink answers how many updates it took; the rest are not confirmed, so
// the next poll (after `full_pause`) reads them again.
//
// Threads: start()/stop() from any thread. The sink and on_error run on the HTTP client's
// thread and must not block (hand updates to a ChatOrderedExecutor). The BotClient and
// TimerQueue must outlive the poller; keep it in a shared_ptr (create()).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/timer_queue.hpp"
#include "telegram/bot_client.hpp"
#include "telegram/intake.hpp"

namespace ms::telegram {

struct PollerOptions {
  int timeout_seconds = 25;  // long-poll time Telegram holds the request
  int limit = 100;
  std::vector<std::string> allowed_updates;  // empty: Telegram's default
  std::chrono::milliseconds min_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds full_pause{200};  // wait after the sink refused updates
};

class LongPoller : public std::enable_shared_from_this<LongPoller> {
 public:
  // Takes updates in order and answers how many of the first ones it accepted.
  using Sink = std::function<std::size_t(std::vector<Update>&)>;
  using OnError = std::function<void(const TelegramError&)>;

  // `anchor`, when given, is held as long as the poller lives (e.g. the owner of `client`).
  static std::shared_ptr<LongPoller> create(BotClient& client, TimerQueue& timers, PollerOptions options, Sink sink,
                                            OnError on_error, std::shared_ptr<const void> anchor = nullptr);

  // Starts polling (once; later calls do nothing).
  void start();
  // Stops after the poll in flight returns; no update is handed over after stop() returns
  // from the sink's point of view only once that poll has come back.
  void stop();
  bool running() const { return running_.load(); }
  // The next offset: every update below it has been handed to the sink.
  std::int64_t offset() const { return offset_.load(); }

 private:
  LongPoller(BotClient& client, TimerQueue& timers, PollerOptions options, Sink sink, OnError on_error);
  void poll();
  void on_reply(Reply<GetUpdates> reply);
  void retry_in(std::chrono::milliseconds delay);

  std::shared_ptr<const void> anchor_;
  BotClient& client_;
  TimerQueue& timers_;
  PollerOptions options_;
  Sink sink_;
  OnError on_error_;
  UpdateDeduper seen_;
  std::atomic<bool> running_{false};
  std::atomic<bool> started_{false};
  std::atomic<std::int64_t> offset_{0};
  std::chrono::milliseconds backoff_;
};

}  // namespace ms::telegram
