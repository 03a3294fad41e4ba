// Typed models of the Telegram Bot API objects Mothership reads and writes, and their JSON
// mapping (types_json*.cpp).
//
// Parsing is tolerant of fields it does not know (Telegram adds fields with every API
// version) and strict about required ones: a missing or mistyped required field gives an
// Error (kInvalidArgument) whose message names the field path, e.g.
// "update.message.chat.id: required field is missing". Nothing throws out of from_json.
// to_json emits Telegram's exact field names and omits absent optionals; optional booleans
// are written only when true, as the Bot API server does. Update kinds we do not model
// are kept as raw JSON and reported as UpdateKind::kUnknown.
//
// Threads: plain values; the functions are stateless and safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace ms::telegram {

using Json = nlohmann::json;

struct User {
  std::int64_t id = 0;
  bool is_bot = false;
  std::string first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> username;
  std::optional<std::string> language_code;
  bool is_premium = false;
  // Returned only by getMe; kept optional so a getMe answer round-trips unchanged.
  std::optional<bool> can_join_groups;
  std::optional<bool> can_read_all_group_messages;
  std::optional<bool> supports_inline_queries;
};

enum class ChatType { kPrivate, kGroup, kSupergroup, kChannel };
std::string_view to_string(ChatType type);

struct Chat {
  std::int64_t id = 0;
  ChatType type = ChatType::kPrivate;
  std::optional<std::string> title;
  std::optional<std::string> username;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  bool is_forum = false;
};

struct MessageEntity {
  std::string type;         // "bold", "bot_command", "text_link", ... (kept as text: the list grows)
  std::int64_t offset = 0;  // UTF-16 code units
  std::int64_t length = 0;  // UTF-16 code units
  std::optional<std::string> url;
  std::optional<User> user;
  std::optional<std::string> language;
  std::optional<std::string> custom_emoji_id;
};

struct PhotoSize {
  std::string file_id;
  std::string file_unique_id;
  std::int64_t width = 0;
  std::int64_t height = 0;
  std::optional<std::int64_t> file_size;
};

struct Document {
  std::string file_id;
  std::string file_unique_id;
  std::optional<PhotoSize> thumbnail;
  std::optional<std::string> file_name;
  std::optional<std::string> mime_type;
  std::optional<std::int64_t> file_size;
};

struct Contact {
  std::string phone_number;
  std::string first_name;
  std::optional<std::string> last_name;
  std::optional<std::int64_t> user_id;
  std::optional<std::string> vcard;
};

struct File {
  std::string file_id;
  std::string file_unique_id;
  std::optional<std::int64_t> file_size;
  std::optional<std::string> file_path;
};

struct InlineKeyboardButton {
  std::string text;
  // Exactly one kind field is meant to be set; Telegram checks them in this order.
  std::optional<std::string> url;
  std::optional<std::string> callback_data;  // 1-64 bytes
  bool callback_game = false;
  bool pay = false;
  std::optional<std::string> switch_inline_query;
  std::optional<std::string> switch_inline_query_current_chat;
  std::optional<std::string> login_url;    // LoginUrl.url
  std::optional<std::string> web_app_url;  // WebAppInfo.url
  std::optional<std::string> copy_text;    // CopyTextButton.text
  std::optional<std::string> style;        // "danger" | "success" | "primary"

  static InlineKeyboardButton callback(std::string text, std::string data);
  static InlineKeyboardButton link(std::string text, std::string url);
  static InlineKeyboardButton pay_button(std::string text);
};

struct InlineKeyboardMarkup {
  std::vector<std::vector<InlineKeyboardButton>> inline_keyboard;
};

struct KeyboardButton {
  std::string text;
  bool request_contact = false;
  bool request_location = false;
  std::optional<std::string> web_app_url;
  std::optional<std::string> style;
};

struct ReplyKeyboardMarkup {
  std::vector<std::vector<KeyboardButton>> keyboard;
  bool is_persistent = false;
  bool resize_keyboard = false;
  bool one_time_keyboard = false;
  std::optional<std::string> input_field_placeholder;
  bool selective = false;
};

struct ReplyKeyboardRemove {
  bool selective = false;
};

struct ForceReply {
  std::optional<std::string> input_field_placeholder;
  bool selective = false;
};

// The reply_markup parameter of send methods.
using ReplyMarkup = std::variant<InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, ForceReply>;

struct Invoice {
  std::string title;
  std::string description;
  std::string start_parameter;
  std::string currency;
  std::int64_t total_amount = 0;
};

struct LabeledPrice {
  std::string label;
  std::int64_t amount = 0;
};

struct SuccessfulPayment {
  std::string currency;
  std::int64_t total_amount = 0;
  std::string invoice_payload;
  std::optional<std::int64_t> subscription_expiration_date;
  bool is_recurring = false;
  bool is_first_recurring = false;
  std::optional<std::string> shipping_option_id;
  std::optional<Json> order_info;
  std::string telegram_payment_charge_id;
  std::string provider_payment_charge_id;  // required; empty for Stars
};

struct RefundedPayment {
  std::string currency;  // always "XTR" today
  std::int64_t total_amount = 0;
  std::string invoice_payload;
  std::string telegram_payment_charge_id;
  std::optional<std::string> provider_payment_charge_id;
};

// Message.forward_origin, reduced to what a bot needs to tell where a forward came from.
struct MessageOrigin {
  std::string type;  // "user" | "hidden_user" | "chat" | "channel"
  std::int64_t date = 0;
  std::optional<User> sender_user;              // type "user"
  std::optional<std::string> sender_user_name;  // type "hidden_user"
  std::optional<Chat> chat;                     // "chat": sender_chat, "channel": chat
  std::optional<std::int64_t> message_id;       // type "channel"
};

struct Message {
  std::int64_t message_id = 0;
  std::optional<User> from;
  std::optional<Chat> sender_chat;
  Chat chat;
  std::int64_t date = 0;  // Unix seconds; 0 marks an InaccessibleMessage
  std::optional<std::int64_t> edit_date;
  std::optional<MessageOrigin> forward_origin;
  std::shared_ptr<const Message> reply_to_message;
  std::optional<std::string> text;
  std::vector<MessageEntity> entities;
  std::optional<std::string> caption;
  std::vector<MessageEntity> caption_entities;
  std::vector<PhotoSize> photo;
  std::optional<Document> document;
  std::optional<Contact> contact;
  std::optional<Invoice> invoice;
  std::optional<SuccessfulPayment> successful_payment;
  std::optional<RefundedPayment> refunded_payment;
  std::optional<InlineKeyboardMarkup> reply_markup;

  // A callback's message that was deleted or is too old comes as {chat, message_id, date: 0}.
  bool is_inaccessible() const { return date == 0; }
  // "/start" for "/start@shop_bot payload" when the text begins with a bot_command entity.
  std::optional<std::string> command() const;
};

struct MessageId {
  std::int64_t message_id = 0;
};

struct CallbackQuery {
  std::string id;
  User from;
  std::optional<Message> message;
  std::optional<std::string> inline_message_id;
  std::string chat_instance;
  std::optional<std::string> data;
  std::optional<std::string> game_short_name;
};

enum class ChatMemberStatus { kCreator, kAdministrator, kMember, kRestricted, kLeft, kKicked };
std::string_view to_string(ChatMemberStatus status);

// One ChatMember* variant; `status` says which fields mean something.
struct ChatMember {
  ChatMemberStatus status = ChatMemberStatus::kMember;
  User user;
  bool is_anonymous = false;                // creator, administrator (required there)
  std::optional<std::string> custom_title;  // creator, administrator
  bool can_be_edited = false;               // administrator (required there)
  bool is_member = false;                   // restricted (required there)
  std::optional<std::int64_t> until_date;   // member (optional); restricted, kicked (required)
  std::optional<std::string> tag;           // member, restricted
  std::map<std::string, bool> rights;       // every can_* flag as sent (admin rights, restrictions)

  // True while the user is in the chat: creator, administrator, member, or restricted
  // with is_member. What "has joined the channel" checks need.
  bool is_present() const;
  bool can(const std::string& right) const;
};

struct ChatMemberUpdated {
  Chat chat;
  User from;
  std::int64_t date = 0;
  ChatMember old_chat_member;
  ChatMember new_chat_member;
  std::optional<Json> invite_link;
  bool via_join_request = false;
  bool via_chat_folder_invite_link = false;
};

struct PreCheckoutQuery {
  std::string id;
  User from;
  std::string currency;
  std::int64_t total_amount = 0;
  std::string invoice_payload;
  std::optional<std::string> shipping_option_id;
  std::optional<Json> order_info;
};

struct WebhookInfo {
  std::string url;
  bool has_custom_certificate = false;
  std::int64_t pending_update_count = 0;
  std::optional<std::string> ip_address;
  std::optional<std::int64_t> last_error_date;
  std::optional<std::string> last_error_message;
  std::optional<std::int64_t> last_synchronization_error_date;
  std::optional<std::int64_t> max_connections;
  std::optional<std::vector<std::string>> allowed_updates;
};

struct BotCommand {
  std::string command;
  std::string description;
};

enum class UpdateKind {
  kMessage,
  kEditedMessage,
  kChannelPost,
  kEditedChannelPost,
  kCallbackQuery,
  kPreCheckoutQuery,
  kMyChatMember,
  kChatMember,
  kUnknown,
};
// Telegram's field name ("message", "callback_query", ...); "unknown" for kUnknown.
std::string_view to_string(UpdateKind kind);

struct Update {
  std::int64_t update_id = 0;
  UpdateKind kind = UpdateKind::kUnknown;
  std::optional<Message> message;  // message, edited_message, channel_post, edited_channel_post
  std::optional<CallbackQuery> callback_query;
  std::optional<PreCheckoutQuery> pre_checkout_query;
  std::optional<ChatMemberUpdated> chat_member;  // my_chat_member, chat_member
  // For kUnknown: the field Telegram used ("poll", "inline_query", ...) and the whole update.
  std::string unknown_field;
  Json raw;

  // The chat an update belongs to (for per-chat ordering); nullopt when there is none.
  std::optional<std::int64_t> chat_id() const;
  // The person who caused the update, when there is one.
  const User* sender() const;
};

// from_json<T>: defined for every type above, plus bool and std::string (method results
// such as `true` and an invoice link) and std::vector<Update> (getUpdates).
// Fails with kInvalidArgument naming the first bad field; never throws.
template <class T>
Result<T> from_json(const Json& j);

Json to_json(const User& v);
Json to_json(const Chat& v);
Json to_json(const MessageEntity& v);
Json to_json(const PhotoSize& v);
Json to_json(const Document& v);
Json to_json(const Contact& v);
Json to_json(const File& v);
Json to_json(const InlineKeyboardButton& v);
Json to_json(const InlineKeyboardMarkup& v);
Json to_json(const KeyboardButton& v);
Json to_json(const ReplyKeyboardMarkup& v);
Json to_json(const ReplyKeyboardRemove& v);
Json to_json(const ForceReply& v);
Json to_json(const ReplyMarkup& v);
Json to_json(const Invoice& v);
Json to_json(const LabeledPrice& v);
Json to_json(const SuccessfulPayment& v);
Json to_json(const RefundedPayment& v);
Json to_json(const MessageOrigin& v);
Json to_json(const Message& v);
Json to_json(const MessageId& v);
Json to_json(const CallbackQuery& v);
Json to_json(const ChatMember& v);
Json to_json(const ChatMemberUpdated& v);
Json to_json(const PreCheckoutQuery& v);
Json to_json(const WebhookInfo& v);
Json to_json(const BotCommand& v);
// An unknown update is written back as its raw JSON.
Json to_json(const Update& v);

}  // namespace ms::telegram
