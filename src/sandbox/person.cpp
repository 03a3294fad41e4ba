// The person side: people talk to bots, press buttons, pay, block bots, and join or leave
// groups and channels; plus reading what a chat shows.
#include <algorithm>
#include <regex>

#include "sandbox/emulator_impl.hpp"

namespace ms::sandbox {
Result<std::pair<BotRec*, ChatRec*>> Emulator::Impl::person_chat_locked(std::int64_t user, std::string_view ref) {
  if (!users.count(user)) return fail(ErrorCode::kNotFound, "no such user");
  BotRec* bot = find_bot_locked(ref);
  if (!bot) return fail(ErrorCode::kNotFound, "no such bot");
  return std::make_pair(bot, private_chat_locked(bot->id, user, true));
}

Result<json> Emulator::Impl::person_send_locked(std::int64_t user, std::string_view ref, json content, Effects& fx) {
  auto found = person_chat_locked(user, ref);
  if (!found) return fail(found.error());
  auto [bot, chat] = *found;
  if (chat->blocked) return fail(ErrorCode::kPermissionDenied, "the person blocked this bot; unblock it first");
  chat->started = true;
  MessageRec& rec = add_message_locked(*chat, user, false, user_json(users.at(user)));
  for (auto it = content.begin(); it != content.end(); ++it) rec.message[it.key()] = it.value();
  json message = rec.message;
  enqueue_locked(*bot, "message", message, fx);
  return message;
}

Result<json> Emulator::create_user(const PersonSpec& spec) {
  static const std::regex kUsername("^[A-Za-z][A-Za-z0-9_]{4,31}$");
  if (spec.first_name.empty()) return fail(ErrorCode::kInvalidArgument, "first_name is required");
  if (!spec.username.empty() && !std::regex_match(spec.username, kUsername)) {
    return fail(ErrorCode::kInvalidArgument, "a username is 5-32 letters, digits or _ and starts with a letter");
  }
  std::lock_guard lock(impl_->mu);
  std::int64_t id = spec.id;
  if (id < 0 || (id > 0 && (impl_->users.count(id) || impl_->bots.count(id)))) {
    return fail(ErrorCode::kAlreadyExists, "user id is taken or invalid");
  }
  if (!spec.username.empty()) {
    for (const auto& [uid, u] : impl_->users) {
      if (u.username == spec.username) return fail(ErrorCode::kAlreadyExists, "username is taken");
    }
  }
  if (id == 0) {
    while (impl_->users.count(impl_->next_user_id)) ++impl_->next_user_id;
    id = impl_->next_user_id++;
  }
  UserRec u{id, spec.first_name, spec.last_name, spec.username, spec.language_code};
  impl_->users[id] = u;
  return impl_->user_json(u);
}

namespace {
template <class F>
Result<json> with_effects(Emulator::Impl& impl, F&& f) {
  Effects fx;
  Result<json> out;
  {
    std::lock_guard lock(impl.mu);
    out = f(fx);
  }
  for (auto& e : fx) e();
  return out;
}
}  // namespace

Result<json> Emulator::send_text(std::int64_t user, std::string_view bot, std::string_view text) {
  FormattedText ft{std::string(text), json::array()};
  trim_formatted(ft);
  if (ft.text.empty()) return fail(ErrorCode::kInvalidArgument, "text is empty");
  if (telegram::limits::utf16_length(ft.text) > telegram::limits::kMaxMessageText) {
    return fail(ErrorCode::kInvalidArgument, "text is longer than 4096");
  }
  add_command_entities(ft);
  json content = {{"text", ft.text}};
  if (!ft.entities.empty()) content["entities"] = ft.entities;
  return with_effects(*impl_, [&](Effects& fx) { return impl_->person_send_locked(user, bot, content, fx); });
}

Result<json> Emulator::send_command(std::int64_t user, std::string_view bot, std::string_view command,
                                    std::string_view payload) {
  static const std::regex kCommand("^[A-Za-z0-9_]{1,32}$");
  std::string name(command);
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  if (!std::regex_match(name, kCommand)) return fail(ErrorCode::kInvalidArgument, "a command is 1-32 letters, digits or _");
  std::string text = "/" + name;
  if (!payload.empty()) text += " " + std::string(payload);
  return send_text(user, bot, text);
}

Result<json> Emulator::send_photo(std::int64_t user, std::string_view bot, std::string data, std::string_view caption) {
  return with_effects(*impl_, [&](Effects& fx) -> Result<json> {
    auto found = impl_->person_chat_locked(user, bot);
    if (!found) return fail(found.error());
    auto unique = impl_->store_file_locked("photo", std::move(data), "", "");
    if (!unique) return fail(ErrorCode::kInvalidArgument, "not a PNG, JPEG or GIF image");
    json content = {{"photo", impl_->photo_json_locked(found->first->id, impl_->files.at(*unique))}};
    if (!caption.empty()) content["caption"] = std::string(caption);
    return impl_->person_send_locked(user, bot, std::move(content), fx);
  });
}

Result<json> Emulator::send_contact(std::int64_t user, std::string_view bot, std::string_view phone_number,
                                    std::string_view first_name, std::string_view last_name) {
  if (phone_number.empty()) return fail(ErrorCode::kInvalidArgument, "phone_number is required");
  return with_effects(*impl_, [&](Effects& fx) -> Result<json> {
    if (!impl_->users.count(user)) return fail(ErrorCode::kNotFound, "no such user");
    json contact = {{"phone_number", std::string(phone_number)},
                    {"first_name", first_name.empty() ? impl_->users.at(user).first_name : std::string(first_name)},
                    {"user_id", user}};
    if (!last_name.empty()) contact["last_name"] = std::string(last_name);
    return impl_->person_send_locked(user, bot, json{{"contact", std::move(contact)}}, fx);
  });
}

Result<std::string> Emulator::press_button(std::int64_t user, std::string_view bot, std::int64_t message_id,
                                           std::string_view callback_data) {
  Effects fx;
  std::string id;
  {
    std::lock_guard lock(impl_->mu);
    auto found = impl_->person_chat_locked(user, bot);
    if (!found) return fail(found.error());
    auto [b, chat] = *found;
    if (chat->blocked) return fail(ErrorCode::kPermissionDenied, "the person blocked this bot; unblock it first");
    auto it = chat->messages.find(message_id);
    if (it == chat->messages.end()) return fail(ErrorCode::kNotFound, "no such message");
    const json& msg = it->second.message;
    bool found_button = false;
    if (msg.contains("reply_markup")) {
      for (const auto& row : msg["reply_markup"]["inline_keyboard"]) {
        for (const auto& button : row) {
          if (button.value("callback_data", std::string()) == callback_data) found_button = true;
        }
      }
    }
    if (!found_button) return fail(ErrorCode::kNotFound, "the message has no button with this callback_data");
    id = impl_->next_id_locked();
    impl_->callbacks[id] = CallbackRec{b->id, user, impl_->clock.unix_seconds(), false, nullptr};
    json query = {{"id", id},
                  {"from", impl_->user_json(impl_->users.at(user))},
                  {"message", msg},
                  {"chat_instance", std::to_string((b->id * 1'000'003) ^ user)},
                  {"data", std::string(callback_data)}};
    impl_->enqueue_locked(*b, "callback_query", std::move(query), fx);
  }
  for (auto& e : fx) e();
  return id;
}

Result<json> Emulator::callback_answer(std::string_view query_id) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->callbacks.find(std::string(query_id));
  if (it == impl_->callbacks.end()) return fail(ErrorCode::kNotFound, "no such callback query");
  json out = {{"answered", it->second.answered}};
  if (it->second.answered) out.update(it->second.answer);
  return out;
}

namespace {
Result<void> set_blocked(Emulator::Impl& impl, std::int64_t user, std::string_view bot, bool blocked) {
  Effects fx;
  {
    std::lock_guard lock(impl.mu);
    auto found = impl.person_chat_locked(user, bot);
    if (!found) return fail(found.error());
    auto [b, chat] = *found;
    if (chat->blocked == blocked) return ok();
    chat->blocked = blocked;
    json bot_user = impl.bot_json(*b);
    json member = {{"status", "member"}, {"user", bot_user}};
    json kicked = {{"status", "kicked"}, {"user", bot_user}, {"until_date", 0}};
    impl.enqueue_locked(*b, "my_chat_member",
                        {{"chat", impl.chat_json(*chat)},
                         {"from", impl.user_json(impl.users.at(user))},
                         {"date", impl.clock.unix_seconds()},
                         {"old_chat_member", blocked ? member : kicked},
                         {"new_chat_member", blocked ? kicked : member}},
                        fx);
  }
  for (auto& e : fx) e();
  return ok();
}
}  // namespace

Result<void> Emulator::block_bot(std::int64_t user, std::string_view bot) { return set_blocked(*impl_, user, bot, true); }
Result<void> Emulator::unblock_bot(std::int64_t user, std::string_view bot) { return set_blocked(*impl_, user, bot, false); }

void Emulator::pay_invoice(std::int64_t user, std::string_view bot, std::int64_t message_id,
                           std::string_view invoice_link, PaymentCallback done) {
  Effects fx;
  std::optional<Error> error;
  {
    std::lock_guard lock(impl_->mu);
    std::optional<InvoiceRec> invoice;
    if (!impl_->users.count(user)) {
      error = Error{ErrorCode::kNotFound, "no such user"};
    } else if (message_id != 0) {
      BotRec* b = impl_->find_bot_locked(bot);
      ChatRec* chat = b ? impl_->private_chat_locked(b->id, user, false) : nullptr;
      auto it = chat ? chat->messages.find(message_id) : std::map<std::int64_t, MessageRec>::iterator{};
      if (!chat || it == chat->messages.end() || !it->second.invoice) {
        error = Error{ErrorCode::kNotFound, "no invoice message with this id"};
      } else {
        invoice = it->second.invoice;
      }
    } else {
      std::string slug(invoice_link);
      if (auto dollar = slug.rfind('$'); dollar != std::string::npos) slug.erase(0, dollar + 1);
      auto it = impl_->invoice_links.find(slug);
      if (it == impl_->invoice_links.end()) {
        error = Error{ErrorCode::kNotFound, "no such invoice link"};
      } else {
        invoice = it->second;
      }
    }
    if (invoice) {
      BotRec& b = impl_->bots.at(invoice->bot);
      ChatRec* chat = impl_->private_chat_locked(b.id, user, false);
      if (chat && chat->blocked) {
        error = Error{ErrorCode::kPermissionDenied, "the person blocked this bot; unblock it first"};
      } else {
        std::string id = impl_->next_id_locked();
        impl_->checkouts[id] = CheckoutRec{b.id, user, *invoice, std::move(done)};
        impl_->enqueue_locked(b, "pre_checkout_query",
                              {{"id", id},
                               {"from", impl_->user_json(impl_->users.at(user))},
                               {"currency", invoice->currency},
                               {"total_amount", invoice->amount},
                               {"invoice_payload", invoice->payload}},
                              fx);
        Impl* impl = impl_.get();
        impl_->schedule_locked(Steady::now() + impl_->options.pre_checkout_timeout, [impl, id] {
          PaymentCallback expired;
          {
            std::lock_guard lock(impl->mu);
            auto it = impl->checkouts.find(id);
            if (it == impl->checkouts.end()) return;
            expired = std::move(it->second.done);
            impl->checkouts.erase(it);
          }
          expired(json{{"status", "timeout"}});
        });
      }
    }
  }
  for (auto& e : fx) e();
  if (error) done(fail(*error));
}

Result<json> Emulator::read_chat(std::int64_t user, std::string_view bot) {
  std::lock_guard lock(impl_->mu);
  if (!impl_->users.count(user)) return fail(ErrorCode::kNotFound, "no such user");
  BotRec* b = impl_->find_bot_locked(bot);
  if (!b) return fail(ErrorCode::kNotFound, "no such bot");
  json out = {{"bot", impl_->bot_json(*b)}, {"messages", json::array()}, {"reply_keyboard", nullptr}, {"blocked", false}};
  if (ChatRec* chat = impl_->private_chat_locked(b->id, user, false)) {
    out["chat"] = impl_->chat_json(*chat);
    out["reply_keyboard"] = chat->reply_keyboard;
    out["blocked"] = chat->blocked;
    for (const auto& [id, rec] : chat->messages) {
      out["messages"].push_back({{"message", rec.message}, {"from_bot", rec.by_bot}, {"edits", rec.edits}});
    }
  }
  return out;
}

}  // namespace ms::sandbox
