// Broadcaster::run(): the sending loop. Recipients are read in pages (pending only, by user
// id) and handed to the runtime a window at a time; the runtime's answers arrive on the HTTP
// thread and are only queued there, and this thread writes them to the database in one
// transaction per batch, guarded by `status = 'pending'` so nothing is counted twice.
#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "bots/shop/broadcast.hpp"
#include "bots/shop/broadcast_internal.hpp"
#include "bots/shop/notices.hpp"
#include "telegram/keyboard.hpp"

namespace ms::shop {

using namespace broadcast_internal;

struct Broadcaster::Run {
  // kUnknown: Telegram or the network failed (an attempt); kNotSent: the bot itself cannot
  // send now (401), the run stops and the recipient stays as it was.
  enum class Kind { kSent, kFailed, kBlocked, kUnknown, kNotSent };
  struct Outcome {
    std::int64_t user_id = 0;
    Kind kind = Kind::kSent;
    std::string error;
  };

  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Outcome> outcomes;
  std::size_t in_flight = 0;
  bool stop = false;  // the Broadcaster is going away
  bool halt = false;  // the bot's token stopped working: nothing more can be sent
  bool poke = false;  // pause or cancel asked: reread the row

  void push(Outcome o) {
    std::lock_guard lock(mutex);
    halt = halt || o.kind == Kind::kNotSent;
    outcomes.push_back(std::move(o));
    --in_flight;
    cv.notify_all();
  }
};

namespace {

using Run = Broadcaster::Run;

Run::Outcome outcome_for(std::int64_t user_id, const telegram::TelegramError& error) {
  Run::Outcome o{user_id, Run::Kind::kFailed, error.to_string()};
  if (telegram::is_unauthorized(error)) {
    o.kind = Run::Kind::kNotSent;  // not this person's fault: pending, no attempt counted
  } else if (outcome_of(error) == SendOutcome::kBlocked) {
    o.kind = Run::Kind::kBlocked;
  } else if (outcome_of(error) == SendOutcome::kRetryLater) {
    o.kind = Run::Kind::kUnknown;
  }
  return o;
}

template <class M>
void send_one(telegram::BotContext& bot, const M& method, std::shared_ptr<Run> run, std::int64_t user_id) {
  bot.send(method, telegram::Priority::kBulk, std::function<void(telegram::Reply<M>)>([run, user_id](auto reply) {
             run->push(reply ? Run::Outcome{user_id, Run::Kind::kSent, {}} : outcome_for(user_id, reply.error()));
           }));
}

void send_content(telegram::BotContext& bot, const BroadcastContent& c, std::int64_t chat, std::shared_ptr<Run> run,
                  std::int64_t user_id) {
  switch (c.kind) {
    case BroadcastContent::Kind::kText: {
      telegram::SendMessage m;
      m.chat_id = chat;
      m.text = c.text;
      return send_one(bot, m, std::move(run), user_id);
    }
    case BroadcastContent::Kind::kPhoto: {
      telegram::SendPhoto m;
      m.chat_id = chat;
      m.photo = telegram::InputFile::from_reference(c.photo_file_id);
      if (!c.text.empty()) m.caption = c.text;
      return send_one(bot, m, std::move(run), user_id);
    }
    case BroadcastContent::Kind::kForward: {
      telegram::ForwardMessage m;
      m.chat_id = chat;
      m.from_chat_id = c.from_chat_id;
      m.message_id = c.from_message_id;
      return send_one(bot, m, std::move(run), user_id);
    }
  }
}

}  // namespace

Broadcaster::~Broadcaster() { close(); }

void Broadcaster::close() {
  std::unique_lock lock(mutex_);
  closing_ = true;
  for (auto& [id, run] : runs_) {
    std::lock_guard run_lock(run->mutex);
    run->stop = true;
    run->cv.notify_all();
  }
  idle_.wait(lock, [&] { return runs_.empty(); });
}

void Broadcaster::wake(std::int64_t id) {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(id);
  if (it == runs_.end()) return;
  std::lock_guard run_lock(it->second->mutex);
  it->second->poke = true;
  it->second->cv.notify_all();
}

Result<BroadcastStatus> Broadcaster::run(std::int64_t id, std::shared_ptr<telegram::BotContext> bot) {
  if (!bot) return fail(ErrorCode::kUnavailable, "broadcast: the bot is not running");
  auto run = std::make_shared<Run>();
  {
    std::lock_guard lock(mutex_);
    if (closing_) return fail(ErrorCode::kUnavailable, "broadcast: shutting down");
    if (!runs_.emplace(id, run).second) {
      return fail(ErrorCode::kConflict, "broadcast " + std::to_string(id) + " is already running");
    }
  }
  struct Unregister {
    Broadcaster& self;
    std::int64_t id;
    ~Unregister() {
      std::lock_guard lock(self.mutex_);
      self.runs_.erase(id);
      self.idle_.notify_all();
    }
  } unregister{*this, id};

  const std::int64_t started = clock_.unix_seconds();
  auto begun = db_.transaction([&](Session& s) -> Result<Stored> {
    auto stored = load(s, id);
    if (!stored) return stored;
    const auto st = stored->status.state;
    if (st != BroadcastState::kQueued && st != BroadcastState::kRunning) return stored;
    auto set =
        s.exec("UPDATE broadcasts SET status = 'running', started_at = COALESCE(started_at, :now) WHERE id = :id",
               {{"now", started}, {"id", id}});
    if (!set) return fail(std::move(set.error()));
    stored->status.state = BroadcastState::kRunning;
    return stored;
  });
  if (!begun) return fail(std::move(begun.error()));
  Stored stored = std::move(*begun);
  if (stored.status.state != BroadcastState::kRunning) return stored.status;

  const std::int64_t admin_chat = stored.filter.value("admin_chat_id", std::int64_t{0});
  const i18n::Lang lang = i18n::parse_lang(stored.filter.value("lang", std::string("fa"))).value_or(i18n::Lang::kFa);
  std::int64_t report_id = stored.filter.value("report_message_id", std::int64_t{0});
  BroadcastStatus status = stored.status;
  const auto run_start = clock_.steady_now();
  const std::int64_t done_at_start = status.sent + status.failed + status.blocked;

  auto progress_text = [&] {
    const std::int64_t done = status.sent + status.failed + status.blocked;
    const double fraction = status.total > 0 ? static_cast<double>(done) / static_cast<double>(status.total) : 1.0;
    const double remaining = static_cast<double>(std::max<std::int64_t>(status.total - done, 0));
    const double seconds = std::chrono::duration<double>(clock_.steady_now() - run_start).count();
    status.rate = seconds > 0.5 ? static_cast<double>(done - done_at_start) / seconds : 0;
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f", status.rate);
    const std::string eta = status.rate > 0 && remaining > 0 ? duration_text(remaining / status.rate) : "—";
    i18n::Args args{{"id", local_digits(std::to_string(id), lang)},
                    {"state", catalog_.render(lang, "shop.broadcast.state." + std::string(to_string(status.state)))},
                    {"bar", telegram::progress_bar(fraction)},
                    {"done", local_digits(std::to_string(done), lang)},
                    {"total", local_digits(std::to_string(status.total), lang)},
                    {"percent", local_digits(std::to_string(static_cast<int>(fraction * 100)), lang)},
                    {"sent", local_digits(std::to_string(status.sent), lang)},
                    {"failed", local_digits(std::to_string(status.failed), lang)},
                    {"blocked", local_digits(std::to_string(status.blocked), lang)},
                    {"rate", local_digits(rate, lang)},
                    {"eta", local_digits(eta, lang)}};
    return catalog_.render(lang, "shop.broadcast.progress", args);
  };
  auto keyboard = [&]() -> std::optional<telegram::InlineKeyboardMarkup> {
    return options_.keyboard ? options_.keyboard(status, lang) : std::nullopt;
  };
  std::string last_report;
  bool reporting = admin_chat != 0;
  auto report = [&] {
    if (!reporting) return;
    std::string text = progress_text();
    if (text == last_report) return;
    if (report_id == 0) {
      telegram::SendMessage m;
      m.chat_id = admin_chat;
      m.text = text;
      if (auto kb = keyboard()) m.reply_markup = telegram::ReplyMarkup(*kb);
      auto sent = bot->send_sync(m, telegram::Priority::kInteractive);
      if (!sent) {
        // The owner's chat is not reachable; the broadcast goes on without a progress message.
        spdlog::warn("broadcast {}: progress message not sent: {}", id, sent.error().to_string());
        reporting = false;
        return;
      }
      report_id = sent->message_id;
      stored.filter["report_message_id"] = report_id;
      auto saved = db_.with_session([&](Session& s) {
        return s.exec("UPDATE broadcasts SET filter = :f WHERE id = :id", {{"f", stored.filter.dump()}, {"id", id}});
      });
      if (!saved) spdlog::warn("broadcast {}: progress message id not kept: {}", id, saved.error().to_string());
    } else {
      telegram::EditMessageText edit;
      edit.chat_id = admin_chat;
      edit.message_id = report_id;
      edit.text = text;
      edit.reply_markup = keyboard();
      auto edited = bot->client().call_sync(edit);
      if (!edited && !telegram::is_not_modified(edited.error())) {
        spdlog::warn("broadcast {}: progress not shown: {}", id, edited.error().to_string());
      }
    }
    last_report = std::move(text);
  };

  // Writes what the runtime answered. Only rows still pending change, so counts stay exact.
  auto record = [&](std::vector<Run::Outcome> batch) -> Result<void> {
    if (batch.empty()) return ok();
    const std::int64_t now = clock_.unix_seconds();
    std::int64_t sent = 0, failed = 0, blocked = 0;
    auto written = db_.transaction([&](Session& s) -> Result<void> {
      sent = failed = blocked = 0;
      for (const auto& o : batch) {
        if (o.kind == Run::Kind::kNotSent) continue;
        const char* to = o.kind == Run::Kind::kSent      ? "sent"
                         : o.kind == Run::Kind::kBlocked ? "blocked"
                         : o.kind == Run::Kind::kFailed  ? "failed"
                                                         : "pending";
        auto n = s.exec(
            "UPDATE broadcast_recipients SET status = :to, attempts = attempts + 1, error = :error, "
            "sent_at = :sent_at WHERE broadcast_id = :id AND user_id = :user AND status = 'pending'",
            {{"to", std::string(to)},
             {"error", o.error.empty() ? storage::Value{} : storage::Value{o.error}},
             {"sent_at", o.kind == Run::Kind::kSent ? storage::Value{now} : storage::Value{}},
             {"id", id},
             {"user", o.user_id}});
        if (!n) return fail(std::move(n.error()));
        if (o.kind == Run::Kind::kSent) sent += *n;
        if (o.kind == Run::Kind::kFailed) failed += *n;
        if (o.kind == Run::Kind::kBlocked) {
          blocked += *n;
          auto marked = s.exec("UPDATE users SET blocked_bot = 1, updated_at = :now WHERE id = :user",
                               {{"now", now}, {"user", o.user_id}});
          if (!marked) return fail(std::move(marked.error()));
        }
      }
      auto counts =
          s.exec("UPDATE broadcasts SET sent = sent + :s, failed = failed + :f, blocked = blocked + :b WHERE id = :id",
                 {{"s", sent}, {"f", failed}, {"b", blocked}, {"id", id}});
      return counts ? ok() : fail(std::move(counts.error()));
    });
    if (!written) return written;
    status.sent += sent;
    status.failed += failed;
    status.blocked += blocked;
    return ok();
  };

  auto take = [&] {
    std::lock_guard lock(run->mutex);
    return std::exchange(run->outcomes, {});
  };
  // Waits for every send handed to the runtime (it answers each, also when it stops).
  auto drain = [&]() -> Result<void> {
    std::unique_lock lock(run->mutex);
    run->cv.wait_for(lock, std::chrono::seconds(60), [&] { return run->in_flight == 0; });
    lock.unlock();
    return record(take());
  };

  report();
  std::int64_t after = 0;
  bool exhausted = false;
  int sweep = 1;
  auto last_poll = clock_.steady_now();
  auto last_report_at = clock_.steady_now();
  std::int64_t reported_done = status.sent + status.failed + status.blocked;
  BroadcastState end = BroadcastState::kRunning;
  bool stopping = false;
  std::optional<Error> failure;

  while (true) {
    if (auto w = record(take()); !w) {
      failure = std::move(w.error());
      break;
    }
    bool poke = false;
    {
      std::lock_guard lock(run->mutex);
      stopping = run->stop || run->halt;
      poke = std::exchange(run->poke, false);
    }
    if (stopping) break;
    if (poke || clock_.steady_now() - last_poll >= options_.state_poll) {
      last_poll = clock_.steady_now();
      auto now = this->status(id);
      if (!now) {
        failure = std::move(now.error());
        break;
      }
      if (now->state != BroadcastState::kRunning) {
        end = now->state;
        break;
      }
    }

    std::size_t free = 0;
    {
      std::lock_guard lock(run->mutex);
      free = options_.window > run->in_flight ? options_.window - run->in_flight : 0;
    }
    if (!exhausted && free > 0) {
      auto page = db_.with_session([&](Session& s) {
        return s.query(
            "SELECT r.user_id, u.telegram_id, u.blocked_bot, u.banned FROM broadcast_recipients r "
            "JOIN users u ON u.id = r.user_id WHERE r.broadcast_id = :id AND r.status = 'pending' "
            "AND r.attempts < :max AND r.user_id > :after ORDER BY r.user_id LIMIT :n",
            {{"id", id},
             {"max", std::int64_t{options_.max_attempts}},
             {"after", after},
             {"n", static_cast<std::int64_t>(std::min<std::size_t>(free, options_.page))}});
      });
      if (!page) {
        failure = std::move(page.error());
        break;
      }
      if (page->empty()) exhausted = true;
      std::vector<Run::Outcome> skipped;
      for (const auto& r : *page) {
        const std::int64_t user = r.get_int("user_id");
        after = user;
        // Blocked or banned since the snapshot: not sent.
        if (r.get_bool("blocked_bot")) {
          skipped.push_back({user, Run::Kind::kBlocked, "blocked the bot"});
          continue;
        }
        if (r.get_bool("banned")) {
          skipped.push_back({user, Run::Kind::kFailed, "banned"});
          continue;
        }
        {
          std::lock_guard lock(run->mutex);
          ++run->in_flight;
        }
        send_content(*bot, stored.content, r.get_int("telegram_id"), run, user);
      }
      if (auto w = record(std::move(skipped)); !w) {
        failure = std::move(w.error());
        break;
      }
    }

    std::size_t in_flight = 0;
    {
      std::lock_guard lock(run->mutex);
      in_flight = run->in_flight;
    }
    if (exhausted && in_flight == 0) {
      if (auto w = record(take()); !w) {
        failure = std::move(w.error());
        break;
      }
      // Sends with an unknown outcome are still pending: another sweep, a little later.
      auto retry = db_.with_session([&](Session& s) -> Result<std::int64_t> {
        auto row = s.query_one(
            "SELECT count(*) AS n FROM broadcast_recipients WHERE broadcast_id = :id AND status = 'pending' "
            "AND attempts < :max",
            {{"id", id}, {"max", std::int64_t{options_.max_attempts}}});
        if (!row) return fail(std::move(row.error()));
        return (*row)->get_int("n");
      });
      if (!retry) {
        failure = std::move(retry.error());
        break;
      }
      if (*retry > 0 && sweep < options_.max_attempts) {
        ++sweep;
        after = 0;
        exhausted = false;
        std::unique_lock lock(run->mutex);
        run->cv.wait_for(lock, std::chrono::milliseconds(500 * sweep), [&] { return run->stop || run->poke; });
        continue;
      }
      end = BroadcastState::kDone;
      break;
    }

    const std::int64_t done = status.sent + status.failed + status.blocked;
    // Every progress_every, or every progress_step of the total but at most once a second
    // (Telegram limits how often one message may be edited).
    const auto since = clock_.steady_now() - last_report_at;
    if (since >= options_.progress_every ||
        (since >= std::chrono::seconds(1) &&
         static_cast<double>(done - reported_done) >= options_.progress_step * static_cast<double>(status.total))) {
      report();
      last_report_at = clock_.steady_now();
      reported_done = done;
    }
    std::unique_lock lock(run->mutex);
    run->cv.wait_for(lock, std::chrono::milliseconds(100), [&] {
      return run->stop || run->poke || !run->outcomes.empty() || (!exhausted && run->in_flight < options_.window);
    });
  }

  // Even after a database error: what was handed to the runtime is waited for and, if the
  // database is back, recorded, so nobody who got it stays pending.
  if (auto w = drain(); !w) return fail(std::move(w.error()));
  if (failure) return fail(std::move(*failure));
  if (end == BroadcastState::kDone) {
    // Whoever is still pending ran out of attempts. Nothing changes if the broadcast was
    // paused or cancelled meanwhile.
    auto closed = db_.transaction([&](Session& s) -> Result<std::int64_t> {
      auto b = s.exec("UPDATE broadcasts SET status = 'done', finished_at = :now WHERE id = :id AND status = 'running'",
                      {{"now", clock_.unix_seconds()}, {"id", id}});
      if (!b || *b == 0) return b;
      auto n =
          s.exec("UPDATE broadcast_recipients SET status = 'failed' WHERE broadcast_id = :id AND status = 'pending'",
                 {{"id", id}});
      if (!n) return n;
      auto counted = s.exec("UPDATE broadcasts SET failed = failed + :n WHERE id = :id", {{"n", *n}, {"id", id}});
      if (!counted) return fail(std::move(counted.error()));
      return *n;
    });
    if (!closed) return fail(std::move(closed.error()));
  }
  auto final_status = this->status(id);
  if (!final_status) return fail(std::move(final_status.error()));
  const double rate = status.rate;
  status = *final_status;
  status.rate = rate;
  report();
  return status;
}

}  // namespace ms::shop
