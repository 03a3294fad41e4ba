// Bot API methods about chats, members, the bot's profile and Stars payments, and the
// method table.
#include <algorithm>
#include <cctype>

#include "core/crypto/primitives.hpp"
#include "sandbox/emulator_impl.hpp"

namespace ms::sandbox {
namespace {

bool is_admin(const std::string& status) { return status == "administrator" || status == "creator"; }

std::string trimmed(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// The key under which commands are stored: the normalized scope plus the language.
std::optional<std::string> command_key(const Params& p, ApiReply& err) {
  json scope = {{"type", "default"}};
  if (auto raw = p.get("scope"); raw && !raw->empty()) {
    auto parsed = json::parse(*raw, nullptr, false);
    static const std::set<std::string> kTypes = {"default", "all_private_chats", "all_group_chats",
                                                 "all_chat_administrators", "chat", "chat_administrators",
                                                 "chat_member"};
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("type") || !parsed["type"].is_string() ||
        !kTypes.count(parsed["type"].get<std::string>())) {
      err = api_error(400, "Bad Request: can't parse BotCommandScope JSON object");
      return std::nullopt;
    }
    scope = {{"type", parsed["type"]}};
    for (const char* key : {"chat_id", "user_id"}) {
      if (parsed.contains(key)) scope[key] = parsed[key].is_string() ? parsed[key].get<std::string>() : parsed[key].dump();
    }
  }
  return scope.dump() + "|" + p.str("language_code");
}

}  // namespace

json Emulator::Impl::member_json_locked(std::int64_t id, const std::string& status) {
  json user = bots.count(id) ? bot_json(bots.at(id)) : user_json(users.at(id));
  json m = {{"status", status}, {"user", std::move(user)}};
  if (status == "creator") m["is_anonymous"] = false;
  if (status == "administrator") {
    m["can_be_edited"] = false;
    m["is_anonymous"] = false;
    for (const char* right : {"can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
                              "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                              "can_delete_stories", "can_post_messages", "can_edit_messages", "can_pin_messages"}) {
      m[right] = true;
    }
    m["can_promote_members"] = false;
  }
  if (status == "kicked") m["until_date"] = 0;
  return m;
}

ApiReply Emulator::Impl::m_get_chat(BotRec& bot, const Params& p, Effects&) {
  ApiReply err;
  ChatRec* chat = resolve_chat_locked(bot, p.str("chat_id"), false, err);
  if (!chat) return err;
  json info = chat_json(*chat);
  info["accent_color_id"] = 0;
  info["max_reaction_count"] = 11;
  info["accepted_gift_types"] = {{"unlimited_gifts", true}, {"limited_gifts", true}, {"unique_gifts", true},
                                 {"premium_subscription", true}, {"gifts_from_channels", true}};
  return api_ok(std::move(info));
}

ApiReply Emulator::Impl::m_get_chat_member(BotRec& bot, const Params& p, Effects&) {
  ApiReply err;
  ChatRec* chat = resolve_chat_locked(bot, p.str("chat_id"), false, err);
  if (!chat) return err;
  std::int64_t user = p.integer("user_id", 0);
  if (user <= 0) return api_error(400, "Bad Request: invalid user_id specified");
  if (chat->type == "private") {
    if (user == bot.id || user == chat->user) return api_ok(member_json_locked(user, "member"));
    return api_error(400, "Bad Request: user not found");
  }
  auto status_of = [&](std::int64_t id) -> std::optional<std::string> {
    auto it = chat->members.find(id);
    if (it == chat->members.end()) return std::nullopt;
    return it->second;
  };
  if (user == bot.id) return api_ok(member_json_locked(user, status_of(user).value_or("left")));
  if (chat->type == "channel" && !is_admin(status_of(bot.id).value_or("left"))) {
    return api_error(400, "Bad Request: member list is inaccessible");
  }
  if (!users.count(user) && !bots.count(user)) return api_error(400, "Bad Request: user not found");
  if (auto status = status_of(user)) return api_ok(member_json_locked(user, *status));
  // Telegram knows a non-member only if the person has talked to the bot.
  if (bots.count(user) || !private_chat_locked(bot.id, user, false)) return api_error(400, "Bad Request: user not found");
  return api_ok(member_json_locked(user, "left"));
}

ApiReply Emulator::Impl::m_set_my_commands(BotRec& bot, const Params& p, Effects&) {
  auto raw = p.get("commands");
  if (!raw) return api_error(400, "Bad Request: parameter \"commands\" is required");
  auto list = json::parse(*raw, nullptr, false);
  if (list.is_discarded()) return api_error(400, "Bad Request: can't parse commands JSON object");
  if (!list.is_array()) return api_error(400, "Bad Request: expected an Array of BotCommand");
  if (list.size() > 100) return api_error(400, "Bad Request: BOT_COMMANDS_TOO_MUCH");
  json commands = json::array();
  for (const auto& c : list) {
    for (const char* field : {"command", "description"}) {
      if (!c.is_object() || !c.contains(field) || !c[field].is_string()) {
        return api_error(400, std::string("Bad Request: can't parse BotCommand: Can't find field \"") + field + "\"");
      }
    }
    std::string command = trimmed(c["command"].get<std::string>());
    if (!command.empty() && command.front() == '/') command.erase(0, 1);
    std::string description = trimmed(c["description"].get<std::string>());
    if (command.empty()) return api_error(400, "Bad Request: command must be non-empty");
    if (command.size() > 32) return api_error(400, "Bad Request: command length must not exceed 32");
    for (char ch : command) {
      if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '_')) {
        return api_error(400, "Bad Request: BOT_COMMAND_INVALID");
      }
    }
    if (description.empty()) return api_error(400, "Bad Request: command description must be non-empty");
    if (utf16_length(description) > 256) return api_error(400, "Bad Request: command description length must not exceed 256");
    commands.push_back({{"command", command}, {"description", description}});
  }
  ApiReply err;
  auto key = command_key(p, err);
  if (!key) return err;
  if (commands.empty()) {
    bot.commands.erase(*key);
  } else {
    bot.commands[*key] = std::move(commands);
  }
  return api_ok(true);
}

ApiReply Emulator::Impl::m_get_my_commands(BotRec& bot, const Params& p, Effects&) {
  ApiReply err;
  auto key = command_key(p, err);
  if (!key) return err;
  auto it = bot.commands.find(*key);
  return api_ok(it == bot.commands.end() ? json::array() : it->second);
}

ApiReply Emulator::Impl::m_delete_my_commands(BotRec& bot, const Params& p, Effects&) {
  ApiReply err;
  auto key = command_key(p, err);
  if (!key) return err;
  bot.commands.erase(*key);
  return api_ok(true);
}

namespace {
ApiReply set_text(std::map<std::string, std::string>& by_language, const Params& p, const char* field, std::size_t limit,
                  const char* what) {
  std::string value = p.str(field);
  if (utf16_length(value) > limit) return api_error(400, std::string("Bad Request: ") + what + " is too long");
  if (value.empty()) {
    by_language.erase(p.str("language_code"));
  } else {
    by_language[p.str("language_code")] = value;
  }
  return api_ok(true);
}

ApiReply get_text(const std::map<std::string, std::string>& by_language, const Params& p, const char* field) {
  auto it = by_language.find(p.str("language_code"));
  if (it == by_language.end()) it = by_language.find("");
  return api_ok(json{{field, it == by_language.end() ? std::string() : it->second}});
}
}  // namespace

ApiReply Emulator::Impl::m_set_my_description(BotRec& bot, const Params& p, Effects&) {
  return set_text(bot.description, p, "description", 512, "description");
}
ApiReply Emulator::Impl::m_get_my_description(BotRec& bot, const Params& p, Effects&) {
  return get_text(bot.description, p, "description");
}
ApiReply Emulator::Impl::m_set_my_short_description(BotRec& bot, const Params& p, Effects&) {
  return set_text(bot.short_description, p, "short_description", 120, "short description");
}
ApiReply Emulator::Impl::m_get_my_short_description(BotRec& bot, const Params& p, Effects&) {
  return get_text(bot.short_description, p, "short_description");
}
ApiReply Emulator::Impl::m_set_my_name(BotRec& bot, const Params& p, Effects&) {
  return set_text(bot.names, p, "name", 64, "name");
}
ApiReply Emulator::Impl::m_get_my_name(BotRec& bot, const Params& p, Effects&) {
  auto it = bot.names.find(p.str("language_code"));
  if (it == bot.names.end()) it = bot.names.find("");
  return api_ok(json{{"name", it == bot.names.end() ? bot.name : it->second}});
}

// ---- Stars payments ---------------------------------------------------------------------

std::optional<InvoiceRec> Emulator::Impl::parse_invoice(BotRec& bot, const Params& p, ApiReply& err) const {
  for (const char* field : {"title", "description", "payload", "currency", "prices"}) {
    if (p.str(field).empty()) {
      err = api_error(400, std::string("Bad Request: parameter \"") + field + "\" is required");
      return std::nullopt;
    }
  }
  auto prices = json::parse(p.str("prices"), nullptr, false);
  if (prices.is_discarded()) {
    err = api_error(400, "Bad Request: can't parse prices JSON object");
    return std::nullopt;
  }
  if (!prices.is_array()) {
    err = api_error(400, "Bad Request: expected an Array of labeled prices");
    return std::nullopt;
  }
  if (prices.empty()) {
    err = api_error(400, "Bad Request: there must be at least one price");
    return std::nullopt;
  }
  InvoiceRec inv;
  for (const auto& price : prices) {
    if (!price.is_object() || !price.contains("label") || !price["label"].is_string()) {
      err = api_error(400, "Bad Request: can't parse labeled price: Can't find field \"label\"");
      return std::nullopt;
    }
    if (!price.contains("amount") || !price["amount"].is_number_integer()) {
      err = api_error(400, "Bad Request: can't parse labeled price: Can't find field \"amount\"");
      return std::nullopt;
    }
    inv.amount += price["amount"].get<std::int64_t>();
  }
  inv.bot = bot.id;
  inv.title = p.str("title");
  inv.description = p.str("description");
  inv.payload = p.str("payload");
  inv.currency = p.str("currency");
  inv.start_parameter = p.str("start_parameter");
  if (inv.payload.size() > 128) {
    err = api_error(400, "Bad Request: INVOICE_PAYLOAD_INVALID");
    return std::nullopt;
  }
  // The sandbox has no card payment providers: Stars only, as Telegram requires them.
  if (inv.currency != "XTR" || !p.str("provider_token").empty()) {
    err = api_error(400, "Bad Request: PAYMENT_PROVIDER_INVALID");
    return std::nullopt;
  }
  if (prices.size() != 1 || p.has("max_tip_amount") || p.has("suggested_tip_amounts")) {
    err = api_error(400, "Bad Request: STARS_INVOICE_INVALID");
    return std::nullopt;
  }
  if (inv.amount <= 0) {
    err = api_error(400, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID");
    return std::nullopt;
  }
  return inv;
}

ApiReply Emulator::Impl::m_send_invoice(BotRec& bot, const Params& p, Effects& fx) {
  ApiReply err;
  ChatRec* chat = resolve_chat_locked(bot, p.str("chat_id"), true, err);
  if (!chat) return err;
  auto invoice = parse_invoice(bot, p, err);
  if (!invoice) return err;
  auto markup = parse_markup(p, err);
  if (!markup) return err;
  if (auto limited = check_rate_locked(bot, *chat)) return *limited;
  json content = {{"invoice",
                   {{"title", invoice->title},
                    {"description", invoice->description},
                    {"start_parameter", invoice->start_parameter},
                    {"currency", invoice->currency},
                    {"total_amount", invoice->amount}}}};
  MessageRec& rec = send_bot_message_locked(bot, *chat, std::move(content), *markup, fx);
  rec.invoice = *invoice;
  return api_ok(rec.message);
}

ApiReply Emulator::Impl::m_create_invoice_link(BotRec& bot, const Params& p, Effects&) {
  ApiReply err;
  auto invoice = parse_invoice(bot, p, err);
  if (!invoice) return err;
  if (p.has("subscription_period") && p.integer("subscription_period") != 2'592'000) {
    return api_error(400, "Bad Request: SUBSCRIPTION_PERIOD_INVALID");
  }
  std::string slug = crypto::random_token(16);
  invoice_links[slug] = *invoice;
  return api_ok("https://t.me/$" + slug);
}

void Emulator::Impl::finish_checkout_locked(const std::string& id, bool ok, std::string error_message, Effects& fx) {
  auto it = checkouts.find(id);
  if (it == checkouts.end()) return;
  CheckoutRec checkout = std::move(it->second);
  checkouts.erase(it);
  if (!ok) {
    fx.push_back([done = std::move(checkout.done), error_message] {
      done(json{{"status", "declined"}, {"error_message", error_message}});
    });
    return;
  }
  std::string charge_id = "stx" + crypto::random_token(24);
  charges[charge_id] = ChargeRec{checkout.bot, checkout.user, checkout.invoice, false};
  BotRec& bot = bots.at(checkout.bot);
  ChatRec* chat = private_chat_locked(checkout.bot, checkout.user, true);
  chat->started = true;
  MessageRec& rec = add_message_locked(*chat, checkout.user, false, user_json(users.at(checkout.user)));
  rec.message["successful_payment"] = {{"currency", checkout.invoice.currency},
                                       {"total_amount", checkout.invoice.amount},
                                       {"invoice_payload", checkout.invoice.payload},
                                       {"telegram_payment_charge_id", charge_id},
                                       {"provider_payment_charge_id", ""}};
  json message = rec.message;
  enqueue_locked(bot, "message", message, fx);
  fx.push_back([done = std::move(checkout.done), charge_id, message] {
    done(json{{"status", "paid"}, {"telegram_payment_charge_id", charge_id}, {"message", message}});
  });
}

ApiReply Emulator::Impl::m_answer_pre_checkout_query(BotRec& bot, const Params& p, Effects& fx) {
  std::string id = p.str("pre_checkout_query_id");
  if (id.empty()) return api_error(400, "Bad Request: parameter \"pre_checkout_query_id\" is required");
  bool ok = p.boolean("ok");
  std::string error_message = p.str("error_message");
  if (!ok && error_message.empty()) return api_error(400, "Bad Request: parameter \"error_message\" is required");
  auto it = checkouts.find(id);
  if (it == checkouts.end() || it->second.bot != bot.id) {
    return api_error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid");
  }
  finish_checkout_locked(id, ok, std::move(error_message), fx);
  return api_ok(true);
}

ApiReply Emulator::Impl::m_refund_star_payment(BotRec& bot, const Params& p, Effects& fx) {
  std::int64_t user = p.integer("user_id", 0);
  if (user <= 0) return api_error(400, "Bad Request: invalid user_id specified");
  std::string charge_id = p.str("telegram_payment_charge_id");
  if (charge_id.empty()) return api_error(400, "Bad Request: parameter \"telegram_payment_charge_id\" is required");
  auto it = charges.find(charge_id);
  if (it == charges.end() || it->second.bot != bot.id || it->second.user != user) {
    return api_error(400, "Bad Request: CHARGE_NOT_FOUND");
  }
  if (it->second.refunded) return api_error(400, "Bad Request: CHARGE_ALREADY_REFUNDED");
  it->second.refunded = true;
  ChatRec* chat = private_chat_locked(bot.id, user, true);
  MessageRec& rec = add_message_locked(*chat, user, false, user_json(users.at(user)));
  rec.message["refunded_payment"] = {{"currency", it->second.invoice.currency},
                                     {"total_amount", it->second.invoice.amount},
                                     {"invoice_payload", it->second.invoice.payload},
                                     {"telegram_payment_charge_id", charge_id}};
  enqueue_locked(bot, "message", rec.message, fx);
  return api_ok(true);
}

const std::map<std::string, Emulator::Impl::Method>& Emulator::Impl::methods() {
  static const std::map<std::string, Method> kMethods = {
      {"getme", &Impl::m_get_me},
      {"setwebhook", &Impl::m_set_webhook},
      {"deletewebhook", &Impl::m_delete_webhook},
      {"getwebhookinfo", &Impl::m_get_webhook_info},
      {"sendmessage", &Impl::m_send_message},
      {"editmessagetext", &Impl::m_edit_message_text},
      {"editmessagereplymarkup", &Impl::m_edit_message_reply_markup},
      {"deletemessage", &Impl::m_delete_message},
      {"answercallbackquery", &Impl::m_answer_callback_query},
      {"copymessage", &Impl::m_copy_message},
      {"forwardmessage", &Impl::m_forward_message},
      {"sendphoto", &Impl::m_send_photo},
      {"senddocument", &Impl::m_send_document},
      {"getfile", &Impl::m_get_file},
      {"getchat", &Impl::m_get_chat},
      {"getchatmember", &Impl::m_get_chat_member},
      {"setmycommands", &Impl::m_set_my_commands},
      {"getmycommands", &Impl::m_get_my_commands},
      {"deletemycommands", &Impl::m_delete_my_commands},
      {"setmydescription", &Impl::m_set_my_description},
      {"getmydescription", &Impl::m_get_my_description},
      {"setmyshortdescription", &Impl::m_set_my_short_description},
      {"getmyshortdescription", &Impl::m_get_my_short_description},
      {"setmyname", &Impl::m_set_my_name},
      {"getmyname", &Impl::m_get_my_name},
      {"sendinvoice", &Impl::m_send_invoice},
      {"createinvoicelink", &Impl::m_create_invoice_link},
      {"answerprecheckoutquery", &Impl::m_answer_pre_checkout_query},
      {"refundstarpayment", &Impl::m_refund_star_payment},
  };
  return kMethods;
}

}  // namespace ms::sandbox
