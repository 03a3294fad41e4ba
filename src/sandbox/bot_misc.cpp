// Bot API methods about chats, members, the bot's profile and Stars payments, and the
// method table.
#include <algorithm>
#include <cctype>

#include "core/crypto/primitives.hpp"
#include "sandbox/emulator_impl.hpp"

namespace ms::sandbox {
namespace {

namespace limits = telegram::limits;

bool is_admin(const std::string& status) { return status == "administrator" || status == "creator"; }

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
  if (!raw) return api_error(limits::required_parameter("commands"));
  auto list = json::parse(*raw, nullptr, false);
  if (list.is_discarded()) return api_error(400, "Bad Request: can't parse commands JSON object");
  if (auto bad = limits::check_bot_commands(list)) return api_error(*bad);
  // Stored as Telegram keeps them: trimmed, without the leading '/'.
  json commands = json::array();
  for (const auto& c : list) {
    std::string_view command = limits::trim(c["command"].get_ref<const std::string&>());
    if (command.front() == '/') command.remove_prefix(1);
    commands.push_back({{"command", command}, {"description", limits::trim(c["description"].get_ref<const std::string&>())}});
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
// setMyName is not in limits.hpp (only the emulator checks it): 0-64 characters, and a
// wording like the other two, unconfirmed.
limits::Check check_name(std::string_view name) {
  if (limits::utf16_length(name) > 64) return limits::make_error(400, "name is too long");
  return std::nullopt;
}

ApiReply set_text(std::map<std::string, std::string>& by_language, const Params& p, const char* field,
                  limits::Check (*check)(std::string_view)) {
  std::string value = p.str(field);
  if (auto bad = check(value)) return api_error(*bad);
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
  return set_text(bot.description, p, "description", limits::check_description);
}
ApiReply Emulator::Impl::m_get_my_description(BotRec& bot, const Params& p, Effects&) {
  return get_text(bot.description, p, "description");
}
ApiReply Emulator::Impl::m_set_my_short_description(BotRec& bot, const Params& p, Effects&) {
  return set_text(bot.short_description, p, "short_description", limits::check_short_description);
}
ApiReply Emulator::Impl::m_get_my_short_description(BotRec& bot, const Params& p, Effects&) {
  return get_text(bot.short_description, p, "short_description");
}
ApiReply Emulator::Impl::m_set_my_name(BotRec& bot, const Params& p, Effects&) {
  return set_text(bot.names, p, "name", check_name);
}
ApiReply Emulator::Impl::m_get_my_name(BotRec& bot, const Params& p, Effects&) {
  auto it = bot.names.find(p.str("language_code"));
  if (it == bot.names.end()) it = bot.names.find("");
  return api_ok(json{{"name", it == bot.names.end() ? bot.name : it->second}});
}

// ---- Stars payments ---------------------------------------------------------------------

std::optional<InvoiceRec> Emulator::Impl::parse_invoice(BotRec& bot, const Params& p,
                                                        std::optional<std::int64_t> subscription_period,
                                                        ApiReply& err) const {
  for (const char* field : {"title", "description", "payload", "currency", "prices"}) {
    if (p.str(field).empty()) {
      err = api_error(limits::required_parameter(field));
      return std::nullopt;
    }
  }
  auto prices = json::parse(p.str("prices"), nullptr, false);
  if (prices.is_discarded()) {
    err = api_error(400, "Bad Request: can't parse prices JSON object");
    return std::nullopt;
  }
  InvoiceRec inv;
  inv.bot = bot.id;
  inv.title = p.str("title");
  inv.description = p.str("description");
  inv.payload = p.str("payload");
  inv.currency = p.str("currency");
  inv.start_parameter = p.str("start_parameter");
  const limits::StarsInvoice check{inv.title, inv.description, inv.payload, inv.currency, &prices, subscription_period};
  auto bad = limits::check_stars_invoice(check);
  // The sandbox has no card payment providers, and Stars invoices take no provider or tips.
  if (!bad && !p.str("provider_token").empty()) bad = limits::make_error(400, "PAYMENT_PROVIDER_INVALID");
  if (!bad && (p.has("max_tip_amount") || p.has("suggested_tip_amounts"))) {
    bad = limits::make_error(400, "STARS_INVOICE_INVALID");
  }
  if (bad) {
    err = api_error(*bad);
    return std::nullopt;
  }
  inv.amount = prices[0]["amount"].get<std::int64_t>();  // exactly one price, checked above
  return inv;
}

ApiReply Emulator::Impl::m_send_invoice(BotRec& bot, const Params& p, Effects& fx) {
  ApiReply err;
  ChatRec* chat = resolve_chat_locked(bot, p.str("chat_id"), true, err);
  if (!chat) return err;
  auto invoice = parse_invoice(bot, p, std::nullopt, err);
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
  std::optional<std::int64_t> period;
  if (p.has("subscription_period")) period = p.integer("subscription_period");
  auto invoice = parse_invoice(bot, p, period, err);
  if (!invoice) return err;
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
  if (id.empty()) return api_error(limits::required_parameter("pre_checkout_query_id"));
  bool ok = p.boolean("ok");
  std::string error_message = p.str("error_message");
  if (auto bad = limits::check_pre_checkout_answer(ok, error_message)) return api_error(*bad);
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
