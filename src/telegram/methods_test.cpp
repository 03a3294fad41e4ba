#include "telegram/methods.hpp"

#include <gtest/gtest.h>

namespace ms::telegram {
namespace {

TEST(Methods, SendMessageParamsUseTelegramNames) {
  SendMessage m;
  m.chat_id = std::int64_t{5550001};
  m.text = "سلام <b>دنیا</b>";
  m.parse_mode = "HTML";
  m.disable_link_preview = true;
  m.options.reply_to_message_id = 17;
  m.reply_markup = InlineKeyboardMarkup{{{InlineKeyboardButton::callback("خرید", "buy|1")}}};
  auto r = make_request(m);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->method, "sendMessage");
  EXPECT_FALSE(r->needs_multipart());
  EXPECT_EQ(r->params, Json::parse(R"({
    "chat_id": 5550001, "text": "سلام <b>دنیا</b>", "parse_mode": "HTML",
    "link_preview_options": {"is_disabled": true},
    "reply_parameters": {"message_id": 17, "allow_sending_without_reply": true},
    "reply_markup": {"inline_keyboard": [[{"text": "خرید", "callback_data": "buy|1"}]]}})"));
}

TEST(Methods, ValidationGivesTelegramsError) {
  SendMessage empty;
  empty.chat_id = std::int64_t{1};
  auto r = make_request(empty);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), (TelegramError{400, "Bad Request: message text is empty", {}, {}}));

  SendMessage no_chat;
  no_chat.chat_id = std::string();
  no_chat.text = "hi";
  EXPECT_EQ(make_request(no_chat).error().description, "Bad Request: chat_id is empty");

  SendMessage long_data;
  long_data.chat_id = std::string("@news");
  long_data.text = "hi";
  long_data.reply_markup = InlineKeyboardMarkup{{{InlineKeyboardButton::callback("x", std::string(65, 'd'))}}};
  EXPECT_EQ(make_request(long_data).error().description, "Bad Request: BUTTON_DATA_INVALID");

  AnswerCallbackQuery answer;
  answer.callback_query_id = "q1";
  answer.text = std::string(201, 'a');
  EXPECT_EQ(make_request(answer).error().description, "Bad Request: MESSAGE_TOO_LONG");
  answer.text = "ثبت شد";
  answer.show_alert = true;
  EXPECT_EQ(make_request(answer)->params,
            Json::parse(R"({"callback_query_id":"q1","text":"ثبت شد","show_alert":true})"));

  EditMessageText edit;
  edit.chat_id = std::int64_t{1};
  edit.message_id = 9;
  edit.text = std::string(4097, 'x');
  EXPECT_EQ(make_request(edit).error().description, "Bad Request: message is too long");
}

TEST(Methods, PhotoUploadIsMultipartAndFileIdIsNot) {
  SendPhoto by_id;
  by_id.chat_id = std::int64_t{1};
  by_id.photo = InputFile::from_reference("AgADBAAD");
  by_id.caption = "QR";
  auto r = make_request(by_id);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->needs_multipart());
  EXPECT_EQ(r->params["photo"], "AgADBAAD");

  SendPhoto upload = by_id;
  upload.photo = InputFile::from_bytes(std::string("\x89PNG\r\n", 6), "qr.png", "image/png");
  r = make_request(upload);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->needs_multipart());
  EXPECT_FALSE(r->params.contains("photo"));
  ASSERT_EQ(r->uploads.size(), 1u);
  EXPECT_EQ(r->uploads[0].field, "photo");
  EXPECT_EQ(r->uploads[0].filename, "qr.png");
  EXPECT_EQ(r->uploads[0].mime_type, "image/png");
  EXPECT_EQ(r->uploads[0].bytes.size(), 6u);

  SendDocument doc;
  doc.chat_id = std::int64_t{1};
  EXPECT_EQ(make_request(doc).error().description, "Bad Request: there is no document in the request");
  doc.document = InputFile::from_bytes("{}", "config.json", "application/json");
  doc.caption = std::string(1025, 'c');
  EXPECT_EQ(make_request(doc).error().description, "Bad Request: message caption is too long");
  doc.caption = "کانفیگ";
  r = make_request(doc);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->uploads.at(0).field, "document");

  const auto fields =
      form_fields(Json{{"chat_id", 5}, {"caption", "x"}, {"reply_markup", {{"remove_keyboard", true}}}});
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0], (std::pair<std::string, std::string>{"caption", "x"}));
  EXPECT_EQ(fields[1], (std::pair<std::string, std::string>{"chat_id", "5"}));
  EXPECT_EQ(fields[2], (std::pair<std::string, std::string>{"reply_markup", R"({"remove_keyboard":true})"}));
}

TEST(Methods, StarsInvoiceAndLink) {
  auto inv = SendInvoice::stars(std::int64_t{5550001}, "VPN 1 month", "30 days", "order:77", "1 month", 250);
  auto r = make_request(inv);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->method, "sendInvoice");
  EXPECT_EQ(r->params, Json::parse(R"({"chat_id":5550001,"title":"VPN 1 month","description":"30 days",
    "payload":"order:77","provider_token":"","currency":"XTR","prices":[{"label":"1 month","amount":250}]})"));
  inv.prices.push_back({"extra", 1});
  EXPECT_FALSE(make_request(inv));

  auto link = CreateInvoiceLink::stars("Monthly", "Renews every 30 days", "sub:1", "Month", 100);
  link.subscription_period = 2592000;
  r = make_request(link);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->params["subscription_period"], 2592000);
  link.subscription_period = 7;
  EXPECT_FALSE(make_request(link));

  AnswerPreCheckoutQuery no;
  no.pre_checkout_query_id = "pcq";
  no.ok = false;
  EXPECT_EQ(make_request(no).error().description, "Bad Request: parameter \"error_message\" is required");
  no.error_message = "Sold out";
  EXPECT_EQ(make_request(no)->params,
            Json::parse(R"({"pre_checkout_query_id":"pcq","ok":false,"error_message":"Sold out"})"));

  RefundStarPayment refund;
  EXPECT_EQ(make_request(refund).error().description, "Bad Request: invalid user_id specified");
  refund.user_id = 5550001;
  EXPECT_EQ(make_request(refund).error().description,
            "Bad Request: parameter \"telegram_payment_charge_id\" is required");
  refund.telegram_payment_charge_id = "stxABC";
  EXPECT_TRUE(make_request(refund));
}

TEST(Methods, WebhookUpdatesAndBotProfile) {
  GetUpdates g;
  EXPECT_EQ(make_request(g)->params, Json::object());
  g.offset = 812345002;
  g.timeout = 50;
  g.allowed_updates = std::vector<std::string>{"message", "callback_query"};
  EXPECT_EQ(make_request(g)->params,
            Json::parse(R"({"offset":812345002,"timeout":50,"allowed_updates":["message","callback_query"]})"));

  SetWebhook w;
  w.url = "https://ms.example/telegram/7";
  w.secret_token = "bad token!";
  EXPECT_EQ(make_request(w).error().description, "Bad Request: secret token contains unallowed characters");
  w.secret_token = "s3cr3t_-";
  w.drop_pending_updates = true;
  EXPECT_EQ(
      make_request(w)->params,
      Json::parse(R"({"url":"https://ms.example/telegram/7","secret_token":"s3cr3t_-","drop_pending_updates":true})"));
  EXPECT_EQ(make_request(DeleteWebhook{})->params, Json::object());
  EXPECT_EQ(make_request(GetWebhookInfo{})->method, "getWebhookInfo");
  EXPECT_EQ(make_request(GetMe{})->method, "getMe");

  SetMyCommands cmds;
  cmds.commands = {{"start", "شروع"}, {"help", "راهنما"}};
  cmds.scope = BotCommandScope{"chat", ChatId{std::int64_t{42}}, std::nullopt};
  cmds.language_code = "fa";
  EXPECT_EQ(make_request(cmds)->params, Json::parse(R"({"commands":[{"command":"start","description":"شروع"},
    {"command":"help","description":"راهنما"}],"scope":{"type":"chat","chat_id":42},"language_code":"fa"})"));
  cmds.commands.push_back({"Bad-Name", "x"});
  EXPECT_FALSE(make_request(cmds));

  SetMyDescription d;
  d.description = std::string(513, 'd');
  EXPECT_FALSE(make_request(d));
  SetMyShortDescription sd;
  sd.short_description = "فروش VPN";
  EXPECT_EQ(make_request(sd)->params, Json::parse(R"({"short_description":"فروش VPN"})"));
}

TEST(Methods, NonUtf8TextIsRefusedBeforeItCanBreakSerialization) {
  SendMessage m;
  m.chat_id = std::int64_t{1};
  m.text = "ok";
  m.reply_markup = InlineKeyboardMarkup{{{InlineKeyboardButton::callback("\xff\xfe", "d")}}};
  auto r = make_request(m);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().description, "Bad Request: strings must be encoded in UTF-8");
  m.reply_markup.reset();
  m.text = "bad \xc0\xaf";
  EXPECT_FALSE(make_request(m));
  EXPECT_EQ(form_fields(Json{{"a", {{"k", "\xff"}}}}).at(0).second, "{\"k\":\"\xef\xbf\xbd\"}");
}

TEST(Methods, ChatAndMessageOperations) {
  GetChatMember gm;
  gm.chat_id = std::string("@mychannel");
  EXPECT_EQ(make_request(gm).error().description, "Bad Request: invalid user_id specified");
  gm.user_id = 5550001;
  EXPECT_EQ(make_request(gm)->params, Json::parse(R"({"chat_id":"@mychannel","user_id":5550001})"));

  CopyMessage c;
  c.chat_id = std::int64_t{1};
  c.from_chat_id = std::int64_t{-1001};
  c.message_id = 3;
  EXPECT_EQ(make_request(c)->params, Json::parse(R"({"chat_id":1,"from_chat_id":-1001,"message_id":3})"));
  ForwardMessage f;
  f.chat_id = std::int64_t{1};
  f.from_chat_id = std::string();
  EXPECT_EQ(make_request(f).error().description, "Bad Request: chat_id is empty");
  DeleteMessage del;
  del.chat_id = std::int64_t{1};
  del.message_id = 4;
  EXPECT_EQ(make_request(del)->params, Json::parse(R"({"chat_id":1,"message_id":4})"));
  EditMessageReplyMarkup erm;
  erm.chat_id = std::int64_t{1};
  erm.message_id = 4;
  EXPECT_EQ(make_request(erm)->params, Json::parse(R"({"chat_id":1,"message_id":4})"));
  GetFile gf;
  EXPECT_EQ(make_request(gf).error().description, "Bad Request: file_id not specified");
  GetChat gc;
  gc.chat_id = std::int64_t{-1001};
  EXPECT_EQ(make_request(gc)->params, Json::parse(R"({"chat_id":-1001})"));
}

}  // namespace
}  // namespace ms::telegram
