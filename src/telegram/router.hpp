// Router: an UpdateHandler that sends each update to the handler registered for it, with
// the person's conversation state loaded before and saved after.
//
// Order of routing for one update:
//   pre_checkout_query                -> on_pre_checkout (none: answered "not available")
//   callback_query                    -> its action's handler; forged or altered data is
//                                        answered "this button is no longer valid" and
//                                        goes nowhere else; an unknown action is answered
//   message with successful_payment   -> on_payment
//   message with a command            -> that command (commands win over a flow, so
//                                        /start and /cancel always work)
//   message while a flow is in state S and S has a handler -> that state's handler
//   message with a photo / contact / text -> on_photo / on_contact / on_text
//   anything else                     -> on_other
// A flow whose deadline passed is cleared first and on_expired runs (tell the person),
// then the update is routed as if no flow were going on. sweep() times out flows of people
// who went quiet, so they hear about it without writing again.
//
// State changes a handler makes (Turn::begin / Turn::end / Turn::data()) are saved after it
// returns; if it throws, nothing is saved, so a retried update starts from the same state.
//
// Threads: handle() runs on the runtime's workers, one update of a chat at a time; the
// handler table must be complete before the first update (register, then add the bot).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "telegram/callback_data.hpp"
#include "telegram/conversation.hpp"
#include "telegram/runtime.hpp"

namespace ms::telegram {

class Turn;
using TurnHandler = std::function<void(Turn&)>;

struct RouterOptions {
  std::chrono::seconds flow_timeout{15 * 60};  // default deadline of a flow
  // Answers to a button that is forged or from an old key, and to an unknown action.
  std::string stale_button_text = "⌛";
};

// One update being handled, and what a handler needs to act on it.
class Turn {
 public:
  BotContext& bot;
  const Update& update;

  std::int64_t chat_id() const { return chat_id_; }
  std::int64_t user_id() const { return user_id_; }
  const User* user() const { return update.sender(); }
  // Message text or caption ("" when there is none).
  std::string_view text() const;
  // "/start" for "/start@shop_bot ref_42"; "" when the message is not a command.
  std::string_view command() const { return command_; }
  // "ref_42" for the above: what follows the command, trimmed.
  std::string_view args() const { return args_; }
  // The decoded button of a callback query.
  const CallbackPayload* callback() const { return callback_ ? &*callback_ : nullptr; }

  // The person's flow. begin() starts or moves it (deadline now + timeout), end() clears it.
  const Conversation& conversation() const { return conversation_; }
  nlohmann::json& data() {
    dirty_ = true;
    return conversation_.data;
  }
  void begin(std::string state, nlohmann::json data = nlohmann::json::object(),
             std::optional<std::chrono::seconds> timeout = std::nullopt);
  void end();

  // Helpers for the usual answers. reply() sends to this chat (interactive priority).
  void reply(std::string text, std::optional<ReplyMarkup> markup = std::nullopt, bool html = false);
  // Answers the callback query of this turn (no-op for other updates).
  void answer(std::string text = "", bool alert = false);
  // Replaces the text and inline keyboard of the message this turn's button is on.
  void edit(std::string text, std::optional<InlineKeyboardMarkup> markup = std::nullopt, bool html = false);

 private:
  friend class Router;
  Turn(BotContext& b, const Update& u, const Clock& clock, std::chrono::seconds default_timeout)
      : bot(b), update(u), clock_(clock), default_timeout_(default_timeout) {}

  const Clock& clock_;
  std::chrono::seconds default_timeout_;
  std::int64_t chat_id_ = 0;
  std::int64_t user_id_ = 0;
  std::string command_;
  std::string args_;
  std::optional<CallbackPayload> callback_;
  Conversation conversation_;
  bool dirty_ = false;
};

class Router : public UpdateHandler {
 public:
  // `callback_key`: the bot's secret for encode_callback/decode_callback.
  Router(std::shared_ptr<ConversationStore> store, std::string callback_key, RouterOptions options = {},
         const Clock& clock = SystemClock::instance());

  Router& on_command(std::string_view name, TurnHandler handler);  // "start" or "/start"
  Router& on_callback(std::string action, TurnHandler handler);
  Router& on_state(std::string state, TurnHandler handler);
  Router& on_text(TurnHandler handler);
  Router& on_photo(TurnHandler handler);
  Router& on_contact(TurnHandler handler);
  Router& on_pre_checkout(TurnHandler handler);
  Router& on_payment(TurnHandler handler);
  Router& on_other(TurnHandler handler);
  Router& on_expired(TurnHandler handler);

  void handle(BotContext& bot, const Update& update) override;

  // Times out up to `limit` flows of this bot whose deadline passed: for each, on_expired
  // runs with a Turn for that person (no update: an empty one) and the flow is gone.
  Result<std::size_t> sweep(BotContext& bot, std::size_t limit = 500);

  const std::string& callback_key() const { return callback_key_; }

 private:
  void route(Turn& turn);
  void run(const TurnHandler& handler, Turn& turn) const;

  std::shared_ptr<ConversationStore> store_;
  std::string callback_key_;
  RouterOptions options_;
  const Clock& clock_;
  std::map<std::string, TurnHandler, std::less<>> commands_, callbacks_, states_;
  TurnHandler text_, photo_, contact_, pre_checkout_, payment_, other_, expired_;
};

}  // namespace ms::telegram
