// BotRuntime: one process hosting the master bot and thousands of shop bots.
//
// Each bot has a BotClient, an intake (a LongPoller, a webhook registration, or none when
// updates are handed in with deliver()), and an UpdateHandler. Updates go to one shared
// ChatOrderedExecutor, keyed "bot:chat": one chat's updates in order, chats and bots in
// parallel on a shared worker pool, bounded with backpressure (a full executor makes the
// poller re-read later and the webhook answer 429, so Telegram retries).
//
// A handler that throws is logged and counted; its bot goes on. A handler that hangs is
// released after `hang_after`: its chat goes on without it and a replacement thread joins
// the pool (up to `max_replacement_threads`), so a stuck bot never stops the others.
//
// Messages (send*, copy, forward, invoices) go through one OutgoingQueue and RateLimiter
// shared by all bots: Telegram's per-bot, per-chat and per-group limits, replies before
// broadcasts, a 429's retry_after obeyed (the item goes back to the front of its chat), a
// 403 from a person who blocked the bot drops that chat's waiting items and is reported,
// and a 401 marks the bot unauthorized: intake stops, its queue is failed, the owner is told
// through RuntimeEvents, and every other bot carries on. Other calls (edits, answers,
// getChatMember, ...) go straight to Telegram through BotContext::client().
//
// Bots are added, removed and restarted (also with a new token) while everything runs.
//
// Threads: every public method is thread-safe. Handlers run on the runtime's workers; the
// send callbacks and RuntimeEvents run on the HTTP client's thread and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/timer_queue.hpp"
#include "http/client.hpp"
#include "http/router.hpp"
#include "telegram/bot_client.hpp"
#include "telegram/intake.hpp"
#include "telegram/poller.hpp"
#include "telegram/rate_limiter.hpp"

namespace ms::telegram {

// A bot's key in the runtime: its instance id (the master bot uses its own).
using BotKey = std::int64_t;

class BotContext;

// What a bot does with its updates: runs on a worker, one update of a chat at a time.
class UpdateHandler {
 public:
  virtual ~UpdateHandler() = default;
  virtual void handle(BotContext& bot, const Update& update) = 0;
};

enum class Intake {
  kPolling,  // getUpdates in a loop
  kWebhook,  // POST /telegram/<key> (setWebhook is the deployer's job)
  kManual,   // only deliver(): tests, or an intake of the caller's own
};
enum class BotState { kRunning, kStopped, kUnauthorized };
std::string_view to_string(BotState state);

struct BotSpec {
  BotKey key = 0;
  std::string token;
  Intake intake = Intake::kPolling;
  std::string webhook_secret;  // Intake::kWebhook: the secret_token given to setWebhook
  std::shared_ptr<UpdateHandler> handler;
};

struct BotStatus {
  BotKey key = 0;
  std::int64_t telegram_id = 0;  // the digits before the token's colon
  BotState state = BotState::kStopped;
  Intake intake = Intake::kPolling;
  std::uint64_t updates = 0;         // handed to the handler
  std::uint64_t handler_errors = 0;  // handlers that threw
  std::uint64_t hung_handlers = 0;   // handlers released after hang_after
  std::uint64_t sent = 0;            // messages Telegram accepted
  std::uint64_t send_failures = 0;   // messages given up on
  std::uint64_t rate_limited = 0;    // 429 answers received
  std::string last_error;
};

struct RuntimeOptions {
  int handler_threads = 8;
  std::size_t max_pending_updates = 50'000;
  std::chrono::milliseconds hang_after{30'000};
  int max_replacement_threads = 64;
  RateLimits limits;
  std::size_t interactive_capacity = 20'000;
  std::size_t bulk_capacity = 200'000;
  std::size_t max_sends_in_flight = 256;
  int max_send_attempts = 5;  // per message, over 429s and 5xx answers
  PollerOptions poller;
};

// How the runtime tells its owner (the app) about what needs action outside it.
struct RuntimeEvents {
  // The token was revoked or is wrong: mark the instance and tell its owner.
  std::function<void(BotKey, const TelegramError&)> on_unauthorized;
  // A person blocked the bot (or can no longer be written to): mark them, skip them later.
  std::function<void(BotKey, std::int64_t chat, const TelegramError&)> on_blocked;
  // Intake trouble worth showing (409 conflict, repeated transport failures).
  std::function<void(BotKey, const TelegramError&)> on_intake_error;
};

struct RuntimeStats {
  std::size_t bots = 0;
  std::size_t pending_updates = 0;
  std::size_t hung_handlers = 0;
  std::size_t queued_messages = 0;
  std::size_t sends_in_flight = 0;
  std::size_t worker_threads = 0;
};

// The handler's view of its bot.
class BotContext {
 public:
  BotKey key() const { return key_; }
  std::int64_t telegram_id() const { return client_->bot_id(); }
  // For calls that are not messages: straight to Telegram, not rate limited.
  BotClient& client() { return *client_; }
  std::shared_ptr<BotClient> shared_client() const { return client_; }

  // Queues a message method (one with a chat_id) under the rate limits. `done`, when
  // given, gets Telegram's answer (or the reason it was given up) on the HTTP thread.
  template <class M>
  void send(const M& method, Priority priority = Priority::kInteractive, std::function<void(Reply<M>)> done = {}) {
    auto request = make_request(method);
    if (!request) {
      if (done) done(tl::unexpected(std::move(request.error())));
      return;
    }
    send_raw(method.chat_id, std::move(*request), priority, [done = std::move(done)](RawReply raw) {
      if (done) done(parse_reply<M>(std::move(raw)));
    });
  }
  // Blocks the calling handler until Telegram answered; never call it on the HTTP thread.
  template <class M>
  Reply<M> send_sync(const M& method, Priority priority = Priority::kInteractive) {
    auto done = std::make_shared<std::promise<Reply<M>>>();
    auto future = done->get_future();
    send(method, priority, [done](Reply<M> r) { done->set_value(std::move(r)); });
    return future.get();
  }
  void send_raw(const ChatId& chat, Request request, Priority priority, std::function<void(RawReply)> done);

  // Where send_raw() goes: the runtime's outgoing queue.
  struct Sender {
    virtual ~Sender() = default;
    virtual void enqueue(BotKey key, const ChatId& chat, Request request, Priority priority,
                         std::function<void(RawReply)> done) = 0;
  };

 private:
  friend class BotRuntime;
  BotContext(BotKey key, std::shared_ptr<BotClient> client, Sender& sender)
      : key_(key), client_(std::move(client)), sender_(sender) {}

  BotKey key_;
  std::shared_ptr<BotClient> client_;
  Sender& sender_;
};

class BotRuntime {
 public:
  // `http` and `timers` must outlive the runtime. `api_base_url` as for BotClient.
  // `webhooks`: an intake whose routes the server already has (the HTTP server starts
  // before the runtime); without one the runtime keeps its own (add_webhook_routes()).
  BotRuntime(http::HttpClient& http, TimerQueue& timers, std::string api_base_url, RuntimeOptions options = {},
             RuntimeEvents events = {}, WebhookIntake* webhooks = nullptr,
             const Clock& clock = SystemClock::instance());
  // Stops every bot, fails what is still queued, waits for running handlers.
  ~BotRuntime();
  BotRuntime(const BotRuntime&) = delete;
  BotRuntime& operator=(const BotRuntime&) = delete;

  // Starts a bot. kAlreadyExists for a key already hosted, kInvalidArgument for a spec
  // without a handler or with a malformed token, kConflict after shutdown().
  Result<void> add(BotSpec spec);
  // Stops a bot and forgets it: intake stops, queued messages fail, running handlers finish.
  Result<void> remove(BotKey key);
  // Stops and starts a bot again, with a new token and handler when given (a re-deploy).
  Result<void> restart(BotKey key, std::optional<std::string> token = std::nullopt,
                       std::shared_ptr<UpdateHandler> handler = nullptr);
  // Hands an update to a bot as if its intake had read it. kNotFound, kConflict
  // for a bot that is not running, kLimitExceeded when the update queue is full.
  Result<void> deliver(BotKey key, Update update);

  // A running bot's context, for work that is not an answer to an update (a flow timeout
  // sweep, a broadcast started from the web panel); nullptr when the bot is not here.
  std::shared_ptr<BotContext> context(BotKey key) const;

  std::optional<BotStatus> status(BotKey key) const;
  std::vector<BotStatus> list() const;
  RuntimeStats stats() const;

  // Registers POST /telegram/{instance} for the bots with Intake::kWebhook (the runtime's
  // own intake, when none was given).
  void add_webhook_routes(http::Router& router);

  // Stops every bot and the sender; idempotent.
  void shutdown();

 private:
  class Impl;
  static std::unique_ptr<BotContext> make_context(BotKey key, std::shared_ptr<BotClient> client,
                                                  BotContext::Sender& sender);
  std::shared_ptr<Impl> impl_;
};

}  // namespace ms::telegram
