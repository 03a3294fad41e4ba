// Writing the models of types.hpp as Telegram JSON, and their small helper methods.
#include <type_traits>
#include <utility>

#include "telegram/json_reader.hpp"
#include "telegram/types.hpp"

namespace ms::telegram {

using detail::put;
using detail::put_flag;

std::string_view to_string(ChatType type) {
  switch (type) {
    case ChatType::kPrivate: return "private";
    case ChatType::kGroup: return "group";
    case ChatType::kSupergroup: return "supergroup";
    case ChatType::kChannel: return "channel";
  }
  return "private";
}

std::string_view to_string(ChatMemberStatus status) {
  switch (status) {
    case ChatMemberStatus::kCreator: return "creator";
    case ChatMemberStatus::kAdministrator: return "administrator";
    case ChatMemberStatus::kMember: return "member";
    case ChatMemberStatus::kRestricted: return "restricted";
    case ChatMemberStatus::kLeft: return "left";
    case ChatMemberStatus::kKicked: return "kicked";
  }
  return "member";
}

std::string_view to_string(UpdateKind kind) {
  switch (kind) {
    case UpdateKind::kMessage: return "message";
    case UpdateKind::kEditedMessage: return "edited_message";
    case UpdateKind::kChannelPost: return "channel_post";
    case UpdateKind::kEditedChannelPost: return "edited_channel_post";
    case UpdateKind::kCallbackQuery: return "callback_query";
    case UpdateKind::kPreCheckoutQuery: return "pre_checkout_query";
    case UpdateKind::kMyChatMember: return "my_chat_member";
    case UpdateKind::kChatMember: return "chat_member";
    case UpdateKind::kUnknown: return "unknown";
  }
  return "unknown";
}

InlineKeyboardButton InlineKeyboardButton::callback(std::string text, std::string data) {
  InlineKeyboardButton b;
  b.text = std::move(text);
  b.callback_data = std::move(data);
  return b;
}

InlineKeyboardButton InlineKeyboardButton::link(std::string text, std::string url) {
  InlineKeyboardButton b;
  b.text = std::move(text);
  b.url = std::move(url);
  return b;
}

InlineKeyboardButton InlineKeyboardButton::pay_button(std::string text) {
  InlineKeyboardButton b;
  b.text = std::move(text);
  b.pay = true;
  return b;
}

std::optional<std::string> Message::command() const {
  if (!text || entities.empty()) return std::nullopt;
  const MessageEntity& e = entities.front();
  if (e.type != "bot_command" || e.offset != 0 || e.length <= 0) return std::nullopt;
  // A command is ASCII, so its UTF-16 length equals its byte length.
  std::string cmd = text->substr(0, static_cast<std::size_t>(e.length));
  if (auto at = cmd.find('@'); at != std::string::npos) cmd.resize(at);
  return cmd;
}

bool ChatMember::is_present() const {
  switch (status) {
    case ChatMemberStatus::kCreator:
    case ChatMemberStatus::kAdministrator:
    case ChatMemberStatus::kMember: return true;
    case ChatMemberStatus::kRestricted: return is_member;
    case ChatMemberStatus::kLeft:
    case ChatMemberStatus::kKicked: return false;
  }
  return false;
}

bool ChatMember::can(const std::string& right) const {
  if (status == ChatMemberStatus::kCreator) return true;
  auto it = rights.find(right);
  return it != rights.end() && it->second;
}

std::optional<std::int64_t> Update::chat_id() const {
  if (message) return message->chat.id;
  if (callback_query && callback_query->message) return callback_query->message->chat.id;
  if (callback_query) return callback_query->from.id;  // inline-mode buttons: key by the person
  if (pre_checkout_query) return pre_checkout_query->from.id;
  if (chat_member) return chat_member->chat.id;
  return std::nullopt;
}

const User* Update::sender() const {
  if (message && message->from) return &*message->from;
  if (callback_query) return &callback_query->from;
  if (pre_checkout_query) return &pre_checkout_query->from;
  if (chat_member) return &chat_member->from;
  return nullptr;
}

template <class T>
static Json list_to_json(const std::vector<T>& items) {
  Json a = Json::array();
  for (const auto& item : items) a.push_back(to_json(item));
  return a;
}

template <class T>
static Json rows_to_json(const std::vector<std::vector<T>>& rows) {
  Json a = Json::array();
  for (const auto& row : rows) a.push_back(list_to_json(row));
  return a;
}

template <class T>
static void put_obj(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = to_json(*v);
}

Json to_json(const User& v) {
  Json j{{"id", v.id}, {"is_bot", v.is_bot}, {"first_name", v.first_name}};
  put(j, "last_name", v.last_name);
  put(j, "username", v.username);
  put(j, "language_code", v.language_code);
  put_flag(j, "is_premium", v.is_premium);
  put(j, "can_join_groups", v.can_join_groups);
  put(j, "can_read_all_group_messages", v.can_read_all_group_messages);
  put(j, "supports_inline_queries", v.supports_inline_queries);
  return j;
}

Json to_json(const Chat& v) {
  Json j{{"id", v.id}, {"type", to_string(v.type)}};
  put(j, "title", v.title);
  put(j, "username", v.username);
  put(j, "first_name", v.first_name);
  put(j, "last_name", v.last_name);
  put_flag(j, "is_forum", v.is_forum);
  return j;
}

Json to_json(const MessageEntity& v) {
  Json j{{"type", v.type}, {"offset", v.offset}, {"length", v.length}};
  put(j, "url", v.url);
  put_obj(j, "user", v.user);
  put(j, "language", v.language);
  put(j, "custom_emoji_id", v.custom_emoji_id);
  return j;
}

Json to_json(const PhotoSize& v) {
  Json j{{"file_id", v.file_id}, {"file_unique_id", v.file_unique_id}, {"width", v.width}, {"height", v.height}};
  put(j, "file_size", v.file_size);
  return j;
}

Json to_json(const Document& v) {
  Json j{{"file_id", v.file_id}, {"file_unique_id", v.file_unique_id}};
  put_obj(j, "thumbnail", v.thumbnail);
  put(j, "file_name", v.file_name);
  put(j, "mime_type", v.mime_type);
  put(j, "file_size", v.file_size);
  return j;
}

Json to_json(const Contact& v) {
  Json j{{"phone_number", v.phone_number}, {"first_name", v.first_name}};
  put(j, "last_name", v.last_name);
  put(j, "user_id", v.user_id);
  put(j, "vcard", v.vcard);
  return j;
}

Json to_json(const File& v) {
  Json j{{"file_id", v.file_id}, {"file_unique_id", v.file_unique_id}};
  put(j, "file_size", v.file_size);
  put(j, "file_path", v.file_path);
  return j;
}

Json to_json(const InlineKeyboardButton& v) {
  Json j{{"text", v.text}};
  put(j, "url", v.url);
  put(j, "callback_data", v.callback_data);
  if (v.callback_game) j["callback_game"] = Json::object();
  put_flag(j, "pay", v.pay);
  put(j, "switch_inline_query", v.switch_inline_query);
  put(j, "switch_inline_query_current_chat", v.switch_inline_query_current_chat);
  if (v.login_url) j["login_url"] = Json{{"url", *v.login_url}};
  if (v.web_app_url) j["web_app"] = Json{{"url", *v.web_app_url}};
  if (v.copy_text) j["copy_text"] = Json{{"text", *v.copy_text}};
  put(j, "style", v.style);
  return j;
}

Json to_json(const InlineKeyboardMarkup& v) { return Json{{"inline_keyboard", rows_to_json(v.inline_keyboard)}}; }

Json to_json(const KeyboardButton& v) {
  Json j{{"text", v.text}};
  put_flag(j, "request_contact", v.request_contact);
  put_flag(j, "request_location", v.request_location);
  if (v.web_app_url) j["web_app"] = Json{{"url", *v.web_app_url}};
  put(j, "style", v.style);
  return j;
}

Json to_json(const ReplyKeyboardMarkup& v) {
  Json j{{"keyboard", rows_to_json(v.keyboard)}};
  put_flag(j, "is_persistent", v.is_persistent);
  put_flag(j, "resize_keyboard", v.resize_keyboard);
  put_flag(j, "one_time_keyboard", v.one_time_keyboard);
  put(j, "input_field_placeholder", v.input_field_placeholder);
  put_flag(j, "selective", v.selective);
  return j;
}

Json to_json(const ReplyKeyboardRemove& v) {
  Json j{{"remove_keyboard", true}};
  put_flag(j, "selective", v.selective);
  return j;
}

Json to_json(const ForceReply& v) {
  Json j{{"force_reply", true}};
  put(j, "input_field_placeholder", v.input_field_placeholder);
  put_flag(j, "selective", v.selective);
  return j;
}

Json to_json(const ReplyMarkup& v) {
  return std::visit([](const auto& m) { return to_json(m); }, v);
}

Json to_json(const Invoice& v) {
  return Json{{"title", v.title},
              {"description", v.description},
              {"start_parameter", v.start_parameter},
              {"currency", v.currency},
              {"total_amount", v.total_amount}};
}

Json to_json(const LabeledPrice& v) { return Json{{"label", v.label}, {"amount", v.amount}}; }

Json to_json(const SuccessfulPayment& v) {
  Json j{{"currency", v.currency}, {"total_amount", v.total_amount}, {"invoice_payload", v.invoice_payload}};
  put(j, "subscription_expiration_date", v.subscription_expiration_date);
  put_flag(j, "is_recurring", v.is_recurring);
  put_flag(j, "is_first_recurring", v.is_first_recurring);
  put(j, "shipping_option_id", v.shipping_option_id);
  put(j, "order_info", v.order_info);
  j["telegram_payment_charge_id"] = v.telegram_payment_charge_id;
  j["provider_payment_charge_id"] = v.provider_payment_charge_id;
  return j;
}

Json to_json(const RefundedPayment& v) {
  Json j{{"currency", v.currency},
         {"total_amount", v.total_amount},
         {"invoice_payload", v.invoice_payload},
         {"telegram_payment_charge_id", v.telegram_payment_charge_id}};
  put(j, "provider_payment_charge_id", v.provider_payment_charge_id);
  return j;
}

Json to_json(const MessageOrigin& v) {
  Json j{{"type", v.type}, {"date", v.date}};
  put_obj(j, "sender_user", v.sender_user);
  put(j, "sender_user_name", v.sender_user_name);
  if (v.chat) j[v.type == "chat" ? "sender_chat" : "chat"] = to_json(*v.chat);
  put(j, "message_id", v.message_id);
  return j;
}

Json to_json(const Message& v) {
  Json j{{"message_id", v.message_id}};
  put_obj(j, "from", v.from);
  put_obj(j, "sender_chat", v.sender_chat);
  j["chat"] = to_json(v.chat);
  j["date"] = v.date;
  put(j, "edit_date", v.edit_date);
  put_obj(j, "forward_origin", v.forward_origin);
  if (v.reply_to_message) j["reply_to_message"] = to_json(*v.reply_to_message);
  put(j, "text", v.text);
  if (!v.entities.empty()) j["entities"] = list_to_json(v.entities);
  if (!v.photo.empty()) j["photo"] = list_to_json(v.photo);
  put_obj(j, "document", v.document);
  put(j, "caption", v.caption);
  if (!v.caption_entities.empty()) j["caption_entities"] = list_to_json(v.caption_entities);
  put_obj(j, "contact", v.contact);
  put_obj(j, "invoice", v.invoice);
  put_obj(j, "successful_payment", v.successful_payment);
  put_obj(j, "refunded_payment", v.refunded_payment);
  put_obj(j, "reply_markup", v.reply_markup);
  return j;
}

Json to_json(const MessageId& v) { return Json{{"message_id", v.message_id}}; }

Json to_json(const CallbackQuery& v) {
  Json j{{"id", v.id}, {"from", to_json(v.from)}};
  put_obj(j, "message", v.message);
  put(j, "inline_message_id", v.inline_message_id);
  j["chat_instance"] = v.chat_instance;
  put(j, "data", v.data);
  put(j, "game_short_name", v.game_short_name);
  return j;
}

Json to_json(const ChatMember& v) {
  Json j{{"status", to_string(v.status)}, {"user", to_json(v.user)}};
  switch (v.status) {
    case ChatMemberStatus::kCreator: j["is_anonymous"] = v.is_anonymous; break;
    case ChatMemberStatus::kAdministrator:
      j["can_be_edited"] = v.can_be_edited;
      j["is_anonymous"] = v.is_anonymous;
      break;
    case ChatMemberStatus::kRestricted:
      j["is_member"] = v.is_member;
      j["until_date"] = v.until_date.value_or(0);
      break;
    case ChatMemberStatus::kKicked: j["until_date"] = v.until_date.value_or(0); break;
    case ChatMemberStatus::kMember: put(j, "until_date", v.until_date); break;
    case ChatMemberStatus::kLeft: break;
  }
  put(j, "custom_title", v.custom_title);
  put(j, "tag", v.tag);
  for (const auto& [right, allowed] : v.rights) j[right] = allowed;
  return j;
}

Json to_json(const ChatMemberUpdated& v) {
  Json j{{"chat", to_json(v.chat)},
         {"from", to_json(v.from)},
         {"date", v.date},
         {"old_chat_member", to_json(v.old_chat_member)},
         {"new_chat_member", to_json(v.new_chat_member)}};
  put(j, "invite_link", v.invite_link);
  put_flag(j, "via_join_request", v.via_join_request);
  put_flag(j, "via_chat_folder_invite_link", v.via_chat_folder_invite_link);
  return j;
}

Json to_json(const PreCheckoutQuery& v) {
  Json j{{"id", v.id},
         {"from", to_json(v.from)},
         {"currency", v.currency},
         {"total_amount", v.total_amount},
         {"invoice_payload", v.invoice_payload}};
  put(j, "shipping_option_id", v.shipping_option_id);
  put(j, "order_info", v.order_info);
  return j;
}

Json to_json(const WebhookInfo& v) {
  Json j{{"url", v.url},
         {"has_custom_certificate", v.has_custom_certificate},
         {"pending_update_count", v.pending_update_count}};
  put(j, "ip_address", v.ip_address);
  put(j, "last_error_date", v.last_error_date);
  put(j, "last_error_message", v.last_error_message);
  put(j, "last_synchronization_error_date", v.last_synchronization_error_date);
  put(j, "max_connections", v.max_connections);
  put(j, "allowed_updates", v.allowed_updates);
  return j;
}

Json to_json(const BotCommand& v) { return Json{{"command", v.command}, {"description", v.description}}; }

Json to_json(const Update& v) {
  if (v.kind == UpdateKind::kUnknown) return v.raw;
  Json j{{"update_id", v.update_id}};
  const std::string field(to_string(v.kind));
  if (v.message) j[field] = to_json(*v.message);
  if (v.callback_query) j[field] = to_json(*v.callback_query);
  if (v.pre_checkout_query) j[field] = to_json(*v.pre_checkout_query);
  if (v.chat_member) j[field] = to_json(*v.chat_member);
  return j;
}

}  // namespace ms::telegram
