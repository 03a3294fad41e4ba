// Files (multipart uploads, stable ids, getFile, downloads), chats and members, the bot's
// profile, copies and forwards, and Stars payments, all through real HTTP.
#include <future>

#include "core/crypto/primitives.hpp"
#include "sandbox/test_support.hpp"

namespace ms::sandbox::testing {
namespace {

using namespace std::chrono_literals;

std::string multipart(const std::string& boundary, const std::vector<std::pair<std::string, std::string>>& fields,
                      const std::string& file_field, const std::string& file_name, const std::string& data) {
  std::string body;
  for (const auto& [name, value] : fields) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  }
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + file_field + "\"; filename=\"" + file_name +
          "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + "\r\n--" + boundary + "--\r\n";
  return body;
}

class FilesPaymentsTest : public SandboxTest {
 protected:
  std::string token_;
  std::int64_t user_ = 0;
  void SetUp() override {
    EmulatorOptions options;
    options.limits.enabled = false;
    start(options);
    token_ = make_bot("shop_bot");
    user_ = make_user("Sara", "sara_k");
    person(user_, "shop_bot", "command", {{"command", "start"}});
    updates(token_);
  }
  Reply upload(const std::string& method, const std::string& field, const std::string& name, const std::string& data) {
    const std::string boundary = "XyZ--b0undary";
    return post("/sandbox/bot" + token_ + "/" + method,
                multipart(boundary, {{"chat_id", std::to_string(user_)}, {"caption", "the <b>plan</b>"}, {"parse_mode", "HTML"}},
                          field, name, data),
                "multipart/form-data; boundary=" + boundary);
  }
};

TEST_F(FilesPaymentsTest, MultipartPhotosGetStableIdsAndDownload) {
  std::string image = png(640, 480);
  auto first = upload("sendPhoto", "photo", "a.png", image);
  ASSERT_EQ(first.status, 200) << first.body;
  const json& size = first.body["result"]["photo"][0];
  EXPECT_EQ(size["width"], 640);
  EXPECT_EQ(size["height"], 480);
  EXPECT_EQ(size["file_size"], image.size());
  EXPECT_EQ(first.body["result"]["caption"], "the plan");
  EXPECT_EQ(first.body["result"]["caption_entities"][0]["type"], "bold");

  auto second = upload("sendPhoto", "photo", "b.png", image);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.body["result"]["photo"][0]["file_id"], size["file_id"]);
  EXPECT_EQ(second.body["result"]["photo"][0]["file_unique_id"], size["file_unique_id"]);
  auto other = upload("sendPhoto", "photo", "c.png", png(640, 481));
  EXPECT_NE(other.body["result"]["photo"][0]["file_unique_id"], size["file_unique_id"]);

  // Resending by file_id; an unknown id is refused.
  auto resent = api(token_, "sendPhoto", {{"chat_id", user_}, {"photo", size["file_id"]}});
  ASSERT_EQ(resent.status, 200) << resent.body;
  EXPECT_EQ(resent.body["result"]["photo"][0]["file_unique_id"], size["file_unique_id"]);
  EXPECT_EQ(api(token_, "sendPhoto", {{"chat_id", user_}, {"photo", "AgACnothing"}}).body["description"],
            "Bad Request: wrong file identifier/HTTP URL specified");
  EXPECT_EQ(api(token_, "sendPhoto", {{"chat_id", user_}}).body["description"], "Bad Request: there is no photo in the request");
  EXPECT_EQ(upload("sendPhoto", "photo", "x.txt", "not an image").body["description"], "Bad Request: IMAGE_PROCESS_FAILED");

  auto file = api(token_, "getFile", {{"file_id", size["file_id"]}});
  ASSERT_EQ(file.status, 200) << file.body;
  std::string path = file.body["result"]["file_path"];
  TestConnection c(port_);
  auto download = c.request("GET", "/sandbox/file/bot" + token_ + "/" + path);
  ASSERT_TRUE(download);
  EXPECT_EQ(download->status, 200);
  EXPECT_EQ(download->body, image);
  EXPECT_EQ(get("/sandbox/file/bot" + token_ + "/photos/nothing.jpg").status, 404);
  EXPECT_EQ(api(token_, "getFile", {{"file_id", "BQACzzz"}}).body["description"], "Bad Request: invalid file_id");

  // Another bot cannot use this bot's file_id, but the same content has the same unique id.
  std::string other_token = make_bot("other_bot");
  person(user_, "other_bot", "command", {{"command", "start"}});
  EXPECT_EQ(api(other_token, "sendPhoto", {{"chat_id", user_}, {"photo", size["file_id"]}}).status, 400);

  auto doc = upload("sendDocument", "document", "terms.pdf", "%PDF-1.4 terms");
  ASSERT_EQ(doc.status, 200) << doc.body;
  EXPECT_EQ(doc.body["result"]["document"]["file_name"], "terms.pdf");
  EXPECT_EQ(doc.body["result"]["document"]["mime_type"], "application/pdf");
  EXPECT_EQ(api(token_, "sendPhoto", {{"chat_id", user_}, {"photo", doc.body["result"]["document"]["file_id"]}}).body["description"],
            "Bad Request: type of file mismatch");
}

TEST_F(FilesPaymentsTest, PersonPhotosAndContactsReachTheBot) {
  auto sent = person(user_, "shop_bot", "photo", {{"photo_base64", crypto::base64_encode(png(100, 50))}, {"caption", "receipt"}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  ASSERT_EQ(person(user_, "shop_bot", "contact", {{"phone_number", "+989121234567"}}).status, 200);
  auto got = updates(token_);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["message"]["photo"][0]["width"], 100);
  EXPECT_EQ(got[0]["message"]["caption"], "receipt");
  auto file = api(token_, "getFile", {{"file_id", got[0]["message"]["photo"][0]["file_id"]}});
  EXPECT_EQ(file.status, 200);
  EXPECT_EQ(got[1]["message"]["contact"], json({{"phone_number", "+989121234567"}, {"first_name", "Sara"}, {"user_id", user_}}));
}

TEST_F(FilesPaymentsTest, ChatMembersFollowJoinsAndLeaves) {
  auto channel = post("/sandbox/api/chats", json{{"type", "channel"}, {"title", "News"}, {"username", "news_channel"}}.dump());
  ASSERT_EQ(channel.status, 201) << channel.body;
  std::int64_t chat = channel.body["id"];
  std::string base = "/sandbox/api/chats/" + std::to_string(chat) + "/";
  json query = {{"chat_id", chat}, {"user_id", user_}};

  auto inaccessible = api(token_, "getChatMember", query);
  EXPECT_EQ(inaccessible.body["description"], "Bad Request: member list is inaccessible");
  ASSERT_EQ(post(base + "add_bot", json{{"bot", "shop_bot"}, {"admin", true}}.dump()).status, 200);
  auto promoted = updates(token_);
  ASSERT_EQ(promoted.size(), 1u);
  EXPECT_EQ(promoted[0]["my_chat_member"]["new_chat_member"]["status"], "administrator");

  EXPECT_EQ(api(token_, "getChatMember", query).body["result"]["status"], "left");
  ASSERT_EQ(post(base + "join", json{{"user", user_}}.dump()).status, 200);
  auto member = api(token_, "getChatMember", query);
  EXPECT_EQ(member.body["result"]["status"], "member");
  EXPECT_EQ(member.body["result"]["user"]["username"], "sara_k");
  ASSERT_EQ(post(base + "leave", json{{"user", user_}}.dump()).status, 200);
  EXPECT_EQ(api(token_, "getChatMember", query).body["result"]["status"], "left");
  EXPECT_EQ(api(token_, "getChatMember", {{"chat_id", "@news_channel"}, {"user_id", user_}}).body["result"]["status"], "left");

  std::int64_t stranger = make_user("Ali");
  EXPECT_EQ(api(token_, "getChatMember", {{"chat_id", chat}, {"user_id", stranger}}).body["description"],
            "Bad Request: user not found");
  EXPECT_EQ(api(token_, "getChatMember", {{"chat_id", -100999}, {"user_id", user_}}).body["description"],
            "Bad Request: chat not found");
  auto info = api(token_, "getChat", {{"chat_id", "@news_channel"}});
  EXPECT_EQ(info.body["result"]["title"], "News");
  EXPECT_EQ(info.body["result"]["type"], "channel");

  // As an admin the bot can post; copies and forwards land in the channel.
  auto mine = api(token_, "sendMessage", {{"chat_id", user_}, {"text", "offer"}});
  auto copied = api(token_, "copyMessage", {{"chat_id", chat}, {"from_chat_id", user_}, {"message_id", mine.body["result"]["message_id"]}});
  ASSERT_EQ(copied.status, 200) << copied.body;
  auto forwarded = api(token_, "forwardMessage", {{"chat_id", chat}, {"from_chat_id", user_}, {"message_id", mine.body["result"]["message_id"]}});
  ASSERT_EQ(forwarded.status, 200) << forwarded.body;
  EXPECT_EQ(forwarded.body["result"]["forward_origin"]["type"], "user");
  auto posts = get("/sandbox/api/chats/" + std::to_string(chat));
  ASSERT_EQ(posts.body["messages"].size(), 2u);
  EXPECT_EQ(posts.body["messages"][0]["message"]["text"], "offer");
  EXPECT_EQ(posts.body["messages"][0]["message"]["message_id"], copied.body["result"]["message_id"]);
}

TEST_F(FilesPaymentsTest, GroupJoinsReachMemberBotsAsServiceMessages) {
  auto group = post("/sandbox/api/chats", json{{"type", "supergroup"}, {"title", "Buyers"}, {"owner", user_}}.dump());
  ASSERT_EQ(group.status, 201) << group.body;
  std::int64_t chat = group.body["id"];
  std::string base = "/sandbox/api/chats/" + std::to_string(chat) + "/";
  std::int64_t ali = make_user("Ali");
  EXPECT_EQ(api(token_, "sendMessage", {{"chat_id", chat}, {"text", "hi"}}).body["description"],
            "Forbidden: bot is not a member of the supergroup chat");
  ASSERT_EQ(post(base + "add_bot", json{{"bot", "shop_bot"}}.dump()).status, 200);
  ASSERT_EQ(post(base + "join", json{{"user", ali}}.dump()).status, 200);
  auto got = updates(token_);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["my_chat_member"]["new_chat_member"]["status"], "member");
  EXPECT_EQ(got[0]["my_chat_member"]["from"]["id"], user_);  // the owner added it
  EXPECT_EQ(got[1]["message"]["new_chat_members"][0]["id"], ali);
  EXPECT_EQ(api(token_, "getChatMember", {{"chat_id", chat}, {"user_id", user_}}).body["result"]["status"], "creator");
  EXPECT_EQ(api(token_, "sendMessage", {{"chat_id", chat}, {"text", "welcome"}}).status, 200);
}

TEST_F(FilesPaymentsTest, CommandsAndDescriptions) {
  json commands = json::array({{{"command", "start"}, {"description", "Start"}}, {{"command", "/plans"}, {"description", "Plans"}}});
  ASSERT_EQ(api(token_, "setMyCommands", {{"commands", commands}}).status, 200);
  auto got = api(token_, "getMyCommands");
  EXPECT_EQ(got.body["result"][1], json({{"command", "plans"}, {"description", "Plans"}}));
  EXPECT_EQ(api(token_, "getMyCommands", {{"language_code", "fa"}}).body["result"], json::array());
  EXPECT_EQ(api(token_, "setMyCommands", {{"commands", "[{\"command\":\"Bad!\",\"description\":\"x\"}]"}}).body["description"],
            "Bad Request: BOT_COMMAND_INVALID");
  EXPECT_EQ(api(token_, "setMyCommands", {{"commands", "not json"}}).body["description"],
            "Bad Request: can't parse commands JSON object");
  ASSERT_EQ(api(token_, "setMyDescription", {{"description", "We sell plans"}}).status, 200);
  ASSERT_EQ(api(token_, "setMyShortDescription", {{"short_description", std::string(121, 'x')}}).status, 400);
  auto profile = get("/sandbox/api/bots/shop_bot");
  EXPECT_EQ(profile.body["description"], "We sell plans");
  EXPECT_EQ(profile.body["commands"].size(), 2u);
}

// The emulator answers with telegram::limits, the checks the client runs before sending:
// the same rule gives the same code and description on both sides.
TEST_F(FilesPaymentsTest, SharedLimitChecksReachTheWire) {
  auto description = [&](const std::string& method, const json& params) {
    auto r = api(token_, method, params);
    EXPECT_EQ(r.status, 400) << method << " " << r.body;
    return r.body.value("description", std::string());
  };
  json row = json::array();
  for (int i = 0; i < 9; ++i) row.push_back({{"text", "b"}, {"callback_data", "d"}});
  EXPECT_EQ(description("sendMessage", {{"chat_id", user_}, {"text", "x"}, {"reply_markup", {{"inline_keyboard", {row}}}}}),
            "Bad Request: reply markup is too long");
  EXPECT_EQ(description("sendMessage", {{"chat_id", user_}, {"text", "x"}, {"reply_markup", json::parse(R"({"inline_keyboard":[["a"]]})")}}),
            "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object");
  EXPECT_EQ(description("sendMessage", {{"chat_id", user_}, {"text", "x"}, {"reply_markup", json::parse(R"({"keyboard":[[{"text":5}]]})")}}),
            "Bad Request: can't parse keyboard button: Field \"text\" must be of type String");
  EXPECT_EQ(description("sendMessage", {{"chat_id", user_}, {"text", "<b> </b>"}, {"parse_mode", "HTML"}}),
            "Bad Request: text must be non-empty");
  EXPECT_EQ(description("sendPhoto", {{"chat_id", user_}, {"photo", "AgAD"}, {"caption", std::string(1025, 'c')}}),
            "Bad Request: message caption is too long");
  EXPECT_EQ(description("setMyCommands", {{"commands", json::array({{{"command", 7}, {"description", "x"}}})}}),
            "Bad Request: can't parse BotCommand: Field \"command\" must be of type String");
  json invoice = {{"title", std::string(33, 't')}, {"description", "30 days"}, {"payload", "order-18"},
                  {"currency", "XTR"}, {"prices", json::array({{{"label", "Gold"}, {"amount", 250}}})}};
  EXPECT_EQ(description("createInvoiceLink", invoice), "Bad Request: invoice title is too long");
  invoice["title"] = "Gold";
  invoice["prices"] = json::array({{{"label", "Gold"}}});
  EXPECT_EQ(description("createInvoiceLink", invoice), "Bad Request: can't parse labeled price: Can't find field \"amount\"");
  invoice["prices"] = json::array({{{"label", "Gold"}, {"amount", 10'001}}});
  invoice["subscription_period"] = 2'592'000;
  EXPECT_EQ(description("createInvoiceLink", invoice), "Bad Request: SUBSCRIPTION_PRICE_INVALID");
  invoice["prices"][0]["amount"] = 10'000;
  EXPECT_EQ(api(token_, "createInvoiceLink", invoice).status, 200);
}

TEST_F(FilesPaymentsTest, StarsInvoiceThroughPreCheckoutToPaymentAndRefund) {
  json invoice = {{"chat_id", user_}, {"title", "Gold plan"}, {"description", "30 days"}, {"payload", "order-17"},
                  {"currency", "XTR"}, {"prices", json::array({{{"label", "Gold"}, {"amount", 250}}})}};
  json two_prices = invoice;
  two_prices["prices"].push_back({{"label", "Tax"}, {"amount", 1}});
  EXPECT_EQ(api(token_, "sendInvoice", two_prices).body["description"], "Bad Request: STARS_INVOICE_INVALID");
  json no_title = invoice;
  no_title.erase("title");
  EXPECT_EQ(api(token_, "sendInvoice", no_title).body["description"], "Bad Request: parameter \"title\" is required");
  auto sent = api(token_, "sendInvoice", invoice);
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.body["result"]["invoice"]["total_amount"], 250);
  std::int64_t message_id = sent.body["result"]["message_id"];

  auto paying = std::async(std::launch::async, [&] { return person(user_, "shop_bot", "pay", {{"message_id", message_id}}); });
  auto poll = api(token_, "getUpdates", {{"timeout", 10}}, 20'000);
  ASSERT_EQ(poll.body["result"].size(), 1u) << poll.body;
  const json& query = poll.body["result"][0]["pre_checkout_query"];
  EXPECT_EQ(query["invoice_payload"], "order-17");
  EXPECT_EQ(query["currency"], "XTR");
  EXPECT_EQ(query["total_amount"], 250);
  EXPECT_EQ(api(token_, "answerPreCheckoutQuery", {{"pre_checkout_query_id", query["id"]}, {"ok", false}}).body["description"],
            "Bad Request: parameter \"error_message\" is required");
  ASSERT_EQ(api(token_, "answerPreCheckoutQuery", {{"pre_checkout_query_id", query["id"]}, {"ok", true}}).status, 200);
  auto paid = paying.get();
  ASSERT_EQ(paid.status, 200) << paid.body;
  EXPECT_EQ(paid.body["status"], "paid");
  std::string charge = paid.body["telegram_payment_charge_id"];
  EXPECT_EQ(api(token_, "answerPreCheckoutQuery", {{"pre_checkout_query_id", query["id"]}, {"ok", true}}).body["description"],
            "Bad Request: query is too old and response timeout expired or query ID is invalid");

  auto after = updates(token_);
  ASSERT_GE(after.size(), 2u);
  const json& payment = after.back()["message"]["successful_payment"];
  EXPECT_EQ(payment["telegram_payment_charge_id"], charge);
  EXPECT_EQ(payment["invoice_payload"], "order-17");
  EXPECT_EQ(payment["total_amount"], 250);

  EXPECT_EQ(api(token_, "refundStarPayment", {{"user_id", user_}, {"telegram_payment_charge_id", "stxnope"}}).body["description"],
            "Bad Request: CHARGE_NOT_FOUND");
  ASSERT_EQ(api(token_, "refundStarPayment", {{"user_id", user_}, {"telegram_payment_charge_id", charge}}).status, 200);
  EXPECT_EQ(api(token_, "refundStarPayment", {{"user_id", user_}, {"telegram_payment_charge_id", charge}}).body["description"],
            "Bad Request: CHARGE_ALREADY_REFUNDED");
  auto refunded = updates(token_);
  ASSERT_EQ(refunded.size(), 1u);
  EXPECT_EQ(refunded[0]["message"]["refunded_payment"]["telegram_payment_charge_id"], charge);

  auto link = api(token_, "createInvoiceLink", invoice);
  ASSERT_EQ(link.status, 200);
  EXPECT_EQ(link.body["result"].get<std::string>().rfind("https://t.me/$", 0), 0u);
}

TEST_F(FilesPaymentsTest, ADeclinedCheckoutIsReported) {
  auto link = api(token_, "createInvoiceLink", {{"title", "T"}, {"description", "D"}, {"payload", "p"}, {"currency", "XTR"},
                                                 {"prices", "[{\"label\":\"x\",\"amount\":5}]"}});
  ASSERT_EQ(link.status, 200) << link.body;
  auto paying = std::async(std::launch::async, [&] {
    return person(user_, "shop_bot", "pay", {{"invoice_link", link.body["result"]}});
  });
  auto poll = api(token_, "getUpdates", {{"timeout", 10}}, 20'000);
  ASSERT_EQ(poll.body["result"].size(), 1u);
  std::string id = poll.body["result"][0]["pre_checkout_query"]["id"];
  ASSERT_EQ(api(token_, "answerPreCheckoutQuery", {{"pre_checkout_query_id", id}, {"ok", false}, {"error_message", "Sold out"}}).status, 200);
  auto declined = paying.get();
  EXPECT_EQ(declined.body["status"], "declined");
  EXPECT_EQ(declined.body["error_message"], "Sold out");
}

}  // namespace
}  // namespace ms::sandbox::testing
