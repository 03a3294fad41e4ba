// Internal to the sandbox library: the Emulator's state and the helpers its .cpp files share.
// Every member is guarded by `mu`; functions named *_locked expect it held. Callbacks to the
// outside are collected in Effects and run after the lock is released.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandbox/emulator.hpp"
#include "sandbox/text_format.hpp"
#include "telegram/limits.hpp"
#include "telegram/rate_limiter.hpp"

namespace ms::sandbox {

using json = nlohmann::json;
using Steady = std::chrono::steady_clock;
using Effects = std::vector<std::function<void()>>;
using TimerKey = std::pair<Steady::time_point, std::uint64_t>;

struct UserRec {
  std::int64_t id = 0;
  std::string first_name, last_name, username, language_code;
};

struct UpdateRec {
  std::int64_t id = 0;
  std::string type;
  json body;                  // the whole Update, update_id included
  std::int64_t expires = 0;   // unix seconds (Clock)
};

struct PollRec {
  std::uint64_t ticket = 0;
  std::int64_t offset = 0;
  int limit = 100;
  ApiCallback done;
  TimerKey timer;  // its timeout, cancelled when answered earlier
};

struct BotRec {
  std::int64_t id = 0;
  std::string username, name, token;
  std::deque<UpdateRec> queue;
  std::int64_t next_update_id = 1;
  std::set<std::string> allowed;  // empty: the default set
  std::optional<PollRec> poll;
  // webhook
  std::string webhook_url, secret;
  int max_connections = 40;
  bool delivering = false;
  int failures = 0;
  Steady::time_point next_attempt{};
  std::int64_t last_error_date = 0;
  std::string last_error_message;
  std::optional<Steady::time_point> last_webhook_set;  // by the Clock, for the 1/s limit
  // profile
  std::map<std::string, json> commands;  // key: scope dump + "|" + language
  std::map<std::string, std::string> description, short_description, names;  // by language
};

struct InvoiceRec {
  std::int64_t bot = 0;
  std::string title, description, payload, currency, start_parameter;
  std::int64_t amount = 0;
};

struct MessageRec {
  json message;
  std::int64_t sender = 0;  // user or bot id; 0 for channel posts
  bool by_bot = false;
  std::vector<std::string> edits;  // earlier texts/captions, oldest first
  std::optional<InvoiceRec> invoice;  // for invoice messages: what paying it buys
};

struct ChatRec {
  std::int64_t id = 0;
  std::string type;  // private, group, supergroup, channel
  std::string title, username;
  std::int64_t bot = 0, user = 0;  // private chats only
  bool started = false, blocked = false;
  std::map<std::int64_t, std::string> members;  // user or bot id -> ChatMember status
  std::int64_t next_message_id = 1;
  std::map<std::int64_t, MessageRec> messages;
  json reply_keyboard;  // the person's current reply keyboard, null when none
};

struct FileRec {
  std::string unique_id, kind, data, file_name, mime_type, file_path;
  int width = 0, height = 0;
};

struct CallbackRec {
  std::int64_t bot = 0, user = 0;
  std::int64_t created = 0;
  bool answered = false;
  json answer;
};

struct CheckoutRec {
  std::int64_t bot = 0, user = 0;
  InvoiceRec invoice;
  PaymentCallback done;
};

struct ChargeRec {
  std::int64_t bot = 0, user = 0;
  InvoiceRec invoice;
  bool refunded = false;
};

struct Emulator::Impl {
  Impl(EmulatorOptions o, const Clock& c);
  ~Impl();

  const EmulatorOptions options;
  const Clock& clock;
  std::mutex mu;
  std::map<std::string, std::int64_t> unauthorized_calls;  // token -> calls answered 401
  std::condition_variable changed;  // wakes the timer and delivery threads and observers
  bool stopping = false;

  telegram::RateLimiter limiter;
  std::map<std::int64_t, BotRec> bots;
  std::map<std::string, std::int64_t> bot_by_username;  // lower-case
  std::map<std::string, std::int64_t> bot_by_token;
  std::map<std::int64_t, UserRec> users;
  std::map<std::pair<std::int64_t, std::int64_t>, ChatRec> privates;  // (bot, user)
  std::map<std::int64_t, ChatRec> groups;
  std::map<std::string, FileRec> files;                                   // unique id ->
  std::map<std::string, std::pair<std::int64_t, std::string>> file_ids;  // file_id -> (bot, unique)
  std::map<std::string, std::string> file_paths;                        // file_path -> unique
  std::map<std::string, CallbackRec> callbacks;
  std::map<std::string, InvoiceRec> invoice_links;                                 // slug ->
  std::map<std::string, CheckoutRec> checkouts;
  std::map<std::string, ChargeRec> charges;
  std::int64_t next_bot_id = 7'000'000'001;
  std::int64_t next_user_id = 100'000'001;
  std::int64_t next_channel_id = -1'001'000'000'001;
  std::int64_t next_group_id = -4'000'001;
  std::uint64_t counter = 1;

  // Timers run on one thread without the lock held.
  std::map<TimerKey, std::function<void()>> timers;
  std::vector<std::thread> threads;

  // ---- shared helpers (lock held) ----
  BotRec* find_bot_locked(std::string_view ref);
  json user_json(const UserRec& u) const;
  json bot_json(const BotRec& b) const;
  json chat_json(const ChatRec& c) const;
  ChatRec* private_chat_locked(std::int64_t bot, std::int64_t user, bool create);
  MessageRec& add_message_locked(ChatRec& chat, std::int64_t sender, bool by_bot, json from);
  void enqueue_locked(BotRec& bot, const std::string& type, json payload, Effects& fx);
  TimerKey schedule_locked(Steady::time_point when, std::function<void()> fn);
  // Takes the waiting getUpdates of `bot` away (cancelling its timer); null if none.
  ApiCallback take_poll_locked(BotRec& bot);
  std::string next_id_locked();

  // ---- Bot API ----
  using Method = ApiReply (Impl::*)(BotRec&, const Params&, Effects&);
  static const std::map<std::string, Method>& methods();
  void get_updates_locked(BotRec& bot, const Params& p, ApiCallback done, Effects& fx);
  void answer_poll_locked(BotRec& bot, Effects& fx);
  json take_updates_locked(BotRec& bot, std::int64_t offset, int limit);

  ApiReply m_get_me(BotRec&, const Params&, Effects&);
  ApiReply m_set_webhook(BotRec&, const Params&, Effects&);
  ApiReply m_delete_webhook(BotRec&, const Params&, Effects&);
  ApiReply m_get_webhook_info(BotRec&, const Params&, Effects&);
  ApiReply m_send_message(BotRec&, const Params&, Effects&);
  ApiReply m_edit_message_text(BotRec&, const Params&, Effects&);
  ApiReply m_edit_message_reply_markup(BotRec&, const Params&, Effects&);
  ApiReply m_delete_message(BotRec&, const Params&, Effects&);
  ApiReply m_answer_callback_query(BotRec&, const Params&, Effects&);
  ApiReply m_copy_message(BotRec&, const Params&, Effects&);
  ApiReply m_forward_message(BotRec&, const Params&, Effects&);
  ApiReply m_send_photo(BotRec&, const Params&, Effects&);
  ApiReply m_send_document(BotRec&, const Params&, Effects&);
  ApiReply m_get_file(BotRec&, const Params&, Effects&);
  ApiReply m_get_chat(BotRec&, const Params&, Effects&);
  ApiReply m_get_chat_member(BotRec&, const Params&, Effects&);
  ApiReply m_set_my_commands(BotRec&, const Params&, Effects&);
  ApiReply m_get_my_commands(BotRec&, const Params&, Effects&);
  ApiReply m_delete_my_commands(BotRec&, const Params&, Effects&);
  ApiReply m_set_my_description(BotRec&, const Params&, Effects&);
  ApiReply m_get_my_description(BotRec&, const Params&, Effects&);
  ApiReply m_set_my_short_description(BotRec&, const Params&, Effects&);
  ApiReply m_get_my_short_description(BotRec&, const Params&, Effects&);
  ApiReply m_set_my_name(BotRec&, const Params&, Effects&);
  ApiReply m_get_my_name(BotRec&, const Params&, Effects&);
  ApiReply m_send_invoice(BotRec&, const Params&, Effects&);
  ApiReply m_create_invoice_link(BotRec&, const Params&, Effects&);
  ApiReply m_answer_pre_checkout_query(BotRec&, const Params&, Effects&);
  ApiReply m_refund_star_payment(BotRec&, const Params&, Effects&);

  // ---- message helpers (bot_messages.cpp) ----
  // Resolves chat_id for the bot; nullptr with `err` set on failure. `for_send` applies the
  // 403s of sending (not started, blocked, not an admin of a channel).
  ChatRec* resolve_chat_locked(BotRec& bot, std::string_view chat_id, bool for_send, ApiReply& err);
  std::optional<ApiReply> check_rate_locked(BotRec& bot, const ChatRec& chat);
  // Parses reply_markup; nullopt with `err` set on failure; json null when absent.
  std::optional<json> parse_markup(const Params& p, ApiReply& err) const;
  // Text + parse_mode/entities -> FormattedText; nullopt with `err` set.
  std::optional<FormattedText> format_text(const Params& p, std::string_view field, std::string_view mode_field,
                                                  std::string_view entities_field, bool caption, ApiReply& err) const;
  void apply_markup_locked(ChatRec& chat, json& message, const json& markup);
  MessageRec& send_bot_message_locked(BotRec& bot, ChatRec& chat, json content, const json& markup, Effects& fx);
  // reply_to_message_id / reply_parameters; false with `err` set when the target is missing.
  bool apply_reply_locked(ChatRec& chat, const Params& p, json& content, ApiReply& err);
  ApiReply edit_locked(BotRec& bot, const Params& p, bool text, Effects& fx);

  // ---- files (bot_files.cpp) ----
  std::string file_id_locked(std::int64_t bot, const std::string& unique);
  // Stores content; returns the unique id. kind: "photo" or "document".
  Result<std::string> store_file_locked(std::string kind, std::string data, std::string file_name,
                                        std::string mime_type);
  json photo_json_locked(std::int64_t bot, const FileRec& f);
  json document_json_locked(std::int64_t bot, const FileRec& f);
  ApiReply send_file_locked(BotRec& bot, const Params& p, const std::string& kind, Effects& fx);

  // ---- people (person.cpp) ----
  Result<std::pair<BotRec*, ChatRec*>> person_chat_locked(std::int64_t user, std::string_view bot);
  Result<json> person_send_locked(std::int64_t user, std::string_view bot, json content, Effects& fx);
  json member_json_locked(std::int64_t id, const std::string& status);
  // Parses the invoice parameters shared by sendInvoice and createInvoiceLink.
  // `subscription_period` only for createInvoiceLink (sendInvoice has none).
  std::optional<InvoiceRec> parse_invoice(BotRec& bot, const Params& p, std::optional<std::int64_t> subscription_period,
                                          ApiReply& err) const;
  // Ends a pending payment (the lock held): paid when ok, declined otherwise.
  void finish_checkout_locked(const std::string& id, bool ok, std::string error_message, Effects& fx);
  void deliver_loop();
  void timer_loop();
};

ApiReply api_ok(json result, std::string description = {});
// Telegram's error envelope; `description` is complete ("Bad Request: chat not found").
ApiReply api_error(int code, std::string description, int retry_after = 0);
// The same for a failed check of telegram/limits.hpp (code and description as Telegram's).
ApiReply api_error(const telegram::limits::LimitError& err);

}  // namespace ms::sandbox
