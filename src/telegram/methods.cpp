#include "telegram/methods.hpp"

#include "telegram/limits.hpp"

namespace ms::telegram {
namespace {

template <class T>
void put(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

void put_flag(Json& j, const char* key, bool v) {
  if (v) j[key] = true;
}

Check from(const limits::Check& c) {
  if (!c) return std::nullopt;
  return from_limit(*c);
}

Json entities_json(const std::vector<MessageEntity>& entities) {
  Json a = Json::array();
  for (const auto& e : entities) a.push_back(to_json(e));
  return a;
}

void put_options(Json& j, const SendOptions& o) {
  put_flag(j, "disable_notification", o.disable_notification);
  put_flag(j, "protect_content", o.protect_content);
  put(j, "message_thread_id", o.message_thread_id);
  if (o.reply_to_message_id) {
    j["reply_parameters"] = Json{{"message_id", *o.reply_to_message_id}, {"allow_sending_without_reply", true}};
  }
}

void put_markup(Json& j, const std::optional<ReplyMarkup>& m) {
  if (m) j["reply_markup"] = to_json(*m);
}

void put_markup(Json& j, const std::optional<InlineKeyboardMarkup>& m) {
  if (m) j["reply_markup"] = to_json(*m);
}

Check check_chat(const ChatId& id) { return from(limits::check_chat_id(to_json(id))); }

template <class Markup>
Check check_markup(const std::optional<Markup>& m) {
  if (!m) return std::nullopt;
  return from(limits::check_reply_markup(to_json(*m)));
}

Check check_file(const InputFile& f, const char* what) {
  if (!f.is_upload() && f.reference.empty()) {
    return from_limit(limits::make_error(400, std::string("there is no ") + what + " in the request"));
  }
  return std::nullopt;
}

Json prices_json(const std::vector<LabeledPrice>& prices) {
  Json a = Json::array();
  for (const auto& p : prices) a.push_back(to_json(p));
  return a;
}

void put_file(Json& j, const char* field, const InputFile& f) {
  if (!f.is_upload()) j[field] = f.reference;  // uploads travel as a multipart part of that name
}

std::vector<UploadPart> upload_of(const char* field, const InputFile& f) {
  if (!f.is_upload()) return {};
  return {UploadPart{field, f.upload->filename, f.upload->mime_type, f.upload->bytes}};
}

}  // namespace

Json to_json(const ChatId& id) {
  return std::visit([](const auto& v) { return Json(v); }, id);
}

InputFile InputFile::from_reference(std::string file_id_or_url) {
  InputFile f;
  f.reference = std::move(file_id_or_url);
  return f;
}

InputFile InputFile::from_bytes(std::string bytes, std::string filename, std::string mime_type) {
  InputFile f;
  f.upload = Upload{std::move(bytes), std::move(filename), std::move(mime_type)};
  return f;
}

Json GetMe::to_params() const { return Json::object(); }

Json GetUpdates::to_params() const {
  Json j = Json::object();
  put(j, "offset", offset);
  put(j, "limit", limit);
  put(j, "timeout", timeout);
  put(j, "allowed_updates", allowed_updates);
  return j;
}

Json SetWebhook::to_params() const {
  Json j{{"url", url}};
  put(j, "secret_token", secret_token);
  put(j, "max_connections", max_connections);
  put(j, "allowed_updates", allowed_updates);
  put_flag(j, "drop_pending_updates", drop_pending_updates);
  put(j, "ip_address", ip_address);
  return j;
}

Check SetWebhook::validate() const {
  if (secret_token) return from(limits::check_secret_token(*secret_token));
  return std::nullopt;
}

Json DeleteWebhook::to_params() const {
  Json j = Json::object();
  put_flag(j, "drop_pending_updates", drop_pending_updates);
  return j;
}

Json GetWebhookInfo::to_params() const { return Json::object(); }

Json SendMessage::to_params() const {
  Json j{{"chat_id", to_json(chat_id)}, {"text", text}};
  put(j, "parse_mode", parse_mode);
  if (!entities.empty()) j["entities"] = entities_json(entities);
  if (disable_link_preview) j["link_preview_options"] = Json{{"is_disabled", true}};
  put_options(j, options);
  put_markup(j, reply_markup);
  return j;
}

Check SendMessage::validate() const {
  if (auto bad = check_chat(chat_id)) return bad;
  if (auto bad = from(limits::check_message_text(text, parse_mode.value_or("")))) return bad;
  return check_markup(reply_markup);
}

Json EditMessageText::to_params() const {
  Json j{{"chat_id", to_json(chat_id)}, {"message_id", message_id}, {"text", text}};
  put(j, "parse_mode", parse_mode);
  if (!entities.empty()) j["entities"] = entities_json(entities);
  if (disable_link_preview) j["link_preview_options"] = Json{{"is_disabled", true}};
  put_markup(j, reply_markup);
  return j;
}

Check EditMessageText::validate() const {
  if (auto bad = check_chat(chat_id)) return bad;
  if (auto bad = from(limits::check_message_text(text, parse_mode.value_or("")))) return bad;
  return check_markup(reply_markup);
}

Json EditMessageReplyMarkup::to_params() const {
  Json j{{"chat_id", to_json(chat_id)}, {"message_id", message_id}};
  put_markup(j, reply_markup);
  return j;
}

Check EditMessageReplyMarkup::validate() const {
  if (auto bad = check_chat(chat_id)) return bad;
  return check_markup(reply_markup);
}

Json DeleteMessage::to_params() const { return Json{{"chat_id", to_json(chat_id)}, {"message_id", message_id}}; }

Check DeleteMessage::validate() const { return check_chat(chat_id); }

Json AnswerCallbackQuery::to_params() const {
  Json j{{"callback_query_id", callback_query_id}};
  put(j, "text", text);
  put_flag(j, "show_alert", show_alert);
  put(j, "url", url);
  put(j, "cache_time", cache_time);
  return j;
}

Check AnswerCallbackQuery::validate() const {
  if (callback_query_id.empty()) return from_limit(limits::required_parameter("callback_query_id"));
  if (text) return from(limits::check_callback_answer_text(*text));
  return std::nullopt;
}

Json SendPhoto::to_params() const {
  Json j{{"chat_id", to_json(chat_id)}};
  put_file(j, "photo", photo);
  put(j, "caption", caption);
  put(j, "parse_mode", parse_mode);
  if (!caption_entities.empty()) j["caption_entities"] = entities_json(caption_entities);
  put_flag(j, "has_spoiler", has_spoiler);
  put_options(j, options);
  put_markup(j, reply_markup);
  return j;
}

Check SendPhoto::validate() const {
  if (auto bad = check_chat(chat_id)) return bad;
  if (auto bad = check_file(photo, "photo")) return bad;
  if (caption) {
    if (auto bad = from(limits::check_caption(*caption, parse_mode.value_or("")))) return bad;
  }
  return check_markup(reply_markup);
}

std::vector<UploadPart> SendPhoto::uploads() const { return upload_of("photo", photo); }

Json SendDocument::to_params() const {
  Json j{{"chat_id", to_json(chat_id)}};
  put_file(j, "document", document);
  put(j, "caption", caption);
  put(j, "parse_mode", parse_mode);
  if (!caption_entities.empty()) j["caption_entities"] = entities_json(caption_entities);
  put_flag(j, "disable_content_type_detection", disable_content_type_detection);
  put_options(j, options);
  put_markup(j, reply_markup);
  return j;
}

Check SendDocument::validate() const {
  if (auto bad = check_chat(chat_id)) return bad;
  if (auto bad = check_file(document, "document")) return bad;
  if (caption) {
    if (auto bad = from(limits::check_caption(*caption, parse_mode.value_or("")))) return bad;
  }
  return check_markup(reply_markup);
}

std::vector<UploadPart> SendDocument::uploads() const { return upload_of("document", document); }

Json CopyMessage::to_params() const {
  Json j{{"chat_id", to_json(chat_id)}, {"from_chat_id", to_json(from_chat_id)}, {"message_id", message_id}};
  put(j, "caption", caption);
  put(j, "parse_mode", parse_mode);
  put_options(j, options);
  put_markup(j, reply_markup);
  return j;
}

Check CopyMessage::validate() const {
  if (auto bad = check_chat(chat_id)) return bad;
  if (auto bad = check_chat(from_chat_id)) return bad;
  if (caption) {
    if (auto bad = from(limits::check_caption(*caption, parse_mode.value_or("")))) return bad;
  }
  return check_markup(reply_markup);
}

Json ForwardMessage::to_params() const {
  Json j{{"chat_id", to_json(chat_id)}, {"from_chat_id", to_json(from_chat_id)}, {"message_id", message_id}};
  put_flag(j, "disable_notification", disable_notification);
  put_flag(j, "protect_content", protect_content);
  return j;
}

Check ForwardMessage::validate() const {
  if (auto bad = check_chat(chat_id)) return bad;
  return check_chat(from_chat_id);
}

Json GetChatMember::to_params() const { return Json{{"chat_id", to_json(chat_id)}, {"user_id", user_id}}; }

Check GetChatMember::validate() const {
  if (auto bad = check_chat(chat_id)) return bad;
  if (user_id <= 0) return from_limit(limits::make_error(400, "Invalid user_id specified"));
  return std::nullopt;
}

Json GetChat::to_params() const { return Json{{"chat_id", to_json(chat_id)}}; }

Check GetChat::validate() const { return check_chat(chat_id); }

Json GetFile::to_params() const { return Json{{"file_id", file_id}}; }

Check GetFile::validate() const {
  if (file_id.empty()) return from_limit(limits::make_error(400, "file_id not specified"));
  return std::nullopt;
}

Json SetMyCommands::to_params() const {
  Json commands_json = Json::array();
  for (const auto& c : commands) commands_json.push_back(to_json(c));
  Json j{{"commands", std::move(commands_json)}};
  if (scope) {
    Json s{{"type", scope->type}};
    if (scope->chat_id) s["chat_id"] = to_json(*scope->chat_id);
    put(s, "user_id", scope->user_id);
    j["scope"] = std::move(s);
  }
  put(j, "language_code", language_code);
  return j;
}

Check SetMyCommands::validate() const { return from(limits::check_bot_commands(to_params()["commands"])); }

Json SetMyDescription::to_params() const {
  Json j{{"description", description}};
  put(j, "language_code", language_code);
  return j;
}

Check SetMyDescription::validate() const { return from(limits::check_description(description)); }

Json SetMyShortDescription::to_params() const {
  Json j{{"short_description", short_description}};
  put(j, "language_code", language_code);
  return j;
}

Check SetMyShortDescription::validate() const { return from(limits::check_short_description(short_description)); }

SendInvoice SendInvoice::stars(ChatId chat, std::string title, std::string description, std::string payload,
                               std::string label, std::int64_t stars) {
  SendInvoice s;
  s.chat_id = std::move(chat);
  s.title = std::move(title);
  s.description = std::move(description);
  s.payload = std::move(payload);
  s.prices = {LabeledPrice{std::move(label), stars}};
  return s;
}

Json SendInvoice::to_params() const {
  Json j{{"chat_id", to_json(chat_id)}, {"title", title},       {"description", description},   {"payload", payload},
         {"provider_token", ""},        {"currency", currency}, {"prices", prices_json(prices)}};
  put(j, "start_parameter", start_parameter);
  put(j, "photo_url", photo_url);
  put_options(j, options);
  put_markup(j, reply_markup);
  return j;
}

Check SendInvoice::validate() const {
  if (auto bad = check_chat(chat_id)) return bad;
  const Json p = prices_json(prices);
  if (auto bad = from(limits::check_stars_invoice({title, description, payload, currency, &p, std::nullopt}))) {
    return bad;
  }
  return check_markup(reply_markup);
}

CreateInvoiceLink CreateInvoiceLink::stars(std::string title, std::string description, std::string payload,
                                           std::string label, std::int64_t stars) {
  CreateInvoiceLink s;
  s.title = std::move(title);
  s.description = std::move(description);
  s.payload = std::move(payload);
  s.prices = {LabeledPrice{std::move(label), stars}};
  return s;
}

Json CreateInvoiceLink::to_params() const {
  Json j{{"title", title},       {"description", description}, {"payload", payload},
         {"provider_token", ""}, {"currency", currency},       {"prices", prices_json(prices)}};
  put(j, "subscription_period", subscription_period);
  put(j, "photo_url", photo_url);
  return j;
}

Check CreateInvoiceLink::validate() const {
  const Json p = prices_json(prices);
  return from(limits::check_stars_invoice({title, description, payload, currency, &p, subscription_period}));
}

Json AnswerPreCheckoutQuery::to_params() const {
  Json j{{"pre_checkout_query_id", pre_checkout_query_id}, {"ok", ok}};
  put(j, "error_message", error_message);
  return j;
}

Check AnswerPreCheckoutQuery::validate() const {
  if (pre_checkout_query_id.empty()) return from_limit(limits::required_parameter("pre_checkout_query_id"));
  return from(limits::check_pre_checkout_answer(ok, error_message.value_or("")));
}

Json RefundStarPayment::to_params() const {
  return Json{{"user_id", user_id}, {"telegram_payment_charge_id", telegram_payment_charge_id}};
}

Check RefundStarPayment::validate() const {
  if (user_id <= 0) return from_limit(limits::make_error(400, "Invalid user_id specified"));
  if (telegram_payment_charge_id.empty()) return from_limit(limits::required_parameter("telegram_payment_charge_id"));
  return std::nullopt;
}

Check check_utf8_params(const Json& params) {
  bool ok = true;
  auto visit = [&](const auto& self, const Json& j) -> void {
    if (!ok) return;
    if (j.is_string()) {
      ok = limits::is_valid_utf8(j.get_ref<const std::string&>());
    } else if (j.is_object()) {
      for (const auto& [key, value] : j.items()) {
        ok = ok && limits::is_valid_utf8(key);
        self(self, value);
      }
    } else if (j.is_array()) {
      for (const Json& value : j) self(self, value);
    }
  };
  visit(visit, params);
  if (ok) return std::nullopt;
  return from_limit(limits::make_error(400, "Strings must be encoded in UTF-8"));
}

std::vector<std::pair<std::string, std::string>> form_fields(const Json& params) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : params.items()) {
    out.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  return out;
}

}  // namespace ms::telegram
