#include "telegram/router.hpp"

#include <spdlog/spdlog.h>

namespace ms::telegram {
namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string normalize_command(std::string_view name) {
  return name.empty() || name.front() == '/' ? std::string(name) : "/" + std::string(name);
}

}  // namespace

std::string_view Turn::text() const {
  if (!update.message) return {};
  if (update.message->text) return *update.message->text;
  if (update.message->caption) return *update.message->caption;
  return {};
}

void Turn::begin(std::string state, nlohmann::json data, std::optional<std::chrono::seconds> timeout) {
  conversation_.state = std::move(state);
  conversation_.data = data.is_object() ? std::move(data) : nlohmann::json::object();
  conversation_.expires_at = clock_.unix_seconds() + timeout.value_or(default_timeout_).count();
  dirty_ = true;
}

void Turn::end() {
  conversation_ = Conversation{};
  dirty_ = true;
}

void Turn::reply(std::string text, std::optional<ReplyMarkup> markup, bool html) {
  SendMessage m;
  m.chat_id = chat_id_;
  m.text = std::move(text);
  if (html) m.parse_mode = "HTML";
  m.reply_markup = std::move(markup);
  bot.send(m, Priority::kInteractive, [chat = chat_id_, key = bot.key()](Reply<SendMessage> r) {
    if (!r) spdlog::warn("bot {}: reply to chat {} failed: {}", key, chat, r.error().to_string());
  });
}

void Turn::answer(std::string text, bool alert) {
  if (!update.callback_query) return;
  AnswerCallbackQuery a;
  a.callback_query_id = update.callback_query->id;
  if (!text.empty()) a.text = std::move(text);
  a.show_alert = alert;
  bot.client().call(a, [](Reply<AnswerCallbackQuery>) {});  // a late answer only loses the spinner
}

void Turn::edit(std::string text, std::optional<InlineKeyboardMarkup> markup, bool html) {
  if (!update.callback_query || !update.callback_query->message) return;
  EditMessageText e;
  e.chat_id = update.callback_query->message->chat.id;
  e.message_id = update.callback_query->message->message_id;
  e.text = std::move(text);
  if (html) e.parse_mode = "HTML";
  e.reply_markup = std::move(markup);
  bot.client().call(e, [key = bot.key()](Reply<EditMessageText> r) {
    if (!r && !is_not_modified(r.error()))
      spdlog::warn("bot {}: editing a message failed: {}", key, r.error().to_string());
  });
}

Router::Router(std::shared_ptr<ConversationStore> store, std::string callback_key, RouterOptions options,
               const Clock& clock)
    : store_(std::move(store)), callback_key_(std::move(callback_key)), options_(std::move(options)), clock_(clock) {}

Router& Router::on_command(std::string_view name, TurnHandler h) {
  commands_[normalize_command(name)] = std::move(h);
  return *this;
}
Router& Router::on_callback(std::string action, TurnHandler h) {
  callbacks_[std::move(action)] = std::move(h);
  return *this;
}
Router& Router::on_state(std::string state, TurnHandler h) {
  states_[std::move(state)] = std::move(h);
  return *this;
}
Router& Router::on_text(TurnHandler h) {
  text_ = std::move(h);
  return *this;
}
Router& Router::on_photo(TurnHandler h) {
  photo_ = std::move(h);
  return *this;
}
Router& Router::on_contact(TurnHandler h) {
  contact_ = std::move(h);
  return *this;
}
Router& Router::on_pre_checkout(TurnHandler h) {
  pre_checkout_ = std::move(h);
  return *this;
}
Router& Router::on_payment(TurnHandler h) {
  payment_ = std::move(h);
  return *this;
}
Router& Router::on_other(TurnHandler h) {
  other_ = std::move(h);
  return *this;
}
Router& Router::on_expired(TurnHandler h) {
  expired_ = std::move(h);
  return *this;
}

void Router::run(const TurnHandler& handler, Turn& turn) const {
  if (handler) handler(turn);
}

void Router::handle(BotContext& bot, const Update& update) {
  Turn turn(bot, update, clock_, options_.flow_timeout);
  turn.chat_id_ = update.chat_id().value_or(0);
  if (const User* from = update.sender()) turn.user_id_ = from->id;
  if (turn.chat_id_ == 0) turn.chat_id_ = turn.user_id_;  // pre-checkout: answer the person directly

  // The flow of a person, in any chat with this bot.
  bool had_flow = false;
  if (turn.user_id_ != 0) {
    auto loaded = store_->load(bot.key(), turn.user_id_);
    if (!loaded) {
      // Without the state we cannot route safely; the update is retried by nobody, so say so.
      spdlog::error("bot {}: conversation of {} unreadable: {}", bot.key(), turn.user_id_, loaded.error().to_string());
      throw std::runtime_error("conversation state unavailable: " + loaded.error().message);
    }
    if (*loaded) {
      turn.conversation_ = std::move(**loaded);
      had_flow = true;
    }
  }
  if (had_flow && turn.conversation_.expires_at && *turn.conversation_.expires_at <= clock_.unix_seconds()) {
    run(expired_, turn);  // sees the old state, to say which flow ended
    turn.end();
  }

  route(turn);

  if (turn.dirty_ && turn.user_id_ != 0) {
    auto saved = turn.conversation_.state.empty() ? store_->erase(bot.key(), turn.user_id_)
                                                  : store_->save(bot.key(), turn.user_id_, turn.conversation_);
    if (!saved) {
      spdlog::error("bot {}: saving the conversation of {} failed: {}", bot.key(), turn.user_id_,
                    saved.error().to_string());
      throw std::runtime_error("conversation state not saved: " + saved.error().message);
    }
  }
}

void Router::route(Turn& turn) {
  const Update& u = turn.update;
  if (u.pre_checkout_query) {
    if (pre_checkout_) return run(pre_checkout_, turn);
    AnswerPreCheckoutQuery no;
    no.pre_checkout_query_id = u.pre_checkout_query->id;
    no.ok = false;
    no.error_message = "This payment is not available now.";
    turn.bot.client().call(no, [](Reply<AnswerPreCheckoutQuery>) {});
    return;
  }
  if (u.callback_query) {
    auto payload = decode_callback(u.callback_query->data.value_or(""), callback_key_);
    if (!payload) {
      spdlog::warn("bot {}: a button press from {} with data we did not sign; ignored", turn.bot.key(), turn.user_id_);
      return turn.answer(options_.stale_button_text);
    }
    auto it = callbacks_.find(payload->action);
    if (it == callbacks_.end()) return turn.answer(options_.stale_button_text);
    turn.callback_ = std::move(*payload);
    return run(it->second, turn);
  }
  if (!u.message) return run(other_, turn);
  const Message& m = *u.message;
  if (m.successful_payment) return run(payment_, turn);
  if (auto cmd = m.command()) {
    turn.command_ = *cmd;
    const std::string& text = *m.text;
    const auto space = text.find_first_of(" \n");
    turn.args_ = space == std::string::npos ? "" : trim(std::string_view(text).substr(space));
    auto it = commands_.find(turn.command_);
    if (it != commands_.end()) return run(it->second, turn);
  }
  if (!turn.conversation_.state.empty()) {
    auto it = states_.find(turn.conversation_.state);
    if (it != states_.end()) return run(it->second, turn);
  }
  if (!m.photo.empty() && photo_) return run(photo_, turn);
  if (m.contact && contact_) return run(contact_, turn);
  if (m.text && text_) return run(text_, turn);
  run(other_, turn);
}

Result<std::size_t> Router::sweep(BotContext& bot, std::size_t limit) {
  auto expired = store_->take_expired(bot.key(), clock_.unix_seconds(), limit);
  if (!expired) return fail(std::move(expired.error()));
  static const Update kNone{};
  for (auto& [user, conversation] : *expired) {
    Turn turn(bot, kNone, clock_, options_.flow_timeout);
    turn.user_id_ = user;
    turn.chat_id_ = user;  // the private chat with the person
    turn.conversation_ = std::move(conversation);
    try {
      run(expired_, turn);
    } catch (const std::exception& e) {
      spdlog::error("bot {}: the timeout handler for {} threw: {}", bot.key(), user, e.what());
    }
  }
  return expired->size();
}

}  // namespace ms::telegram
