// Bot API methods that send, edit and delete messages, and the checks they share.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "sandbox/emulator_impl.hpp"

namespace ms::sandbox {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string chat_kind(const ChatRec& c) {
  return c.type == "channel" ? "channel chat" : (c.type == "group" ? "group chat" : "supergroup chat");
}

bool is_admin(const std::string& status) { return status == "administrator" || status == "creator"; }

namespace limits = telegram::limits;

// The button as Telegram stores it: text, style and the one kind it acts on (the first
// that limits::check_reply_markup accepted, in the server's order).
json normalize_inline_button(const json& b) {
  json out = {{"text", b["text"]}};
  if (b.contains("style") && b["style"].is_string()) out["style"] = b["style"];
  for (const char* kind : {"url", "callback_data", "callback_game", "pay", "switch_inline_query",
                           "switch_inline_query_chosen_chat", "switch_inline_query_current_chat", "login_url",
                           "web_app", "copy_text"}) {
    auto it = b.find(kind);
    if (it == b.end() || it->is_null()) continue;
    if (std::string_view(kind) == "callback_data" && it->get_ref<const std::string&>().empty()) continue;
    if (it->is_boolean() && !it->get<bool>()) continue;
    out[kind] = *it;
    break;
  }
  return out;
}

json normalize_rows(const json& rows, bool inline_keyboard) {
  json out = json::array();
  for (const auto& row : rows) {
    json out_row = json::array();
    for (const auto& b : row) {
      out_row.push_back(inline_keyboard ? normalize_inline_button(b) : (b.is_string() ? json{{"text", b}} : b));
    }
    out.push_back(std::move(out_row));
  }
  return out;
}

}  // namespace

ChatRec* Emulator::Impl::resolve_chat_locked(BotRec& bot, std::string_view chat_id, bool for_send, ApiReply& err) {
  if (auto bad = limits::check_chat_id(json(chat_id))) {
    err = api_error(*bad);
    return nullptr;
  }
  ChatRec* group = nullptr;
  if (chat_id.front() == '@') {
    std::string name = lower(chat_id.substr(1));
    for (auto& [id, chat] : groups) {
      if (!chat.username.empty() && lower(chat.username) == name) group = &chat;
    }
  } else if (auto id = to_int(chat_id); id && *id > 0) {
    if (bots.count(*id)) {
      err = for_send ? api_error(403, "Forbidden: bot can't send messages to bots") : api_error(400, "Bad Request: chat not found");
      return nullptr;
    }
    if (!users.count(*id)) {
      err = api_error(400, "Bad Request: chat not found");
      return nullptr;
    }
    ChatRec* chat = private_chat_locked(bot.id, *id, false);
    if (!chat || (for_send && !chat->started)) {
      err = for_send ? api_error(403, "Forbidden: bot can't initiate conversation with a user")
                     : api_error(400, "Bad Request: chat not found");
      return nullptr;
    }
    if (for_send && chat->blocked) {
      err = api_error(403, "Forbidden: bot was blocked by the user");
      return nullptr;
    }
    return chat;
  } else if (id) {
    if (auto it = groups.find(*id); it != groups.end()) group = &it->second;
  }
  if (!group) {
    err = api_error(400, "Bad Request: chat not found");
    return nullptr;
  }
  auto member = group->members.find(bot.id);
  std::string status = member == group->members.end() ? "left" : member->second;
  if (status == "kicked") {
    err = api_error(403, "Forbidden: bot was kicked from the " + chat_kind(*group));
    return nullptr;
  }
  if (status == "left") {
    if (group->type == "channel" && group->username.empty()) {
      err = api_error(400, "Bad Request: chat not found");
      return nullptr;
    }
    if (for_send || group->username.empty()) {
      err = api_error(403, "Forbidden: bot is not a member of the " + chat_kind(*group));
      return nullptr;
    }
  }
  if (for_send && group->type == "channel" && !is_admin(status)) {
    err = api_error(400, "Bad Request: need administrator rights in the channel chat");
    return nullptr;
  }
  return group;
}

std::optional<ApiReply> Emulator::Impl::check_rate_locked(BotRec& bot, const ChatRec& chat) {
  using telegram::ChatKind;
  const ChatKind kind = chat.type == "private" ? ChatKind::kPrivate
                        : chat.type == "channel" ? ChatKind::kChannel
                                                 : ChatKind::kGroup;
  const auto now = clock.steady_now();
  // The server does not know a bot's priorities: every request counts as interactive.
  const auto decision = limiter.try_acquire(bot.id, chat.id, kind, telegram::Priority::kInteractive, now);
  if (decision.granted) return std::nullopt;
  const int wait = decision.retry_after_seconds(now);
  return api_error(429, limits::make_error(429, "", wait).description, wait);
}

std::optional<json> Emulator::Impl::parse_markup(const Params& p, ApiReply& err) const {
  auto raw = p.get("reply_markup");
  if (!raw || raw->empty()) return json(nullptr);
  auto j = json::parse(*raw, nullptr, false);
  if (j.is_discarded()) {
    err = api_error(400, "Bad Request: can't parse reply keyboard markup JSON object");
    return std::nullopt;
  }
  if (auto bad = limits::check_reply_markup(j)) {
    err = api_error(*bad);
    return std::nullopt;
  }
  // The server's order: a non-empty keyboard, a non-empty inline keyboard, then the flags.
  auto non_empty = [&](const char* key) { return j.contains(key) && j[key].is_array() && !j[key].empty(); };
  if (non_empty("keyboard")) {
    json out = {{"keyboard", normalize_rows(j["keyboard"], false)}};
    for (const char* flag : {"is_persistent", "resize_keyboard", "one_time_keyboard", "input_field_placeholder", "selective"}) {
      if (j.contains(flag)) out[flag] = j[flag];
    }
    return out;
  }
  if (non_empty("inline_keyboard")) return json{{"inline_keyboard", normalize_rows(j["inline_keyboard"], true)}};
  auto truthy = [&](const char* key) { return j.contains(key) && j[key].is_boolean() && j[key].get<bool>(); };
  if (truthy("remove_keyboard") || truthy("hide_keyboard")) return json{{"remove_keyboard", true}};
  if (truthy("force_reply")) {
    json out = {{"force_reply", true}};
    if (j.contains("input_field_placeholder")) out["input_field_placeholder"] = j["input_field_placeholder"];
    return out;
  }
  return json(nullptr);
}

std::optional<FormattedText> Emulator::Impl::format_text(const Params& p, std::string_view field,
                                                         std::string_view mode_field, std::string_view entities_field,
                                                         bool caption, ApiReply& err) const {
  std::string raw = p.str(field);
  const std::string mode_name = p.str(mode_field);
  auto bad = limits::check_raw_text(raw, !caption);
  if (!bad) bad = limits::check_parse_mode(mode_name);
  if (bad) {
    err = api_error(*bad);
    return std::nullopt;
  }
  const std::optional<ParseMode> mode = parse_mode_from(mode_name);  // known: check_parse_mode passed
  FormattedText ft;
  if (*mode != ParseMode::kNone) {
    auto parsed = parse_entities(raw, *mode);
    if (!parsed) {
      err = api_error(400, "Bad Request: can't parse entities: " + parsed.error().message);
      return std::nullopt;
    }
    ft = std::move(*parsed);
  } else {
    ft.text = raw;
    if (auto given = p.get(entities_field); given && !given->empty()) {
      auto list = json::parse(*given, nullptr, false);
      if (list.is_discarded() || !list.is_array()) {
        err = api_error(400, "Bad Request: can't parse entities JSON object");
        return std::nullopt;
      }
      for (const auto& e : list) {
        if (!e.is_object() || !e.contains("type") || !e.contains("offset") || !e.contains("length") ||
            !e["offset"].is_number_integer() || !e["length"].is_number_integer()) {
          err = api_error(400, "Bad Request: can't parse MessageEntity: Can't find field \"type\"");
          return std::nullopt;
        }
        ft.entities.push_back(e);
      }
    }
  }
  trim_formatted(ft);
  if (auto too = caption ? limits::check_visible_caption(ft.text) : limits::check_visible_text(ft.text)) {
    err = api_error(*too);
    return std::nullopt;
  }
  add_command_entities(ft);
  return ft;
}

void Emulator::Impl::apply_markup_locked(ChatRec& chat, json& message, const json& markup) {
  if (markup.is_null()) return;
  if (markup.contains("inline_keyboard")) message["reply_markup"] = markup;
  if (chat.type == "channel") return;
  if (markup.contains("keyboard")) chat.reply_keyboard = markup;
  if (markup.contains("remove_keyboard")) chat.reply_keyboard = nullptr;
}

MessageRec& Emulator::Impl::send_bot_message_locked(BotRec& bot, ChatRec& chat, json content, const json& markup,
                                                    Effects&) {
  MessageRec& rec = add_message_locked(chat, bot.id, true, chat.type == "channel" ? json(nullptr) : bot_json(bot));
  for (auto it = content.begin(); it != content.end(); ++it) rec.message[it.key()] = it.value();
  apply_markup_locked(chat, rec.message, markup);
  return rec;
}

// reply_to_message_id / reply_parameters; returns false with `err` set when the target is
// missing and sending without it was not allowed.
bool Emulator::Impl::apply_reply_locked(ChatRec& chat, const Params& p, json& content, ApiReply& err) {
  std::int64_t target = p.integer("reply_to_message_id", 0);
  bool allow_without = p.boolean("allow_sending_without_reply");
  if (auto raw = p.get("reply_parameters"); raw && !raw->empty()) {
    auto rp = json::parse(*raw, nullptr, false);
    if (rp.is_object() && rp.contains("message_id") && rp["message_id"].is_number_integer()) {
      target = rp["message_id"].get<std::int64_t>();
      allow_without = rp.value("allow_sending_without_reply", false);
    }
  }
  if (target == 0) return true;
  auto it = chat.messages.find(target);
  if (it == chat.messages.end()) {
    if (allow_without) return true;
    err = api_error(400, "Bad Request: message to be replied not found");
    return false;
  }
  json replied = it->second.message;
  replied.erase("reply_to_message");
  content["reply_to_message"] = std::move(replied);
  return true;
}

ApiReply Emulator::Impl::m_send_message(BotRec& bot, const Params& p, Effects& fx) {
  ApiReply err;
  ChatRec* chat = resolve_chat_locked(bot, p.str("chat_id"), true, err);
  if (!chat) return err;
  auto text = format_text(p, "text", "parse_mode", "entities", false, err);
  if (!text) return err;
  auto markup = parse_markup(p, err);
  if (!markup) return err;
  json content = {{"text", text->text}};
  if (!text->entities.empty()) content["entities"] = text->entities;
  if (!apply_reply_locked(*chat, p, content, err)) return err;
  if (auto limited = check_rate_locked(bot, *chat)) return *limited;
  return api_ok(send_bot_message_locked(bot, *chat, std::move(content), *markup, fx).message);
}

ApiReply Emulator::Impl::edit_locked(BotRec& bot, const Params& p, bool text, Effects&) {
  ApiReply err;
  if (!p.has("chat_id") && p.has("inline_message_id")) return api_error(400, "Bad Request: message to edit not found");
  ChatRec* chat = resolve_chat_locked(bot, p.str("chat_id"), false, err);
  if (!chat) return err;
  std::optional<FormattedText> ft;
  if (text) {
    ft = format_text(p, "text", "parse_mode", "entities", false, err);
    if (!ft) return err;
  }
  auto markup = parse_markup(p, err);
  if (!markup) return err;
  if (!markup->is_null() && !markup->contains("inline_keyboard")) *markup = nullptr;
  auto it = chat->messages.find(p.integer("message_id", 0));
  if (it == chat->messages.end()) return api_error(400, "Bad Request: message to edit not found");
  MessageRec& rec = it->second;
  if (!rec.by_bot || rec.sender != bot.id) return api_error(400, "Bad Request: message can't be edited");
  json& msg = rec.message;
  json old_markup = msg.contains("reply_markup") ? msg["reply_markup"] : json(nullptr);
  if (text) {
    if (!msg.contains("text")) return api_error(400, "Bad Request: there is no text in the message to edit");
    json old_entities = msg.contains("entities") ? msg["entities"] : json::array();
    if (msg["text"] == ft->text && old_entities == ft->entities && old_markup == *markup) {
      return api_error(400, "Bad Request: message is not modified: specified new message content and reply markup are "
                            "exactly the same as a current content and reply markup of the message");
    }
    rec.edits.push_back(msg["text"].get<std::string>());
    msg["text"] = ft->text;
    if (ft->entities.empty()) {
      msg.erase("entities");
    } else {
      msg["entities"] = ft->entities;
    }
  } else if (old_markup == *markup) {
    return api_error(400, "Bad Request: message is not modified: specified new message content and reply markup are "
                          "exactly the same as a current content and reply markup of the message");
  }
  if (markup->is_null()) {
    msg.erase("reply_markup");
  } else {
    msg["reply_markup"] = *markup;
  }
  msg["edit_date"] = clock.unix_seconds();
  return api_ok(msg);
}

ApiReply Emulator::Impl::m_edit_message_text(BotRec& bot, const Params& p, Effects& fx) { return edit_locked(bot, p, true, fx); }

ApiReply Emulator::Impl::m_edit_message_reply_markup(BotRec& bot, const Params& p, Effects& fx) {
  return edit_locked(bot, p, false, fx);
}

ApiReply Emulator::Impl::m_delete_message(BotRec& bot, const Params& p, Effects&) {
  ApiReply err;
  ChatRec* chat = resolve_chat_locked(bot, p.str("chat_id"), false, err);
  if (!chat) return err;
  auto it = chat->messages.find(p.integer("message_id", 0));
  if (it == chat->messages.end()) return api_error(400, "Bad Request: message to delete not found");
  bool own = it->second.by_bot && it->second.sender == bot.id;
  bool admin = chat->type != "private" && is_admin(chat->members[bot.id]);
  bool recent = clock.unix_seconds() - it->second.message["date"].get<std::int64_t>() < 48 * 3600;
  if (!own && !((chat->type == "private" || admin) && recent)) return api_error(400, "Bad Request: message can't be deleted");
  chat->messages.erase(it);
  return api_ok(true);
}

ApiReply Emulator::Impl::m_answer_callback_query(BotRec& bot, const Params& p, Effects&) {
  std::string id = p.str("callback_query_id");
  if (id.empty()) return api_error(400, "Bad Request: parameter \"callback_query_id\" is required");
  auto it = callbacks.find(id);
  if (it == callbacks.end() || it->second.bot != bot.id || it->second.answered ||
      clock.unix_seconds() - it->second.created > options.callback_answer_window.count()) {
    return api_error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid");
  }
  std::string text = p.str("text");
  if (auto bad = limits::check_callback_answer_text(text)) return api_error(*bad);
  it->second.answered = true;
  it->second.answer = {{"text", text}, {"show_alert", p.boolean("show_alert")}, {"url", p.str("url")},
                       {"cache_time", std::clamp<std::int64_t>(p.integer("cache_time", 0), 0, 2'592'000)}};
  return api_ok(true);
}

// The content of a message without sender, chat, date and ids, for copies and forwards.
static json message_content(const json& msg) {
  json out = json::object();
  for (const char* key : {"text", "entities", "photo", "document", "caption", "caption_entities", "contact"}) {
    if (msg.contains(key)) out[key] = msg[key];
  }
  return out;
}

ApiReply Emulator::Impl::m_copy_message(BotRec& bot, const Params& p, Effects& fx) {
  ApiReply err;
  ChatRec* from = resolve_chat_locked(bot, p.str("from_chat_id"), false, err);
  if (!from) return err;
  ChatRec* to = resolve_chat_locked(bot, p.str("chat_id"), true, err);
  if (!to) return err;
  auto it = from->messages.find(p.integer("message_id", 0));
  if (it == from->messages.end()) return api_error(400, "Bad Request: message to copy not found");
  json content = message_content(it->second.message);
  if (content.empty()) return api_error(400, "Bad Request: message can't be copied");
  if (p.has("caption") && !content.contains("text")) {
    auto caption = format_text(p, "caption", "parse_mode", "caption_entities", true, err);
    if (!caption) return err;
    content.erase("caption_entities");
    content["caption"] = caption->text;
    if (!caption->entities.empty()) content["caption_entities"] = caption->entities;
    if (caption->text.empty()) content.erase("caption");
  }
  auto markup = parse_markup(p, err);
  if (!markup) return err;
  if (markup->is_null() && it->second.message.contains("reply_markup")) *markup = it->second.message["reply_markup"];
  if (!apply_reply_locked(*to, p, content, err)) return err;
  if (auto limited = check_rate_locked(bot, *to)) return *limited;
  MessageRec& rec = send_bot_message_locked(bot, *to, std::move(content), *markup, fx);
  return api_ok(json{{"message_id", rec.message["message_id"]}});
}

ApiReply Emulator::Impl::m_forward_message(BotRec& bot, const Params& p, Effects& fx) {
  ApiReply err;
  ChatRec* from = resolve_chat_locked(bot, p.str("from_chat_id"), false, err);
  if (!from) return err;
  ChatRec* to = resolve_chat_locked(bot, p.str("chat_id"), true, err);
  if (!to) return err;
  auto it = from->messages.find(p.integer("message_id", 0));
  if (it == from->messages.end()) return api_error(400, "Bad Request: message to forward not found");
  const json& original = it->second.message;
  json content = message_content(original);
  if (content.empty()) return api_error(400, "Bad Request: message can't be forwarded");
  json origin;
  if (from->type == "channel") {
    origin = {{"type", "channel"}, {"chat", chat_json(*from)}, {"message_id", original["message_id"]}, {"date", original["date"]}};
    content["forward_from_chat"] = chat_json(*from);
    content["forward_from_message_id"] = original["message_id"];
  } else {
    origin = {{"type", "user"}, {"sender_user", original["from"]}, {"date", original["date"]}};
    content["forward_from"] = original["from"];
  }
  content["forward_origin"] = origin;
  content["forward_date"] = original["date"];
  if (auto limited = check_rate_locked(bot, *to)) return *limited;
  return api_ok(send_bot_message_locked(bot, *to, std::move(content), nullptr, fx).message);
}

}  // namespace ms::sandbox
