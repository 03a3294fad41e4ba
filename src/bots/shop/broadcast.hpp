// Broadcaster: an owner's message to many of their shop's people (text, a photo with a
// caption, or a forward of one of their messages), over the tenant's broadcasts and
// broadcast_recipients tables.
//
// create() snapshots the audience into broadcast_recipients (people who blocked the bot or
// are banned are left out), so who gets it never changes afterwards. run() sends to every
// pending recipient through the bot's runtime with Priority::kBulk (the runtime paces them
// at Telegram's limits, and people talking to the bot are answered first), records each
// one as sent, failed or blocked (a person who blocked the bot gets users.blocked_bot = 1),
// and keeps ONE progress message in the owner's chat up to date (every 2 s or 5%): counts,
// a bar, the rate and the time left.
//
// pause(), resume() and cancel() may come from any thread or another process: the state is
// in the broadcasts row and a running run() notices within a moment (at once in the same
// process). After a restart, unfinished() lists what was queued or running; run() goes on
// with the pending recipients only, so nobody recorded as sent is ever sent to again. A
// send whose outcome is unknown (the runtime stopped, Telegram or the network down) stays
// pending and is retried, up to `max_attempts`, then counted as failed.
//
// broadcasts.filter holds, as JSON, what the columns do not: the audience, the kind, the
// forwarded chat and message, the owner's chat and language, and the progress message id.
//
// Threads: every method is thread-safe. run() blocks its thread for the whole broadcast
// (minutes for many people): call it from a worker, never from an update handler or the
// HTTP client's thread. One run() per broadcast at a time (a second one fails kConflict).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/i18n/catalog.hpp"
#include "core/result.hpp"
#include "storage/storage.hpp"
#include "telegram/runtime.hpp"
#include "telegram/types.hpp"

namespace ms::shop {

enum class Audience {
  kAll,          // everyone who has not blocked the bot and is not banned
  kActive,       // with at least one active service
  kExpired,      // with an expired service and no active one
  kNeverBought,  // no paid order (a free trial alone does not count as buying)
};
std::string_view to_string(Audience audience);  // all | active | expired | never_bought
std::optional<Audience> parse_audience(std::string_view text);

struct BroadcastContent {
  enum class Kind { kText, kPhoto, kForward };
  Kind kind = Kind::kText;
  std::string text;                  // kText: the message; kPhoto: the caption (may be empty)
  std::string photo_file_id;         // kPhoto
  std::int64_t from_chat_id = 0;     // kForward: where the message is
  std::int64_t from_message_id = 0;  // kForward

  static BroadcastContent plain(std::string text);
  static BroadcastContent photo(std::string file_id, std::string caption);
  static BroadcastContent forward(std::int64_t chat_id, std::int64_t message_id);
};

struct NewBroadcast {
  BroadcastContent content;
  Audience audience = Audience::kAll;
  std::int64_t admin_chat_id = 0;  // where the progress message goes (the owner or an admin)
  i18n::Lang admin_lang = i18n::Lang::kFa;
};

enum class BroadcastState { kQueued, kRunning, kPaused, kDone, kCancelled };
std::string_view to_string(BroadcastState state);  // broadcasts.status: queued | running | ...

struct BroadcastStatus {
  std::int64_t id = 0;
  BroadcastState state = BroadcastState::kQueued;
  std::int64_t total = 0;  // recipients snapshotted
  std::int64_t sent = 0;
  std::int64_t failed = 0;
  std::int64_t blocked = 0;
  std::int64_t pending() const { return total - sent - failed - blocked; }
  double rate = 0;  // sends per second in the current run (0 outside run())
};

struct BroadcastOptions {
  std::size_t window = 64;  // sends queued in the runtime at once per run
  int page = 200;           // recipients read per query
  int max_attempts = 3;     // sends with an unknown outcome before a recipient counts as failed
  std::chrono::milliseconds progress_every{2000};
  double progress_step = 0.05;                // or this fraction of the total (at most once a second)
  std::chrono::milliseconds state_poll{500};  // how often run() rereads the row (another process)
  // Buttons under the progress message (the shop's pause / resume / cancel callbacks).
  std::function<std::optional<telegram::InlineKeyboardMarkup>(const BroadcastStatus&, i18n::Lang)> keyboard;
};

class Broadcaster {
 public:
  // Everything given must outlive the Broadcaster.
  Broadcaster(storage::Database& db, const i18n::Catalog& catalog, const Clock& clock, BroadcastOptions options = {});
  // Asks the runs in progress to stop (their broadcasts stay running, to be resumed) and
  // waits for them: what a process does when it shuts down.
  ~Broadcaster();
  // The same stop without destroying: runs in progress return (their broadcasts stay
  // running) and later run() calls fail kUnavailable. For an owner whose threads must be
  // joined before the Broadcaster goes.
  void close();
  Broadcaster(const Broadcaster&) = delete;
  Broadcaster& operator=(const Broadcaster&) = delete;

  // Creates the broadcast (queued) with its recipients. Success: its id.
  // kInvalidArgument: empty text (kText), no file id (kPhoto), no message (kForward), no admin chat.
  Result<std::int64_t> create(const NewBroadcast& broadcast);

  // Sends until every recipient is done (-> kDone), or the broadcast is paused or cancelled,
  // or the Broadcaster is being destroyed or Telegram refuses the bot's token (401): then the
  // state stays kRunning, for unfinished() to find. Success: the status at
  // the end. A queued or running broadcast runs; one that is paused, done or cancelled
  // returns at once with its status. kNotFound, kConflict (already running here).
  Result<BroadcastStatus> run(std::int64_t id, std::shared_ptr<telegram::BotContext> bot);

  // queued/running -> paused. kNotFound; kConflict when done or cancelled.
  Result<void> pause(std::int64_t id);
  // paused -> queued (then run() it again). kNotFound; kConflict when not paused.
  Result<void> resume(std::int64_t id);
  // queued/running/paused -> cancelled: nobody still pending gets it. kNotFound; kConflict
  // when already done or cancelled.
  Result<void> cancel(std::int64_t id);

  Result<BroadcastStatus> status(std::int64_t id);
  // Broadcasts queued or running (e.g. left running by a crash), oldest first.
  Result<std::vector<std::int64_t>> unfinished();

  struct Run;

 private:
  Result<void> change_state(std::int64_t id, const std::vector<BroadcastState>& from, BroadcastState to);
  void wake(std::int64_t id);

  storage::Database& db_;
  const i18n::Catalog& catalog_;
  const Clock& clock_;
  BroadcastOptions options_;

  std::mutex mutex_;
  std::condition_variable idle_;
  bool closing_ = false;
  std::map<std::int64_t, std::shared_ptr<Run>> runs_;
};

}  // namespace ms::shop
