// Request builders for the Bot API methods Mothership calls. Each method is a struct with
// its parameters and:
//   kName                 the method name as Telegram spells it ("sendMessage");
//   using Response        the type of `result` on success (parse with from_json<Response>);
//   to_params()           the parameters as a JSON object, Telegram's field names, absent
//                         optionals omitted, JSON-serialized parameters as nested JSON;
//   validate()            the error Telegram would return for these parameters when a limit
//                         of limits.hpp is broken (same code and description), else nullopt;
//   uploads()             (sendPhoto, sendDocument) the files to send as multipart parts.
// make_request() runs validate() and packs everything for a transport.
//
// Threads: plain values and stateless functions; safe from any thread.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

#include "telegram/errors.hpp"
#include "telegram/types.hpp"

namespace ms::telegram {

// A numeric chat id or "@channelusername".
using ChatId = std::variant<std::int64_t, std::string>;
Json to_json(const ChatId& id);

// A file to send: an existing file_id or an HTTP URL (Telegram fetches it), or bytes to upload.
struct InputFile {
  struct Upload {
    std::string bytes;
    std::string filename;
    std::string mime_type;
  };
  std::string reference;  // file_id or URL; empty for uploads
  std::optional<Upload> upload;

  static InputFile from_reference(std::string file_id_or_url);
  static InputFile from_bytes(std::string bytes, std::string filename, std::string mime_type);
  bool is_upload() const { return upload.has_value(); }
};

// One multipart file part; the field name is the parameter name ("photo", "document").
struct UploadPart {
  std::string field;
  std::string filename;
  std::string mime_type;
  std::string bytes;
};

using Check = std::optional<TelegramError>;

struct GetMe {
  static constexpr std::string_view kName = "getMe";
  using Response = User;
  Json to_params() const;
};

struct GetUpdates {
  static constexpr std::string_view kName = "getUpdates";
  using Response = std::vector<Update>;
  std::optional<std::int64_t> offset;
  std::optional<int> limit;    // 1-100; Telegram clamps
  std::optional<int> timeout;  // seconds of long polling, 0-50; Telegram clamps
  std::optional<std::vector<std::string>> allowed_updates;
  Json to_params() const;
};

struct SetWebhook {
  static constexpr std::string_view kName = "setWebhook";
  using Response = bool;
  std::string url;  // empty removes the webhook
  std::optional<std::string> secret_token;
  std::optional<int> max_connections;
  std::optional<std::vector<std::string>> allowed_updates;
  bool drop_pending_updates = false;
  std::optional<std::string> ip_address;
  Json to_params() const;
  Check validate() const;
};

struct DeleteWebhook {
  static constexpr std::string_view kName = "deleteWebhook";
  using Response = bool;
  bool drop_pending_updates = false;
  Json to_params() const;
};

struct GetWebhookInfo {
  static constexpr std::string_view kName = "getWebhookInfo";
  using Response = WebhookInfo;
  Json to_params() const;
};

// Options shared by the send methods.
struct SendOptions {
  bool disable_notification = false;
  bool protect_content = false;
  std::optional<std::int64_t> reply_to_message_id;  // sent as reply_parameters, tolerant of a deleted target
  std::optional<std::int64_t> message_thread_id;
};

struct SendMessage {
  static constexpr std::string_view kName = "sendMessage";
  using Response = Message;
  ChatId chat_id;
  std::string text;
  std::optional<std::string> parse_mode;
  std::vector<MessageEntity> entities;
  bool disable_link_preview = false;
  SendOptions options;
  std::optional<ReplyMarkup> reply_markup;
  Json to_params() const;
  Check validate() const;
};

struct EditMessageText {
  static constexpr std::string_view kName = "editMessageText";
  using Response = Message;
  ChatId chat_id;
  std::int64_t message_id = 0;
  std::string text;
  std::optional<std::string> parse_mode;
  std::vector<MessageEntity> entities;
  bool disable_link_preview = false;
  std::optional<InlineKeyboardMarkup> reply_markup;
  Json to_params() const;
  Check validate() const;
};

struct EditMessageReplyMarkup {
  static constexpr std::string_view kName = "editMessageReplyMarkup";
  using Response = Message;
  ChatId chat_id;
  std::int64_t message_id = 0;
  std::optional<InlineKeyboardMarkup> reply_markup;  // absent removes the keyboard
  Json to_params() const;
  Check validate() const;
};

struct DeleteMessage {
  static constexpr std::string_view kName = "deleteMessage";
  using Response = bool;
  ChatId chat_id;
  std::int64_t message_id = 0;
  Json to_params() const;
  Check validate() const;
};

struct AnswerCallbackQuery {
  static constexpr std::string_view kName = "answerCallbackQuery";
  using Response = bool;
  std::string callback_query_id;
  std::optional<std::string> text;  // 0-200 characters
  bool show_alert = false;
  std::optional<std::string> url;
  std::optional<int> cache_time;
  Json to_params() const;
  Check validate() const;
};

struct SendPhoto {
  static constexpr std::string_view kName = "sendPhoto";
  using Response = Message;
  ChatId chat_id;
  InputFile photo;
  std::optional<std::string> caption;
  std::optional<std::string> parse_mode;
  std::vector<MessageEntity> caption_entities;
  bool has_spoiler = false;
  SendOptions options;
  std::optional<ReplyMarkup> reply_markup;
  Json to_params() const;
  Check validate() const;
  std::vector<UploadPart> uploads() const;
};

struct SendDocument {
  static constexpr std::string_view kName = "sendDocument";
  using Response = Message;
  ChatId chat_id;
  InputFile document;
  std::optional<std::string> caption;
  std::optional<std::string> parse_mode;
  std::vector<MessageEntity> caption_entities;
  bool disable_content_type_detection = false;
  SendOptions options;
  std::optional<ReplyMarkup> reply_markup;
  Json to_params() const;
  Check validate() const;
  std::vector<UploadPart> uploads() const;
};

struct CopyMessage {
  static constexpr std::string_view kName = "copyMessage";
  using Response = MessageId;
  ChatId chat_id;
  ChatId from_chat_id;
  std::int64_t message_id = 0;
  std::optional<std::string> caption;  // replaces the caption of a media message
  std::optional<std::string> parse_mode;
  SendOptions options;
  std::optional<ReplyMarkup> reply_markup;
  Json to_params() const;
  Check validate() const;
};

struct ForwardMessage {
  static constexpr std::string_view kName = "forwardMessage";
  using Response = Message;
  ChatId chat_id;
  ChatId from_chat_id;
  std::int64_t message_id = 0;
  bool disable_notification = false;
  bool protect_content = false;
  Json to_params() const;
  Check validate() const;
};

struct GetChatMember {
  static constexpr std::string_view kName = "getChatMember";
  using Response = ChatMember;
  ChatId chat_id;
  std::int64_t user_id = 0;
  Json to_params() const;
  Check validate() const;
};

// getChat answers a ChatFullInfo; its Chat fields are read and the rest ignored.
struct GetChat {
  static constexpr std::string_view kName = "getChat";
  using Response = Chat;
  ChatId chat_id;
  Json to_params() const;
  Check validate() const;
};

struct GetFile {
  static constexpr std::string_view kName = "getFile";
  using Response = File;
  std::string file_id;
  Json to_params() const;
  Check validate() const;
};

struct BotCommandScope {
  // "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
  // "chat_administrators", "chat_member".
  std::string type = "default";
  std::optional<ChatId> chat_id;
  std::optional<std::int64_t> user_id;
};

struct SetMyCommands {
  static constexpr std::string_view kName = "setMyCommands";
  using Response = bool;
  std::vector<BotCommand> commands;
  std::optional<BotCommandScope> scope;
  std::optional<std::string> language_code;
  Json to_params() const;
  Check validate() const;
};

struct SetMyDescription {
  static constexpr std::string_view kName = "setMyDescription";
  using Response = bool;
  std::string description;  // 0-512; empty removes it for the language
  std::optional<std::string> language_code;
  Json to_params() const;
  Check validate() const;
};

struct SetMyShortDescription {
  static constexpr std::string_view kName = "setMyShortDescription";
  using Response = bool;
  std::string short_description;  // 0-120
  std::optional<std::string> language_code;
  Json to_params() const;
  Check validate() const;
};

// A Telegram Stars invoice: currency "XTR", empty provider_token, exactly one price.
struct SendInvoice {
  static constexpr std::string_view kName = "sendInvoice";
  using Response = Message;
  ChatId chat_id;
  std::string title;
  std::string description;
  std::string payload;  // 1-128 bytes, returned in pre_checkout_query and successful_payment
  std::string currency = "XTR";
  std::vector<LabeledPrice> prices;
  std::optional<std::string> start_parameter;
  std::optional<std::string> photo_url;
  SendOptions options;
  std::optional<InlineKeyboardMarkup> reply_markup;  // first button must be a Pay button

  static SendInvoice stars(ChatId chat, std::string title, std::string description, std::string payload,
                           std::string label, std::int64_t stars);
  Json to_params() const;
  Check validate() const;
};

struct CreateInvoiceLink {
  static constexpr std::string_view kName = "createInvoiceLink";
  using Response = std::string;
  std::string title;
  std::string description;
  std::string payload;
  std::string currency = "XTR";
  std::vector<LabeledPrice> prices;
  std::optional<std::int64_t> subscription_period;  // 2592000 for a monthly Stars subscription
  std::optional<std::string> photo_url;

  static CreateInvoiceLink stars(std::string title, std::string description, std::string payload, std::string label,
                                 std::int64_t stars);
  Json to_params() const;
  Check validate() const;
};

struct AnswerPreCheckoutQuery {
  static constexpr std::string_view kName = "answerPreCheckoutQuery";
  using Response = bool;
  std::string pre_checkout_query_id;
  bool ok = true;
  std::optional<std::string> error_message;  // required when ok is false
  Json to_params() const;
  Check validate() const;
};

struct RefundStarPayment {
  static constexpr std::string_view kName = "refundStarPayment";
  using Response = bool;
  std::int64_t user_id = 0;
  std::string telegram_payment_charge_id;
  Json to_params() const;
  Check validate() const;
};

// What a transport needs to perform any method.
struct Request {
  std::string method;
  Json params;  // a JSON object
  std::vector<UploadPart> uploads;
  bool needs_multipart() const { return !uploads.empty(); }
};

template <class M>
concept HasValidate = requires(const M& m) {
  { m.validate() } -> std::same_as<Check>;
};
template <class M>
concept HasUploads = requires(const M& m) {
  { m.uploads() } -> std::same_as<std::vector<UploadPart>>;
};

// Every string in `params` (keys and values, nested too) must be UTF-8, as the Bot API
// requires and as JSON serialization needs. Wording of the error is unconfirmed.
Check check_utf8_params(const Json& params);

// Validates and packs a method. Fails with the error Telegram would have given.
template <class M>
tl::expected<Request, TelegramError> make_request(const M& method) {
  if constexpr (HasValidate<M>) {
    if (auto bad = method.validate()) return tl::unexpected(std::move(*bad));
  }
  Request r{std::string(M::kName), method.to_params(), {}};
  if (auto bad = check_utf8_params(r.params)) return tl::unexpected(std::move(*bad));
  if constexpr (HasUploads<M>) r.uploads = method.uploads();
  return r;
}

// Parameters as text fields for multipart/form-data or urlencoded bodies: strings as they
// are, everything else (numbers, booleans, objects, arrays) as its JSON text.
std::vector<std::pair<std::string, std::string>> form_fields(const Json& params);

}  // namespace ms::telegram
