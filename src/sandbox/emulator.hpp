// Emulator: a thread-safe, in-memory Telegram for the Bot API, faithful to what the real
// server accepts and rejects (see docs/sandbox.md and the Bot API reference).
//
// Three sides:
//   * BotFather: create bots (tokens "<id>:<35 chars>"), revoke tokens.
//   * The Bot API: call(token, method, params) answers with Telegram's envelope and status
//     codes. getUpdates long polls without blocking the caller's thread: the answer comes
//     through the callback, from another thread when an update arrives or the timeout ends.
//     Webhooks are pushed (plain http to loopback) by the emulator's delivery threads.
//   * People: users who talk to bots (text, commands, photos, contacts, buttons, payments),
//     join and leave channels and groups, block bots, and read what their chat shows.
//
// Time: dates, update expiry, callback-answer windows and rate limits follow the injected
// Clock. Waiting (long-poll timeouts, webhook retry backoff, the pre-checkout deadline) uses
// the real steady clock, like network timeouts do, because a thread has to sleep on it.
//
// Thread-safety: every public method may be called from any thread. Callbacks are invoked
// without internal locks held, on the calling thread or on an emulator thread; they must not
// block for long. The destructor answers pending long polls with [] and joins its threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "sandbox/params.hpp"
#include "telegram/rate_limiter.hpp"

namespace ms::sandbox {

struct EmulatorOptions {
  // Telegram's outgoing limits, enforced with the client's own telegram::RateLimiter:
  // over them a send gets 429 with retry_after = the whole seconds until it would pass.
  telegram::RateLimits limits;
  // Longest getUpdates wait (Telegram: 50 s). Keep it below the HTTP server's handler timeout.
  std::chrono::seconds max_long_poll{50};
  // Webhook retries: the first again at once, then unit * 2, * 4, ... up to cap.
  std::chrono::milliseconds webhook_retry_unit{1000};
  std::chrono::milliseconds webhook_retry_cap{60'000};
  std::chrono::milliseconds webhook_timeout{10'000};
  int webhook_threads = 2;
  // How long a person's payment waits for answerPreCheckoutQuery (Telegram: 10 s).
  std::chrono::milliseconds pre_checkout_timeout{10'000};
  // How long after a button press answerCallbackQuery is still accepted (by the Clock).
  std::chrono::seconds callback_answer_window{60};
};

// One Bot API answer. `status` is the HTTP status (= error_code on errors); `body` is the
// whole envelope; `retry_after` > 0 only on 429 and then also goes out as Retry-After.
struct ApiReply {
  int status = 200;
  nlohmann::json body;
  int retry_after = 0;
};

using ApiCallback = std::function<void(ApiReply)>;

struct BotCredentials {
  std::int64_t id = 0;
  std::string username;
  std::string token;
};

struct PersonSpec {
  std::int64_t id = 0;  // 0: the emulator picks one
  std::string first_name;
  std::string last_name;
  std::string username;
  std::string language_code;
};

struct FileDownload {
  std::string content_type;
  std::string data;
};

// What happened to a person's payment: "paid" (with charge id and the service message),
// "declined" (the bot answered ok=false; error_message set) or "timeout".
using PaymentCallback = std::function<void(Result<nlohmann::json>)>;

class Emulator {
 public:
  explicit Emulator(EmulatorOptions options = {}, const Clock& clock = SystemClock::instance());
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // ---- BotFather ------------------------------------------------------------------------
  // Creates a bot. `username` must end in "bot" (any case), 5-32 chars of [A-Za-z0-9_] and
  // be free. Failure: kInvalidArgument, kAlreadyExists.
  Result<BotCredentials> create_bot(std::string_view username, std::string_view name);
  // Gives `bot` (username or id) a new token; the old one gets 401 from then on.
  Result<BotCredentials> revoke_token(std::string_view bot);
  // How many Bot API calls with `token` were answered 401 Unauthorized (a revoked or unknown
  // token): tests check that a bot stops calling once refused.
  std::int64_t unauthorized_calls(std::string_view token) const;
  // Public profile: id, username, name, description, short_description, commands, webhook.
  Result<nlohmann::json> bot_profile(std::string_view bot);

  // ---- Bot API --------------------------------------------------------------------------
  // Runs one method (case-insensitive). `done` is called exactly once: at once for every
  // method except a getUpdates that has to wait.
  void call(std::string_view token, std::string_view method, Params params, ApiCallback done);
  // Blocking convenience for tools and tests; never use it on an event-loop thread.
  ApiReply call_sync(std::string_view token, std::string_view method, Params params);
  // The file behind a getFile path. Failure: kUnauthenticated (bad token), kNotFound.
  Result<FileDownload> download_file(std::string_view token, std::string_view file_path);

  // ---- People ---------------------------------------------------------------------------
  // Creates a user. Failure: kInvalidArgument (no first_name), kAlreadyExists (id/username).
  Result<nlohmann::json> create_user(const PersonSpec& spec);
  // What the person sends to `bot` in their private chat; success gives the Message.
  // Failure: kNotFound (user/bot), kPermissionDenied (the person blocked the bot),
  // kInvalidArgument (empty text, bad photo).
  Result<nlohmann::json> send_text(std::int64_t user, std::string_view bot, std::string_view text);
  // "/command payload"; a deep link t.me/bot?start=X is send_command(user, bot, "start", X).
  Result<nlohmann::json> send_command(std::int64_t user, std::string_view bot, std::string_view command,
                                      std::string_view payload = {});
  Result<nlohmann::json> send_photo(std::int64_t user, std::string_view bot, std::string data,
                                    std::string_view caption = {});
  Result<nlohmann::json> send_contact(std::int64_t user, std::string_view bot, std::string_view phone_number,
                                      std::string_view first_name, std::string_view last_name = {});
  // Presses the inline button with `callback_data` under the bot's message; success gives
  // the callback query id. Failure: kNotFound (no such message or button).
  Result<std::string> press_button(std::int64_t user, std::string_view bot, std::int64_t message_id,
                                   std::string_view callback_data);
  // {"answered":bool, "text":..., "show_alert":..., "url":...} for a pressed button.
  Result<nlohmann::json> callback_answer(std::string_view query_id);
  Result<void> block_bot(std::int64_t user, std::string_view bot);
  Result<void> unblock_bot(std::int64_t user, std::string_view bot);
  // Pays the invoice message `message_id` (or, with message_id 0, the link `invoice_link`):
  // the bot gets a pre_checkout_query; `done` runs when it answers or the deadline passes.
  void pay_invoice(std::int64_t user, std::string_view bot, std::int64_t message_id, std::string_view invoice_link,
                   PaymentCallback done);
  // The person's private chat with the bot as they see it:
  // {"chat":..., "messages":[{"message":Message, "edits":[old texts]}...], "reply_keyboard":...}.
  Result<nlohmann::json> read_chat(std::int64_t user, std::string_view bot);

  // ---- Groups and channels --------------------------------------------------------------
  // `type` is "channel", "group" or "supergroup"; `owner` (a user id, optional) becomes creator.
  Result<nlohmann::json> create_chat(std::string_view type, std::string_view title, std::string_view username,
                                     std::int64_t owner);
  Result<void> join_chat(std::int64_t chat_id, std::int64_t user);
  Result<void> leave_chat(std::int64_t chat_id, std::int64_t user);
  // Adds a bot (admin true: as administrator) or promotes a member user to administrator.
  Result<void> add_bot_to_chat(std::int64_t chat_id, std::string_view bot, bool admin);
  Result<void> promote_user(std::int64_t chat_id, std::int64_t user);
  // {"chat":..., "messages":[...]} for a group or channel.
  Result<nlohmann::json> read_group(std::int64_t chat_id);

  // ---- Observation ------------------------------------------------------------------------
  // Waits until `bot` has a getUpdates request waiting (tests use it instead of sleeping).
  bool wait_for_poller(std::string_view bot, std::chrono::milliseconds timeout);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ms::sandbox
