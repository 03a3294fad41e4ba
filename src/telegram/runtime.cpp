#include "telegram/runtime.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "core/metrics.hpp"
#include "core/worker_pool.hpp"
#include "telegram/intake.hpp"
#include "telegram/outgoing_queue.hpp"

namespace ms::telegram {

std::string_view to_string(BotState state) {
  switch (state) {
    case BotState::kRunning: return "running";
    case BotState::kStopped: return "stopped";
    case BotState::kUnauthorized: return "unauthorized";
  }
  return "unknown";
}

void BotContext::send_raw(const ChatId& chat, Request request, Priority priority, std::function<void(RawReply)> done) {
  sender_.enqueue(key_, chat, std::move(request), priority, std::move(done));
}

std::unique_ptr<BotContext> BotRuntime::make_context(BotKey key, std::shared_ptr<BotClient> client,
                                                     BotContext::Sender& sender) {
  return std::unique_ptr<BotContext>(new BotContext(key, std::move(client), sender));
}

namespace {

struct Counters {
  prometheus::Family<prometheus::Counter>& updates =
      metrics::counter_family("telegram_runtime_updates_total", "Updates handled by the bot runtime, by outcome");
  prometheus::Family<prometheus::Counter>& sends =
      metrics::counter_family("telegram_runtime_sends_total", "Messages sent through the outgoing queue, by outcome");
  void update(const char* outcome) { updates.Add({{"outcome", outcome}}).Increment(); }
  void send(const char* outcome) { sends.Add({{"outcome", outcome}}).Increment(); }
};

Counters& counters() {
  static Counters c;
  return c;
}

// Where a message goes, as the rate limiter counts it. A "@channel" name has no id here:
// a stable negative key stands in for it.
std::pair<std::int64_t, ChatKind> target_of(const ChatId& chat) {
  if (const auto* id = std::get_if<std::int64_t>(&chat)) {
    return {*id, *id > 0 ? ChatKind::kPrivate : ChatKind::kGroup};
  }
  const auto h = static_cast<std::int64_t>(std::hash<std::string>()(std::get<std::string>(chat)) >> 2);
  return {-h - 1, ChatKind::kChannel};
}

// The ordering key of an update: its chat, or the person when there is no chat
// (pre-checkout queries), or one lane per bot for the rest.
std::string order_key(BotKey bot, const Update& update) {
  std::string key = std::to_string(bot) + ":";
  if (auto chat = update.chat_id()) return key + std::to_string(*chat);
  if (const User* from = update.sender()) return key + "u" + std::to_string(from->id);
  return key + "-";
}

}  // namespace

class BotRuntime::Impl : public BotContext::Sender, public std::enable_shared_from_this<Impl> {
 public:
  struct Entry {
    BotKey key = 0;
    Intake intake = Intake::kPolling;
    std::string secret;
    std::shared_ptr<UpdateHandler> handler;
    std::unique_ptr<BotContext> context;
    std::shared_ptr<LongPoller> poller;
    std::atomic<BotState> state{BotState::kRunning};
    std::atomic<std::uint64_t> updates{0}, handler_errors{0}, hung_handlers{0}, sent{0}, send_failures{0},
        rate_limited{0};
    mutable std::mutex error_mutex;
    std::string last_error;

    void set_error(std::string text) {
      std::lock_guard lock(error_mutex);
      last_error = std::move(text);
    }
  };

  struct Pending {
    Request request;
    std::function<void(RawReply)> done;
    int attempts = 0;
  };
  using Queue = OutgoingQueue<Pending>;

  Impl(http::HttpClient& http, TimerQueue& timers, std::string api_base_url, RuntimeOptions options,
       RuntimeEvents events, WebhookIntake* webhooks, const Clock& clock)
      : webhook_(webhooks ? *webhooks : own_webhook_),
        http_(http),
        timers_(timers),
        base_url_(std::move(api_base_url)),
        options_(std::move(options)),
        events_(std::move(events)),
        pool_(std::max(options_.handler_threads, 1), options_.max_pending_updates + 1024),
        executor_(pool_, options_.max_pending_updates),
        limiter_(clock, options_.limits),
        queue_(limiter_, Queue::Options{options_.interactive_capacity, options_.bulk_capacity, true}) {}

  void start() {
    sender_ = std::thread([this] { sender_loop(); });
    schedule_watchdog();
  }

  // ---- bots ----

  Result<std::shared_ptr<Entry>> make_entry(BotKey key, const std::string& token, Intake intake, std::string secret,
                                            std::shared_ptr<UpdateHandler> handler) {
    if (!handler) return fail(ErrorCode::kInvalidArgument, "bot " + std::to_string(key) + " has no update handler");
    auto client = std::make_shared<BotClient>(http_, base_url_, token);
    if (client->bot_id() == 0)
      return fail(ErrorCode::kInvalidArgument, "bot " + std::to_string(key) + ": malformed token");
    if (intake == Intake::kWebhook && secret.empty())
      return fail(ErrorCode::kInvalidArgument, "bot " + std::to_string(key) + ": a webhook needs a secret token");
    auto entry = std::make_shared<Entry>();
    entry->key = key;
    entry->intake = intake;
    entry->secret = std::move(secret);
    entry->handler = std::move(handler);
    entry->context = make_context(key, std::move(client), *this);
    return entry;
  }

  Result<void> add(BotSpec spec) {
    auto entry = make_entry(spec.key, spec.token, spec.intake, std::move(spec.webhook_secret), std::move(spec.handler));
    if (!entry) return tl::unexpected(entry.error());
    {
      std::unique_lock lock(bots_mutex_);
      if (stopping_) return fail(ErrorCode::kConflict, "the bot runtime is shutting down");
      if (!bots_.try_emplace(spec.key, *entry).second)
        return fail(ErrorCode::kAlreadyExists, "bot " + std::to_string(spec.key) + " is already running here");
    }
    start_intake(*entry);
    spdlog::info("bot {} added to the runtime ({})", spec.key,
                 (*entry)->intake == Intake::kPolling   ? "polling"
                 : (*entry)->intake == Intake::kWebhook ? "webhook"
                                                        : "manual");
    return ok();
  }

  Result<void> remove(BotKey key) {
    std::shared_ptr<Entry> entry;
    {
      std::unique_lock lock(bots_mutex_);
      auto it = bots_.find(key);
      if (it == bots_.end()) return fail(ErrorCode::kNotFound, "bot " + std::to_string(key) + " is not hosted here");
      entry = std::move(it->second);
      bots_.erase(it);
    }
    entry->state = BotState::kStopped;
    stop_intake(*entry);
    fail_all(queue_.drop_bot(key), local_error("the bot was removed"));
    limiter_.forget_bot(key);
    spdlog::info("bot {} removed from the runtime", key);
    return ok();
  }

  Result<void> restart(BotKey key, std::optional<std::string> token, std::shared_ptr<UpdateHandler> handler) {
    std::shared_ptr<Entry> old = find(key);
    if (!old) return fail(ErrorCode::kNotFound, "bot " + std::to_string(key) + " is not hosted here");
    auto fresh = make_entry(key, token ? *token : old->context->client().token(), old->intake, old->secret,
                            handler ? std::move(handler) : old->handler);
    if (!fresh) return tl::unexpected(fresh.error());
    old->state = BotState::kStopped;
    stop_intake(*old);
    {
      std::unique_lock lock(bots_mutex_);
      if (stopping_) return fail(ErrorCode::kConflict, "the bot runtime is shutting down");
      bots_[key] = *fresh;
    }
    start_intake(*fresh);
    wake_sender();  // messages queued meanwhile go out through the new client
    spdlog::info("bot {} restarted", key);
    return ok();
  }

  std::shared_ptr<Entry> find(BotKey key) const {
    std::shared_lock lock(bots_mutex_);
    auto it = bots_.find(key);
    return it == bots_.end() ? nullptr : it->second;
  }

  void start_intake(const std::shared_ptr<Entry>& entry) {
    std::weak_ptr<Impl> weak = weak_from_this();
    const BotKey key = entry->key;
    if (entry->intake == Intake::kPolling) {
      entry->poller = LongPoller::create(
          entry->context->client(), timers_, options_.poller,
          [weak, key](std::vector<Update>& updates) -> std::size_t {
            auto self = weak.lock();
            if (!self) return 0;
            for (std::size_t i = 0; i < updates.size(); ++i) {
              if (!self->deliver(key, std::move(updates[i]))) return i;
            }
            return updates.size();
          },
          [weak, key](const TelegramError& err) {
            if (auto self = weak.lock()) self->on_intake_error(key, err);
          },
          entry->context->shared_client());  // a poll in flight outlives a removed entry
      entry->poller->start();
    } else if (entry->intake == Intake::kWebhook) {
      webhook_.set(std::to_string(key), WebhookTarget{entry->secret, [weak, key](Update update) -> Result<void> {
                                                        auto self = weak.lock();
                                                        if (!self)
                                                          return fail(ErrorCode::kUnavailable, "runtime stopped");
                                                        return self->deliver(key, std::move(update));
                                                      }});
    }
  }

  void stop_intake(Entry& entry) {
    if (entry.poller) entry.poller->stop();
    if (entry.intake == Intake::kWebhook) webhook_.remove(std::to_string(entry.key));
  }

  void on_intake_error(BotKey key, const TelegramError& err) {
    auto entry = find(key);
    if (!entry) return;
    entry->set_error(err.to_string());
    if (is_unauthorized(err)) return mark_unauthorized(entry, err);
    if (events_.on_intake_error) events_.on_intake_error(key, err);
  }

  void mark_unauthorized(const std::shared_ptr<Entry>& entry, const TelegramError& err) {
    BotState expected = BotState::kRunning;
    if (!entry->state.compare_exchange_strong(expected, BotState::kUnauthorized)) return;
    entry->set_error(err.to_string());
    stop_intake(*entry);
    fail_all(queue_.drop_bot(entry->key), err);
    spdlog::error("bot {}: Telegram refused its token ({}); the bot is stopped, the others carry on", entry->key,
                  err.to_string());
    if (events_.on_unauthorized) events_.on_unauthorized(entry->key, err);
  }

  // ---- updates ----

  Result<void> deliver(BotKey key, Update update) {
    auto entry = find(key);
    if (!entry) return fail(ErrorCode::kNotFound, "bot " + std::to_string(key) + " is not hosted here");
    if (entry->state != BotState::kRunning)
      return fail(ErrorCode::kConflict,
                  "bot " + std::to_string(key) + " is " + std::string(to_string(entry->state.load())));
    const std::string order = order_key(key, update);
    auto submitted = executor_.submit(order, [this, key, update = std::move(update)] { run_handler(key, update); });
    if (!submitted) counters().update("refused");
    return submitted;
  }

  void run_handler(BotKey key, const Update& update) {
    auto entry = find(key);  // the current handler: after a restart, queued updates go to the new one
    if (!entry || entry->state != BotState::kRunning) {
      counters().update("dropped");
      return;
    }
    ++entry->updates;
    try {
      entry->handler->handle(*entry->context, update);
      counters().update("handled");
    } catch (const std::exception& e) {
      ++entry->handler_errors;
      entry->set_error(std::string("handler failed: ") + e.what());
      counters().update("threw");
      spdlog::error("bot {}: update {} handler threw: {}", key, update.update_id, e.what());
    } catch (...) {
      ++entry->handler_errors;
      entry->set_error("handler failed");
      counters().update("threw");
      spdlog::error("bot {}: update {} handler threw", key, update.update_id);
    }
  }

  void schedule_watchdog() {
    const auto every = std::clamp<std::chrono::milliseconds>(options_.hang_after / 4, std::chrono::milliseconds(10),
                                                             std::chrono::milliseconds(1000));
    std::weak_ptr<Impl> weak = weak_from_this();
    timers_.schedule(every, [weak] {
      auto self = weak.lock();
      if (!self || self->stopping_) return;
      self->release_hung();
      self->schedule_watchdog();
    });
  }

  void release_hung() {
    const auto keys = executor_.release_hung(options_.hang_after);
    if (keys.empty()) return;
    for (const auto& order : keys) {
      const BotKey key = std::stoll(order.substr(0, order.find(':')));
      spdlog::error("bot {}: an update handler for chat {} has run for over {} ms; its chat goes on without it", key,
                    order.substr(order.find(':') + 1), options_.hang_after.count());
      counters().update("hung");
      if (auto entry = find(key)) {
        ++entry->hung_handlers;
        entry->set_error("an update handler hung");
      }
    }
    // Each hung handler holds a thread: replace it, within bounds.
    const int room = options_.max_replacement_threads - replaced_threads_;
    const int add = std::min<int>(room, static_cast<int>(keys.size()));
    if (add > 0) {
      replaced_threads_ += add;
      pool_.add_threads(add);
    } else {
      spdlog::critical("bot runtime: {} hung handlers and no replacement threads left", executor_.hung());
    }
  }

  // ---- outgoing ----

  void enqueue(BotKey key, const ChatId& chat, Request request, Priority priority,
               std::function<void(RawReply)> done) override {
    auto entry = find(key);
    if (!entry || entry->state != BotState::kRunning || stopping_) {
      if (done) done(tl::unexpected(local_error("bot " + std::to_string(key) + " is not running")));
      return;
    }
    auto [chat_key, kind] = target_of(chat);
    Queue::Item item{key, chat_key, kind, priority, Pending{std::move(request), std::move(done), 0}};
    auto pushed = queue_.push(std::move(item));
    if (!pushed) {
      counters().send("queue_full");
      finish(item.payload, tl::unexpected(local_error(pushed.error().message)));  // push() left it with us
      return;
    }
    wake_sender();
  }

  void wake_sender() {
    {
      std::lock_guard lock(send_mutex_);
      wake_ = true;
    }
    send_cv_.notify_one();
  }

  void sender_loop() {
    std::unique_lock lock(send_mutex_);
    while (!sender_stop_) {
      if (in_flight_ >= options_.max_sends_in_flight) {
        send_cv_.wait(lock, [this] { return sender_stop_ || in_flight_ < options_.max_sends_in_flight; });
        continue;
      }
      wake_ = false;
      lock.unlock();
      auto next = queue_.next();
      if (next.item) {
        dispatch(std::move(*next.item));
        lock.lock();
        continue;
      }
      lock.lock();
      auto woken = [this] { return sender_stop_ || wake_; };
      if (next.retry_at) {
        send_cv_.wait_until(lock, *next.retry_at, woken);
      } else {
        send_cv_.wait(lock, woken);
      }
    }
  }

  void dispatch(Queue::Item item) {
    auto entry = find(item.bot);
    if (!entry || entry->state != BotState::kRunning) {
      queue_.release(item.bot, item.chat);
      finish(item.payload, tl::unexpected(local_error("bot " + std::to_string(item.bot) + " is not running")));
      return;
    }
    {
      std::lock_guard lock(send_mutex_);
      ++in_flight_;
    }
    Request request = item.payload.request;  // kept for a retry after a 429
    entry->context->client().call_raw(std::move(request),
                                      [self = shared_from_this(), item = std::move(item)](RawReply reply) mutable {
                                        self->on_sent(std::move(item), std::move(reply));
                                      });
  }

  void on_sent(Queue::Item item, RawReply reply) {
    // The sender is woken only after the chat was released or the item put back, on every
    // path out of here; otherwise it could look, find the chat still busy, and sleep.
    struct WakeOnExit {
      Impl& self;
      ~WakeOnExit() {
        {
          std::lock_guard lock(self.send_mutex_);
          --self.in_flight_;
          self.wake_ = true;
        }
        self.send_cv_.notify_one();
      }
    } wake_on_exit{*this};
    auto entry = find(item.bot);
    if (reply) {
      queue_.release(item.bot, item.chat);
      if (entry) ++entry->sent;
      counters().send("sent");
      finish(item.payload, std::move(reply));
      return;
    }
    const TelegramError err = reply.error();
    const bool can_retry = entry && entry->state == BotState::kRunning && !stopping_ &&
                           item.payload.attempts + 1 < options_.max_send_attempts;
    if (is_rate_limited(err)) {
      counters().send("rate_limited");
      if (entry) ++entry->rate_limited;
      // Telegram does not say which limit: a group's own, or the bot's for private chats.
      const std::optional<std::int64_t> chat =
          item.kind == ChatKind::kPrivate ? std::nullopt : std::optional<std::int64_t>(item.chat);
      limiter_.on_retry_after(item.bot, chat, err.retry_after.value_or(1));
      if (can_retry) return retry(std::move(item));
    } else if (is_unreachable_user(err)) {
      counters().send("blocked");
      fail_all(queue_.drop_chat(item.bot, item.chat), err);
      if (events_.on_blocked) events_.on_blocked(item.bot, item.chat, err);
    } else if (is_unauthorized(err)) {
      if (entry) mark_unauthorized(entry, err);
    } else if (err.error_code >= 500 && can_retry) {
      limiter_.on_retry_after(item.bot, item.chat, 1);  // back off this chat for a second
      return retry(std::move(item));
    }
    queue_.release(item.bot, item.chat);
    counters().send("failed");
    if (entry) {
      ++entry->send_failures;
      entry->set_error(err.to_string());
    }
    finish(item.payload, tl::unexpected(err));
  }

  void retry(Queue::Item item) {
    ++item.payload.attempts;
    const auto bot = item.bot;
    const auto chat = item.chat;
    queue_.push_front(std::move(item));  // back in front before the chat is free again: order holds
    queue_.release(bot, chat);
    wake_sender();
  }

  static void finish(Pending& pending, RawReply reply) {
    if (!pending.done) return;
    try {
      pending.done(std::move(reply));
    } catch (const std::exception& e) {
      spdlog::error("a send callback threw: {}", e.what());
    }
  }

  static void fail_all(std::vector<Queue::Item> items, const TelegramError& err) {
    for (auto& item : items) finish(item.payload, tl::unexpected(err));
  }

  // ---- status ----

  static BotStatus status_of(const Entry& e) {
    BotStatus s;
    s.key = e.key;
    s.telegram_id = e.context->telegram_id();
    s.state = e.state;
    s.intake = e.intake;
    s.updates = e.updates;
    s.handler_errors = e.handler_errors;
    s.hung_handlers = e.hung_handlers;
    s.sent = e.sent;
    s.send_failures = e.send_failures;
    s.rate_limited = e.rate_limited;
    std::lock_guard lock(e.error_mutex);
    s.last_error = e.last_error;
    return s;
  }

  std::vector<BotStatus> list() const {
    std::vector<BotStatus> out;
    std::shared_lock lock(bots_mutex_);
    out.reserve(bots_.size());
    for (const auto& [key, entry] : bots_) out.push_back(status_of(*entry));
    return out;
  }

  RuntimeStats stats() const {
    RuntimeStats s;
    {
      std::shared_lock lock(bots_mutex_);
      s.bots = bots_.size();
    }
    s.pending_updates = executor_.pending();
    s.hung_handlers = executor_.hung();
    s.queued_messages = queue_.size();
    {
      std::lock_guard lock(send_mutex_);
      s.sends_in_flight = in_flight_;
    }
    s.worker_threads = pool_.thread_count();
    return s;
  }

  void shutdown() {
    std::unordered_map<BotKey, std::shared_ptr<Entry>> bots;
    {
      std::unique_lock lock(bots_mutex_);
      if (stopping_) return;
      stopping_ = true;
      bots.swap(bots_);
    }
    for (auto& [key, entry] : bots) {
      entry->state = BotState::kStopped;
      stop_intake(*entry);
    }
    {
      std::lock_guard lock(send_mutex_);
      sender_stop_ = true;
    }
    send_cv_.notify_all();
    if (sender_.joinable()) sender_.join();
    for (auto& [key, entry] : bots) fail_all(queue_.drop_bot(key), local_error("the bot runtime stopped"));
    pool_.shutdown();  // runs what is queued (those updates find their bot stopped) and waits
  }

  WebhookIntake own_webhook_;
  WebhookIntake& webhook_;

 private:
  http::HttpClient& http_;
  TimerQueue& timers_;
  const std::string base_url_;
  const RuntimeOptions options_;
  const RuntimeEvents events_;

  mutable std::shared_mutex bots_mutex_;
  std::unordered_map<BotKey, std::shared_ptr<Entry>> bots_;
  std::atomic<bool> stopping_{false};

  WorkerPool pool_;
  ChatOrderedExecutor executor_;
  int replaced_threads_ = 0;  // only the watchdog (one timer at a time) touches it

  RateLimiter limiter_;
  Queue queue_;
  mutable std::mutex send_mutex_;
  std::condition_variable send_cv_;
  bool wake_ = false;
  bool sender_stop_ = false;
  std::size_t in_flight_ = 0;
  std::thread sender_;
};

BotRuntime::BotRuntime(http::HttpClient& http, TimerQueue& timers, std::string api_base_url, RuntimeOptions options,
                       RuntimeEvents events, WebhookIntake* webhooks, const Clock& clock)
    : impl_(std::make_shared<Impl>(http, timers, std::move(api_base_url), std::move(options), std::move(events),
                                   webhooks, clock)) {
  impl_->start();
}

BotRuntime::~BotRuntime() { impl_->shutdown(); }

Result<void> BotRuntime::add(BotSpec spec) { return impl_->add(std::move(spec)); }
Result<void> BotRuntime::remove(BotKey key) { return impl_->remove(key); }
Result<void> BotRuntime::restart(BotKey key, std::optional<std::string> token, std::shared_ptr<UpdateHandler> handler) {
  return impl_->restart(key, std::move(token), std::move(handler));
}
Result<void> BotRuntime::deliver(BotKey key, Update update) { return impl_->deliver(key, std::move(update)); }

std::optional<BotStatus> BotRuntime::status(BotKey key) const {
  auto entry = impl_->find(key);
  if (!entry) return std::nullopt;
  return Impl::status_of(*entry);
}

std::shared_ptr<BotContext> BotRuntime::context(BotKey key) const {
  auto entry = impl_->find(key);
  if (!entry) return nullptr;
  return std::shared_ptr<BotContext>(entry, entry->context.get());  // keeps the entry alive
}

std::vector<BotStatus> BotRuntime::list() const { return impl_->list(); }
RuntimeStats BotRuntime::stats() const { return impl_->stats(); }
void BotRuntime::add_webhook_routes(http::Router& router) { impl_->webhook_.add_routes(router); }
void BotRuntime::shutdown() { impl_->shutdown(); }

}  // namespace ms::telegram
