#include "telegram/types.hpp"

#include <gtest/gtest.h>

namespace ms::telegram {
namespace {

// Shapes follow shared/reference/telegram-bot-api.md (Appendix A, §8, §9).
const char* kTextMessageUpdate = R"({
  "update_id": 812345001,
  "message": {
    "message_id": 17,
    "from": {"id": 5550001, "is_bot": false, "first_name": "سارا", "last_name": "Karimi",
             "username": "sara_k", "language_code": "fa", "is_premium": true, "some_future_field": 1},
    "chat": {"id": 5550001, "type": "private", "first_name": "سارا", "username": "sara_k"},
    "date": 1718000000,
    "text": "/start@shop_bot ref_42",
    "entities": [{"type": "bot_command", "offset": 0, "length": 15}],
    "link_preview_options": {"is_disabled": true}
  }
})";

const char* kPhotoMessage = R"({
  "message_id": 18, "date": 1718000100,
  "from": {"id": 5550001, "is_bot": false, "first_name": "Sara"},
  "chat": {"id": 5550001, "type": "private", "first_name": "Sara"},
  "photo": [
    {"file_id": "AgAD-small", "file_unique_id": "u1", "width": 90, "height": 67, "file_size": 1200},
    {"file_id": "AgAD-big", "file_unique_id": "u2", "width": 1280, "height": 960}
  ],
  "caption": "رسید پرداخت",
  "caption_entities": [{"type": "bold", "offset": 0, "length": 4}]
})";

const char* kCallbackUpdate = R"({
  "update_id": 812345002,
  "callback_query": {
    "id": "4382910337463522",
    "from": {"id": 5550001, "is_bot": false, "first_name": "Sara"},
    "message": {
      "message_id": 40, "date": 1718000200,
      "from": {"id": 777000111, "is_bot": true, "first_name": "Shop", "username": "shop_bot"},
      "chat": {"id": 5550001, "type": "private", "first_name": "Sara"},
      "text": "Choose a plan",
      "reply_markup": {"inline_keyboard": [[
        {"text": "1 month", "callback_data": "plan|1"},
        {"text": "Site", "url": "https://example.com"}
      ], [{"text": "Copy", "copy_text": {"text": "vless://abc"}}]]}
    },
    "chat_instance": "-7312983123",
    "data": "plan|1"
  }
})";

TEST(TypesJson, TextMessageUpdateParsesKnownFieldsAndIgnoresUnknownOnes) {
  auto u = from_json<Update>(Json::parse(kTextMessageUpdate));
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->update_id, 812345001);
  EXPECT_EQ(u->kind, UpdateKind::kMessage);
  EXPECT_EQ(to_string(u->kind), "message");
  ASSERT_TRUE(u->message);
  const Message& m = *u->message;
  EXPECT_EQ(m.message_id, 17);
  EXPECT_EQ(m.date, 1718000000);
  ASSERT_TRUE(m.from);
  EXPECT_EQ(m.from->first_name, "سارا");
  EXPECT_EQ(m.from->language_code, "fa");
  EXPECT_TRUE(m.from->is_premium);
  EXPECT_EQ(m.chat.type, ChatType::kPrivate);
  EXPECT_EQ(m.text, "/start@shop_bot ref_42");
  ASSERT_EQ(m.entities.size(), 1u);
  EXPECT_EQ(m.entities[0].type, "bot_command");
  EXPECT_EQ(m.command(), "/start");
  EXPECT_EQ(u->chat_id(), 5550001);
  ASSERT_NE(u->sender(), nullptr);
  EXPECT_EQ(u->sender()->id, 5550001);
}

TEST(TypesJson, PhotoMessageKeepsAllSizesAndCaption) {
  auto m = from_json<Message>(Json::parse(kPhotoMessage));
  ASSERT_TRUE(m) << m.error().to_string();
  ASSERT_EQ(m->photo.size(), 2u);
  EXPECT_EQ(m->photo[1].file_id, "AgAD-big");
  EXPECT_EQ(m->photo[0].file_size, 1200);
  EXPECT_FALSE(m->photo[1].file_size);
  EXPECT_EQ(m->caption, "رسید پرداخت");
  EXPECT_FALSE(m->text);
  EXPECT_FALSE(m->command());
}

TEST(TypesJson, CallbackQueryWithInlineKeyboard) {
  auto u = from_json<Update>(Json::parse(kCallbackUpdate));
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->kind, UpdateKind::kCallbackQuery);
  const CallbackQuery& q = *u->callback_query;
  EXPECT_EQ(q.id, "4382910337463522");
  EXPECT_EQ(q.data, "plan|1");
  ASSERT_TRUE(q.message);
  EXPECT_FALSE(q.message->is_inaccessible());
  const auto& kb = q.message->reply_markup->inline_keyboard;
  ASSERT_EQ(kb.size(), 2u);
  EXPECT_EQ(kb[0][0].callback_data, "plan|1");
  EXPECT_EQ(kb[0][1].url, "https://example.com");
  EXPECT_EQ(kb[1][0].copy_text, "vless://abc");
  EXPECT_EQ(u->chat_id(), 5550001);
}

TEST(TypesJson, InaccessibleCallbackMessageHasDateZero) {
  Json j = Json::parse(kCallbackUpdate);
  j["callback_query"]["message"] = {{"chat", {{"id", 5550001}, {"type", "private"}}}, {"message_id", 40}, {"date", 0}};
  auto u = from_json<Update>(j);
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_TRUE(u->callback_query->message->is_inaccessible());
}

TEST(TypesJson, DocumentContactAndForwardOrigin) {
  Json j = Json::parse(kPhotoMessage);
  j.erase("photo");
  j["document"] = {{"file_id", "BQAD"},
                   {"file_unique_id", "d1"},
                   {"file_name", "config.pdf"},
                   {"mime_type", "application/pdf"},
                   {"file_size", 3000000000LL},
                   {"thumbnail", {{"file_id", "t"}, {"file_unique_id", "tu"}, {"width", 90}, {"height", 90}}}};
  j["contact"] = {{"phone_number", "+989121234567"}, {"first_name", "Sara"}, {"user_id", 5550001}};
  j["forward_origin"] = {{"type", "channel"},
                         {"date", 1717000000},
                         {"chat", {{"id", -1001234567890}, {"type", "channel"}, {"title", "News"}}},
                         {"message_id", 99}};
  auto m = from_json<Message>(j);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->document->file_size, 3000000000LL);
  EXPECT_EQ(m->document->thumbnail->width, 90);
  EXPECT_EQ(m->contact->user_id, 5550001);
  EXPECT_EQ(m->forward_origin->chat->id, -1001234567890);
  EXPECT_EQ(m->forward_origin->message_id, 99);
  EXPECT_EQ(to_json(*m)["forward_origin"], j["forward_origin"]);
}

TEST(TypesJson, StarsPaymentFlowObjects) {
  Json pcq = {{"update_id", 9},
              {"pre_checkout_query",
               {{"id", "pcq-1"},
                {"from", {{"id", 5550001}, {"is_bot", false}, {"first_name", "Sara"}}},
                {"currency", "XTR"},
                {"total_amount", 250},
                {"invoice_payload", "order:77"}}}};
  auto u = from_json<Update>(pcq);
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->kind, UpdateKind::kPreCheckoutQuery);
  EXPECT_EQ(u->pre_checkout_query->total_amount, 250);
  EXPECT_EQ(u->chat_id(), 5550001);

  Json paid = Json::parse(kPhotoMessage);
  paid.erase("photo");
  paid.erase("caption");
  paid.erase("caption_entities");
  paid["successful_payment"] = {{"currency", "XTR"},
                                {"total_amount", 250},
                                {"invoice_payload", "order:77"},
                                {"telegram_payment_charge_id", "stxABC"},
                                {"provider_payment_charge_id", ""}};
  auto m = from_json<Message>(paid);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->successful_payment->telegram_payment_charge_id, "stxABC");
  EXPECT_EQ(to_json(*m), paid);

  paid.erase("successful_payment");
  paid["refunded_payment"] = {{"currency", "XTR"},
                              {"total_amount", 250},
                              {"invoice_payload", "order:77"},
                              {"telegram_payment_charge_id", "stxABC"}};
  m = from_json<Message>(paid);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->refunded_payment->total_amount, 250);
  EXPECT_FALSE(m->refunded_payment->provider_payment_charge_id);
  EXPECT_EQ(to_json(*m), paid);
}

Json user_json(std::int64_t id) { return {{"id", id}, {"is_bot", false}, {"first_name", "U"}}; }

TEST(TypesJson, ChatMemberVariants) {
  Json admin = {{"status", "administrator"},    {"user", user_json(1)},    {"can_be_edited", false},
                {"is_anonymous", false},        {"can_manage_chat", true}, {"can_post_messages", true},
                {"can_delete_messages", false}, {"custom_title", "boss"}};
  auto a = from_json<ChatMember>(admin);
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->status, ChatMemberStatus::kAdministrator);
  EXPECT_TRUE(a->is_present());
  EXPECT_TRUE(a->can("can_post_messages"));
  EXPECT_FALSE(a->can("can_delete_messages"));
  EXPECT_FALSE(a->can("can_promote_members"));
  EXPECT_EQ(to_json(*a), admin);

  Json restricted = {{"status", "restricted"},
                     {"user", user_json(2)},
                     {"is_member", false},
                     {"until_date", 0},
                     {"can_send_messages", false}};
  auto r = from_json<ChatMember>(restricted);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->is_present());
  EXPECT_EQ(to_json(*r), restricted);

  Json kicked = {{"status", "kicked"}, {"user", user_json(3)}, {"until_date", 0}};
  ASSERT_TRUE(from_json<ChatMember>(kicked));
  EXPECT_FALSE(from_json<ChatMember>(kicked)->is_present());
  Json left = {{"status", "left"}, {"user", user_json(4)}};
  EXPECT_FALSE(from_json<ChatMember>(left)->is_present());
  Json creator = {{"status", "creator"}, {"user", user_json(5)}, {"is_anonymous", false}};
  EXPECT_TRUE(from_json<ChatMember>(creator)->can("can_anything"));
  Json member = {{"status", "member"}, {"user", user_json(6)}};
  EXPECT_TRUE(from_json<ChatMember>(member)->is_present());

  kicked.erase("until_date");
  auto bad = from_json<ChatMember>(kicked);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "chat_member.until_date: required field is missing");
  Json weird = {{"status", "owner"}, {"user", user_json(7)}};
  EXPECT_FALSE(from_json<ChatMember>(weird));
}

TEST(TypesJson, MyChatMemberUpdateWhenUserBlocksBot) {
  Json j = {
      {"update_id", 11},
      {"my_chat_member",
       {{"chat", {{"id", 5550001}, {"type", "private"}, {"first_name", "Sara"}}},
        {"from", user_json(5550001)},
        {"date", 1718000300},
        {"old_chat_member", {{"status", "member"}, {"user", {{"id", 777}, {"is_bot", true}, {"first_name", "B"}}}}},
        {"new_chat_member",
         {{"status", "kicked"}, {"user", {{"id", 777}, {"is_bot", true}, {"first_name", "B"}}}, {"until_date", 0}}}}}};
  auto u = from_json<Update>(j);
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->kind, UpdateKind::kMyChatMember);
  EXPECT_EQ(u->chat_member->new_chat_member.status, ChatMemberStatus::kKicked);
  EXPECT_EQ(to_json(*u), j);
  j["chat_member"] = j["my_chat_member"];
  j.erase("my_chat_member");
  EXPECT_EQ(from_json<Update>(j)->kind, UpdateKind::kChatMember);
}

TEST(TypesJson, UnknownUpdateKindIsKeptRaw) {
  Json j = {{"update_id", 12}, {"poll", {{"id", "p"}, {"question", "?"}, {"options", Json::array()}}}};
  auto u = from_json<Update>(j);
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->kind, UpdateKind::kUnknown);
  EXPECT_EQ(to_string(u->kind), "unknown");
  EXPECT_EQ(u->unknown_field, "poll");
  EXPECT_EQ(u->raw, j);
  EXPECT_EQ(to_json(*u), j);
  EXPECT_FALSE(u->chat_id());
  EXPECT_EQ(u->sender(), nullptr);
}

TEST(TypesJson, MissingOrMistypedRequiredFieldsAreNamedErrors) {
  Json j = Json::parse(kTextMessageUpdate);
  j["message"]["chat"].erase("id");
  auto u = from_json<Update>(j);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(u.error().message, "update.message.chat.id: required field is missing");

  j = Json::parse(kTextMessageUpdate);
  j["message"]["entities"][0]["offset"] = "zero";
  u = from_json<Update>(j);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message, "update.message.entities[0].offset: expected an integer");

  j = Json::parse(kTextMessageUpdate);
  j["message"]["chat"]["type"] = "secret";
  EXPECT_FALSE(from_json<Update>(j));
  EXPECT_FALSE(from_json<Update>(Json::parse(R"({"message": {}})")));
  EXPECT_FALSE(from_json<Update>(Json::parse("[1,2]")));
  EXPECT_FALSE(from_json<Update>(Json::parse(R"({"update_id": 18446744073709551615})")));
  EXPECT_FALSE(from_json<User>(Json::parse(R"({"id": 1, "first_name": "x"})")));  // is_bot is required
}

TEST(TypesJson, ToJsonOmitsAbsentOptionalsAndFalseFlags) {
  User u;
  u.id = 42;
  u.first_name = "Ali";
  EXPECT_EQ(to_json(u), Json::parse(R"({"id":42,"is_bot":false,"first_name":"Ali"})"));
  Message m;
  m.message_id = 1;
  m.chat.id = 42;
  m.date = 5;
  EXPECT_EQ(to_json(m), Json::parse(R"({"message_id":1,"chat":{"id":42,"type":"private"},"date":5})"));
}

TEST(TypesJson, GetMeKeepsBotBooleansEvenWhenFalse) {
  Json me = {{"id", 777000111},
             {"is_bot", true},
             {"first_name", "Shop"},
             {"username", "shop_bot"},
             {"can_join_groups", true},
             {"can_read_all_group_messages", false},
             {"supports_inline_queries", false}};
  auto u = from_json<User>(me);
  ASSERT_TRUE(u);
  EXPECT_EQ(to_json(*u), me);
}

TEST(TypesJson, ReplyMarkupVariantsAndBareStringButtons) {
  auto reply = from_json<ReplyMarkup>(Json::parse(
      R"({"keyboard": [["خرید", {"text": "Share phone", "request_contact": true}]], "resize_keyboard": true})"));
  ASSERT_TRUE(reply) << reply.error().to_string();
  const auto& kb = std::get<ReplyKeyboardMarkup>(*reply);
  EXPECT_EQ(kb.keyboard[0][0].text, "خرید");
  EXPECT_TRUE(kb.keyboard[0][1].request_contact);
  EXPECT_EQ(to_json(*reply)["keyboard"][0][0], Json::parse(R"({"text":"خرید"})"));

  auto remove = from_json<ReplyMarkup>(Json::parse(R"({"remove_keyboard": true})"));
  ASSERT_TRUE(remove);
  EXPECT_TRUE(std::holds_alternative<ReplyKeyboardRemove>(*remove));
  auto force = from_json<ReplyMarkup>(Json::parse(R"({"force_reply": true, "input_field_placeholder": "amount"})"));
  ASSERT_TRUE(force);
  EXPECT_EQ(std::get<ForceReply>(*force).input_field_placeholder, "amount");
  EXPECT_FALSE(from_json<ReplyMarkup>(Json::parse(R"({"colour": "blue"})")));

  InlineKeyboardMarkup pay{{{InlineKeyboardButton::pay_button("Pay ⭐250")}}};
  EXPECT_EQ(to_json(pay), Json::parse(R"({"inline_keyboard":[[{"text":"Pay ⭐250","pay":true}]]})"));
}

TEST(TypesJson, WebhookInfoForPollingBotAndFullWebhook) {
  auto polling =
      from_json<WebhookInfo>(Json::parse(R"({"url":"","has_custom_certificate":false,"pending_update_count":3})"));
  ASSERT_TRUE(polling);
  EXPECT_EQ(polling->pending_update_count, 3);
  EXPECT_EQ(to_json(*polling), Json::parse(R"({"url":"","has_custom_certificate":false,"pending_update_count":3})"));
  Json full = {{"url", "https://ms.example/telegram/7"},
               {"has_custom_certificate", false},
               {"pending_update_count", 0},
               {"ip_address", "203.0.113.7"},
               {"last_error_date", 1718000000},
               {"last_error_message", "Wrong response from the webhook: 502 Bad Gateway"},
               {"max_connections", 40},
               {"allowed_updates", {"message", "callback_query"}}};
  auto w = from_json<WebhookInfo>(full);
  ASSERT_TRUE(w) << w.error().to_string();
  EXPECT_EQ(to_json(*w), full);
}

TEST(TypesJson, ResultShapesOfMethods) {
  EXPECT_EQ(from_json<bool>(Json(true)).value(), true);
  EXPECT_EQ(from_json<std::string>(Json("https://t.me/$abc")).value(), "https://t.me/$abc");
  EXPECT_EQ(from_json<MessageId>(Json::parse(R"({"message_id": 55})"))->message_id, 55);
  auto updates =
      from_json<std::vector<Update>>(Json::array({Json::parse(kTextMessageUpdate), Json::parse(kCallbackUpdate)}));
  ASSERT_TRUE(updates);
  EXPECT_EQ(updates->size(), 2u);
  auto bad = from_json<std::vector<Update>>(Json::array({Json::parse(kTextMessageUpdate), Json{{"x", 1}}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "result[1].update_id: required field is missing");
}

TEST(TypesJson, RoundTripOfFixturesWithOnlyKnownFields) {
  Json photo = Json::parse(kPhotoMessage);
  EXPECT_EQ(to_json(from_json<Message>(photo).value()), photo);
  Json cb = Json::parse(kCallbackUpdate);
  EXPECT_EQ(to_json(from_json<Update>(cb).value()), cb);
  Json reply = Json::parse(kPhotoMessage);
  reply["reply_to_message"] = Json::parse(kPhotoMessage);
  auto m = from_json<Message>(reply);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->reply_to_message);
  EXPECT_EQ(m->reply_to_message->photo.size(), 2u);
  EXPECT_EQ(to_json(*m), reply);
}

}  // namespace
}  // namespace ms::telegram
