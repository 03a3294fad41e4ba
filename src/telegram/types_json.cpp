// Reading Telegram JSON into the models of types.hpp. Writing is in types_json_write.cpp.
#include <utility>

#include "telegram/json_reader.hpp"
#include "telegram/types.hpp"

namespace ms::telegram {
namespace detail {

void read(const Json& j, JsonContext& c, const std::string& path, User& out) {
  ObjectReader r(j, c, path);
  r.req("id", out.id);
  r.req("is_bot", out.is_bot);
  r.req("first_name", out.first_name);
  r.opt("last_name", out.last_name);
  r.opt("username", out.username);
  r.opt("language_code", out.language_code);
  r.flag("is_premium", out.is_premium);
  r.opt("can_join_groups", out.can_join_groups);
  r.opt("can_read_all_group_messages", out.can_read_all_group_messages);
  r.opt("supports_inline_queries", out.supports_inline_queries);
}

void read(const Json& j, JsonContext& c, const std::string& path, Chat& out) {
  ObjectReader r(j, c, path);
  r.req("id", out.id);
  std::string type;
  r.req("type", type);
  if (r.ok()) {
    if (type == "private") {
      out.type = ChatType::kPrivate;
    } else if (type == "group") {
      out.type = ChatType::kGroup;
    } else if (type == "supergroup") {
      out.type = ChatType::kSupergroup;
    } else if (type == "channel") {
      out.type = ChatType::kChannel;
    } else {
      c.fail(r.sub("type"), "unknown chat type \"" + type + "\"");
    }
  }
  r.opt("title", out.title);
  r.opt("username", out.username);
  r.opt("first_name", out.first_name);
  r.opt("last_name", out.last_name);
  r.flag("is_forum", out.is_forum);
}

void read(const Json& j, JsonContext& c, const std::string& path, MessageEntity& out) {
  ObjectReader r(j, c, path);
  r.req("type", out.type);
  r.req("offset", out.offset);
  r.req("length", out.length);
  r.opt("url", out.url);
  r.opt("user", out.user);
  r.opt("language", out.language);
  r.opt("custom_emoji_id", out.custom_emoji_id);
}

void read(const Json& j, JsonContext& c, const std::string& path, PhotoSize& out) {
  ObjectReader r(j, c, path);
  r.req("file_id", out.file_id);
  r.req("file_unique_id", out.file_unique_id);
  r.req("width", out.width);
  r.req("height", out.height);
  r.opt("file_size", out.file_size);
}

void read(const Json& j, JsonContext& c, const std::string& path, Document& out) {
  ObjectReader r(j, c, path);
  r.req("file_id", out.file_id);
  r.req("file_unique_id", out.file_unique_id);
  r.opt("thumbnail", out.thumbnail);
  r.opt("file_name", out.file_name);
  r.opt("mime_type", out.mime_type);
  r.opt("file_size", out.file_size);
}

void read(const Json& j, JsonContext& c, const std::string& path, Contact& out) {
  ObjectReader r(j, c, path);
  r.req("phone_number", out.phone_number);
  r.req("first_name", out.first_name);
  r.opt("last_name", out.last_name);
  r.opt("user_id", out.user_id);
  r.opt("vcard", out.vcard);
}

void read(const Json& j, JsonContext& c, const std::string& path, File& out) {
  ObjectReader r(j, c, path);
  r.req("file_id", out.file_id);
  r.req("file_unique_id", out.file_unique_id);
  r.opt("file_size", out.file_size);
  r.opt("file_path", out.file_path);
}

// Reads {"<key>": {"<inner>": "..."}} into a string: WebAppInfo.url, LoginUrl.url, CopyTextButton.text.
static void read_nested_string(ObjectReader& r, JsonContext& c, const char* key, const char* inner,
                               std::optional<std::string>& out) {
  std::optional<Json> obj;
  r.opt(key, obj);
  if (!obj || c.failed()) return;
  ObjectReader nested(*obj, c, r.sub(key));
  std::string value;
  nested.req(inner, value);
  if (nested.ok()) out = std::move(value);
}

void read(const Json& j, JsonContext& c, const std::string& path, InlineKeyboardButton& out) {
  ObjectReader r(j, c, path);
  r.req("text", out.text);
  r.opt("url", out.url);
  r.opt("callback_data", out.callback_data);
  out.callback_game = r.has("callback_game");
  r.flag("pay", out.pay);
  r.opt("switch_inline_query", out.switch_inline_query);
  r.opt("switch_inline_query_current_chat", out.switch_inline_query_current_chat);
  read_nested_string(r, c, "login_url", "url", out.login_url);
  read_nested_string(r, c, "web_app", "url", out.web_app_url);
  read_nested_string(r, c, "copy_text", "text", out.copy_text);
  r.opt("style", out.style);
}

void read(const Json& j, JsonContext& c, const std::string& path, InlineKeyboardMarkup& out) {
  ObjectReader r(j, c, path);
  r.req("inline_keyboard", out.inline_keyboard);
}

void read(const Json& j, JsonContext& c, const std::string& path, KeyboardButton& out) {
  if (j.is_string()) {  // a reply-keyboard button may be a bare string
    out.text = j.get<std::string>();
    return;
  }
  ObjectReader r(j, c, path);
  r.req("text", out.text);
  r.flag("request_contact", out.request_contact);
  r.flag("request_location", out.request_location);
  read_nested_string(r, c, "web_app", "url", out.web_app_url);
  r.opt("style", out.style);
}

void read(const Json& j, JsonContext& c, const std::string& path, ReplyKeyboardMarkup& out) {
  ObjectReader r(j, c, path);
  r.req("keyboard", out.keyboard);
  r.flag("is_persistent", out.is_persistent);
  r.flag("resize_keyboard", out.resize_keyboard);
  r.flag("one_time_keyboard", out.one_time_keyboard);
  r.opt("input_field_placeholder", out.input_field_placeholder);
  r.flag("selective", out.selective);
}

void read(const Json& j, JsonContext& c, const std::string& path, ReplyKeyboardRemove& out) {
  ObjectReader r(j, c, path);
  bool remove = false;
  r.req("remove_keyboard", remove);
  if (r.ok() && !remove) c.fail(r.sub("remove_keyboard"), "must be true");
  r.flag("selective", out.selective);
}

void read(const Json& j, JsonContext& c, const std::string& path, ForceReply& out) {
  ObjectReader r(j, c, path);
  bool force = false;
  r.req("force_reply", force);
  if (r.ok() && !force) c.fail(r.sub("force_reply"), "must be true");
  r.opt("input_field_placeholder", out.input_field_placeholder);
  r.flag("selective", out.selective);
}

// Same order as the Bot API server: keyboard, inline_keyboard, remove_keyboard, force_reply.
void read(const Json& j, JsonContext& c, const std::string& path, ReplyMarkup& out) {
  ObjectReader r(j, c, path);
  if (!r.ok()) return;
  auto non_empty = [&](const char* key) {
    const Json* v = r.find(key);
    return v != nullptr && !(v->is_array() && v->empty());
  };
  if (non_empty("keyboard")) {
    ReplyKeyboardMarkup m;
    read(j, c, path, m);
    out = std::move(m);
  } else if (non_empty("inline_keyboard")) {
    InlineKeyboardMarkup m;
    read(j, c, path, m);
    out = std::move(m);
  } else if (r.has("remove_keyboard") || r.has("hide_keyboard")) {
    ReplyKeyboardRemove m;
    if (r.has("remove_keyboard")) read(j, c, path, m);
    out = m;
  } else if (r.has("force_reply")) {
    ForceReply m;
    read(j, c, path, m);
    out = std::move(m);
  } else {
    c.fail(path, "not a keyboard, inline keyboard, keyboard removal or force reply");
  }
}

void read(const Json& j, JsonContext& c, const std::string& path, Invoice& out) {
  ObjectReader r(j, c, path);
  r.req("title", out.title);
  r.req("description", out.description);
  r.req("start_parameter", out.start_parameter);
  r.req("currency", out.currency);
  r.req("total_amount", out.total_amount);
}

void read(const Json& j, JsonContext& c, const std::string& path, LabeledPrice& out) {
  ObjectReader r(j, c, path);
  r.req("label", out.label);
  r.req("amount", out.amount);
}

void read(const Json& j, JsonContext& c, const std::string& path, SuccessfulPayment& out) {
  ObjectReader r(j, c, path);
  r.req("currency", out.currency);
  r.req("total_amount", out.total_amount);
  r.req("invoice_payload", out.invoice_payload);
  r.opt("subscription_expiration_date", out.subscription_expiration_date);
  r.flag("is_recurring", out.is_recurring);
  r.flag("is_first_recurring", out.is_first_recurring);
  r.opt("shipping_option_id", out.shipping_option_id);
  r.opt("order_info", out.order_info);
  r.req("telegram_payment_charge_id", out.telegram_payment_charge_id);
  // Required by the API, but the server writes it empty for Stars and some clients drop
  // empty strings; accept absence as the empty id rather than losing a payment.
  std::optional<std::string> provider;
  r.opt("provider_payment_charge_id", provider);
  out.provider_payment_charge_id = provider.value_or("");
}

void read(const Json& j, JsonContext& c, const std::string& path, RefundedPayment& out) {
  ObjectReader r(j, c, path);
  r.req("currency", out.currency);
  r.req("total_amount", out.total_amount);
  r.req("invoice_payload", out.invoice_payload);
  r.req("telegram_payment_charge_id", out.telegram_payment_charge_id);
  r.opt("provider_payment_charge_id", out.provider_payment_charge_id);
}

void read(const Json& j, JsonContext& c, const std::string& path, MessageOrigin& out) {
  ObjectReader r(j, c, path);
  r.req("type", out.type);
  r.req("date", out.date);
  r.opt("sender_user", out.sender_user);
  r.opt("sender_user_name", out.sender_user_name);
  if (r.has("sender_chat")) {
    r.opt("sender_chat", out.chat);
  } else {
    r.opt("chat", out.chat);
  }
  r.opt("message_id", out.message_id);
}

void read(const Json& j, JsonContext& c, const std::string& path, Message& out);

void read(const Json& j, JsonContext& c, const std::string& path, std::shared_ptr<const Message>& out) {
  auto m = std::make_shared<Message>();
  read(j, c, path, *m);
  out = std::move(m);
}

void read(const Json& j, JsonContext& c, const std::string& path, Message& out) {
  ObjectReader r(j, c, path);
  r.req("message_id", out.message_id);
  r.opt("from", out.from);
  r.opt("sender_chat", out.sender_chat);
  r.req("chat", out.chat);
  r.req("date", out.date);
  r.opt("edit_date", out.edit_date);
  r.opt("forward_origin", out.forward_origin);
  if (const Json* reply = r.find("reply_to_message"); reply != nullptr && r.ok()) {
    read(*reply, c, r.sub("reply_to_message"), out.reply_to_message);
  }
  r.opt("text", out.text);
  r.list("entities", out.entities);
  r.opt("caption", out.caption);
  r.list("caption_entities", out.caption_entities);
  r.list("photo", out.photo);
  r.opt("document", out.document);
  r.opt("contact", out.contact);
  r.opt("invoice", out.invoice);
  r.opt("successful_payment", out.successful_payment);
  r.opt("refunded_payment", out.refunded_payment);
  r.opt("reply_markup", out.reply_markup);
}

void read(const Json& j, JsonContext& c, const std::string& path, MessageId& out) {
  ObjectReader r(j, c, path);
  r.req("message_id", out.message_id);
}

void read(const Json& j, JsonContext& c, const std::string& path, CallbackQuery& out) {
  ObjectReader r(j, c, path);
  r.req("id", out.id);
  r.req("from", out.from);
  r.opt("message", out.message);
  r.opt("inline_message_id", out.inline_message_id);
  r.req("chat_instance", out.chat_instance);
  r.opt("data", out.data);
  r.opt("game_short_name", out.game_short_name);
}

void read(const Json& j, JsonContext& c, const std::string& path, ChatMember& out) {
  ObjectReader r(j, c, path);
  std::string status;
  r.req("status", status);
  r.req("user", out.user);
  if (!r.ok()) return;
  if (status == "creator") {
    out.status = ChatMemberStatus::kCreator;
    r.req("is_anonymous", out.is_anonymous);
  } else if (status == "administrator") {
    out.status = ChatMemberStatus::kAdministrator;
    r.req("can_be_edited", out.can_be_edited);
    r.req("is_anonymous", out.is_anonymous);
  } else if (status == "member") {
    out.status = ChatMemberStatus::kMember;
    r.opt("until_date", out.until_date);
  } else if (status == "restricted") {
    out.status = ChatMemberStatus::kRestricted;
    r.req("is_member", out.is_member);
    std::int64_t until = 0;
    r.req("until_date", until);
    out.until_date = until;
  } else if (status == "left") {
    out.status = ChatMemberStatus::kLeft;
  } else if (status == "kicked") {
    out.status = ChatMemberStatus::kKicked;
    std::int64_t until = 0;
    r.req("until_date", until);
    out.until_date = until;
  } else {
    c.fail(r.sub("status"), "unknown chat member status \"" + status + "\"");
    return;
  }
  r.opt("custom_title", out.custom_title);
  r.opt("tag", out.tag);
  for (const auto& [key, value] : j.items()) {
    if (key.rfind("can_", 0) == 0 && key != "can_be_edited") {
      if (!value.is_boolean()) {
        c.fail(r.sub(key.c_str()), "expected a boolean");
        return;
      }
      out.rights[key] = value.get<bool>();
    }
  }
}

void read(const Json& j, JsonContext& c, const std::string& path, ChatMemberUpdated& out) {
  ObjectReader r(j, c, path);
  r.req("chat", out.chat);
  r.req("from", out.from);
  r.req("date", out.date);
  r.req("old_chat_member", out.old_chat_member);
  r.req("new_chat_member", out.new_chat_member);
  r.opt("invite_link", out.invite_link);
  r.flag("via_join_request", out.via_join_request);
  r.flag("via_chat_folder_invite_link", out.via_chat_folder_invite_link);
}

void read(const Json& j, JsonContext& c, const std::string& path, PreCheckoutQuery& out) {
  ObjectReader r(j, c, path);
  r.req("id", out.id);
  r.req("from", out.from);
  r.req("currency", out.currency);
  r.req("total_amount", out.total_amount);
  r.req("invoice_payload", out.invoice_payload);
  r.opt("shipping_option_id", out.shipping_option_id);
  r.opt("order_info", out.order_info);
}

void read(const Json& j, JsonContext& c, const std::string& path, WebhookInfo& out) {
  ObjectReader r(j, c, path);
  r.req("url", out.url);
  r.req("has_custom_certificate", out.has_custom_certificate);
  r.req("pending_update_count", out.pending_update_count);
  r.opt("ip_address", out.ip_address);
  r.opt("last_error_date", out.last_error_date);
  r.opt("last_error_message", out.last_error_message);
  r.opt("last_synchronization_error_date", out.last_synchronization_error_date);
  r.opt("max_connections", out.max_connections);
  r.opt("allowed_updates", out.allowed_updates);
}

void read(const Json& j, JsonContext& c, const std::string& path, BotCommand& out) {
  ObjectReader r(j, c, path);
  r.req("command", out.command);
  r.req("description", out.description);
}

void read(const Json& j, JsonContext& c, const std::string& path, Update& out) {
  ObjectReader r(j, c, path);
  r.req("update_id", out.update_id);
  if (!r.ok()) return;
  struct MessageKind {
    const char* field;
    UpdateKind kind;
  };
  static constexpr MessageKind kMessageKinds[] = {
      {"message", UpdateKind::kMessage},
      {"edited_message", UpdateKind::kEditedMessage},
      {"channel_post", UpdateKind::kChannelPost},
      {"edited_channel_post", UpdateKind::kEditedChannelPost},
  };
  for (const auto& mk : kMessageKinds) {
    if (r.has(mk.field)) {
      out.kind = mk.kind;
      r.opt(mk.field, out.message);
      return;
    }
  }
  if (r.has("callback_query")) {
    out.kind = UpdateKind::kCallbackQuery;
    r.opt("callback_query", out.callback_query);
  } else if (r.has("pre_checkout_query")) {
    out.kind = UpdateKind::kPreCheckoutQuery;
    r.opt("pre_checkout_query", out.pre_checkout_query);
  } else if (r.has("my_chat_member")) {
    out.kind = UpdateKind::kMyChatMember;
    r.opt("my_chat_member", out.chat_member);
  } else if (r.has("chat_member")) {
    out.kind = UpdateKind::kChatMember;
    r.opt("chat_member", out.chat_member);
  } else {
    out.kind = UpdateKind::kUnknown;
    out.raw = j;
    for (const auto& [key, value] : j.items()) {
      if (key != "update_id") {
        out.unknown_field = key;
        break;
      }
    }
  }
}

template <class T>
Result<T> parse_root(const Json& j, const char* root) {
  JsonContext c;
  T out{};
  read(j, c, root, out);
  if (c.failed()) return fail(std::move(*c.error));
  return out;
}

}  // namespace detail

#define MS_TELEGRAM_FROM_JSON(Type, root)       \
  template <>                                   \
  Result<Type> from_json<Type>(const Json& j) { \
    return detail::parse_root<Type>(j, root);   \
  }

MS_TELEGRAM_FROM_JSON(User, "user")
MS_TELEGRAM_FROM_JSON(Chat, "chat")
MS_TELEGRAM_FROM_JSON(MessageEntity, "entity")
MS_TELEGRAM_FROM_JSON(PhotoSize, "photo_size")
MS_TELEGRAM_FROM_JSON(Document, "document")
MS_TELEGRAM_FROM_JSON(Contact, "contact")
MS_TELEGRAM_FROM_JSON(File, "file")
MS_TELEGRAM_FROM_JSON(InlineKeyboardButton, "button")
MS_TELEGRAM_FROM_JSON(InlineKeyboardMarkup, "reply_markup")
MS_TELEGRAM_FROM_JSON(KeyboardButton, "button")
MS_TELEGRAM_FROM_JSON(ReplyKeyboardMarkup, "reply_markup")
MS_TELEGRAM_FROM_JSON(ReplyKeyboardRemove, "reply_markup")
MS_TELEGRAM_FROM_JSON(ForceReply, "reply_markup")
MS_TELEGRAM_FROM_JSON(ReplyMarkup, "reply_markup")
MS_TELEGRAM_FROM_JSON(Invoice, "invoice")
MS_TELEGRAM_FROM_JSON(LabeledPrice, "price")
MS_TELEGRAM_FROM_JSON(SuccessfulPayment, "successful_payment")
MS_TELEGRAM_FROM_JSON(RefundedPayment, "refunded_payment")
MS_TELEGRAM_FROM_JSON(MessageOrigin, "forward_origin")
MS_TELEGRAM_FROM_JSON(Message, "message")
MS_TELEGRAM_FROM_JSON(MessageId, "message_id")
MS_TELEGRAM_FROM_JSON(CallbackQuery, "callback_query")
MS_TELEGRAM_FROM_JSON(ChatMember, "chat_member")
MS_TELEGRAM_FROM_JSON(ChatMemberUpdated, "chat_member_updated")
MS_TELEGRAM_FROM_JSON(PreCheckoutQuery, "pre_checkout_query")
MS_TELEGRAM_FROM_JSON(WebhookInfo, "webhook_info")
MS_TELEGRAM_FROM_JSON(BotCommand, "bot_command")
MS_TELEGRAM_FROM_JSON(Update, "update")
MS_TELEGRAM_FROM_JSON(std::vector<Update>, "result")
MS_TELEGRAM_FROM_JSON(std::vector<BotCommand>, "result")
MS_TELEGRAM_FROM_JSON(bool, "result")
MS_TELEGRAM_FROM_JSON(std::string, "result")

#undef MS_TELEGRAM_FROM_JSON

}  // namespace ms::telegram
