// The Bot API through real HTTP: authentication, envelopes, getUpdates, messages, errors.
#include <future>
#include <regex>
#include <thread>

#include "sandbox/test_support.hpp"

namespace ms::sandbox::testing {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

class BotApiTest : public SandboxTest {};

TEST_F(BotApiTest, GetMeAnswersWithTheBotAndRevokedTokensGet401) {
  std::string token = make_bot("shop_bot");
  ASSERT_FALSE(token.empty());
  EXPECT_TRUE(std::regex_match(token, std::regex("^[0-9]+:[A-Za-z0-9_-]{35}$"))) << token;

  auto me = get("/sandbox/bot" + token + "/getMe");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.body["ok"], true);
  EXPECT_EQ(me.body["result"]["username"], "shop_bot");
  EXPECT_EQ(me.body["result"]["is_bot"], true);
  EXPECT_EQ(me.body["result"]["can_join_groups"], true);
  // Method names are case-insensitive.
  EXPECT_EQ(get("/sandbox/bot" + token + "/GETME").status, 200);

  auto revoked = post("/sandbox/api/bots/shop_bot/revoke", "{}");
  ASSERT_EQ(revoked.status, 200);
  std::string fresh = revoked.body["token"];
  EXPECT_NE(fresh, token);
  auto old = get("/sandbox/bot" + token + "/getMe");
  EXPECT_EQ(old.status, 401);
  EXPECT_EQ(old.body, json({{"ok", false}, {"error_code", 401}, {"description", "Unauthorized"}}));
  EXPECT_EQ(get("/sandbox/bot" + fresh + "/getMe").status, 200);
}

TEST_F(BotApiTest, UnknownMethodsAndMalformedTokensGet404) {
  std::string token = make_bot();
  auto unknown = get("/sandbox/bot" + token + "/sendTelepathy");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, json({{"ok", false}, {"error_code", 404}, {"description", "Not Found"}}));
  EXPECT_EQ(get("/sandbox/botnotatoken/getMe").status, 404);
  EXPECT_EQ(get("/sandbox/xyz" + token + "/getMe").status, 404);
  // Well-formed but unknown: 401.
  EXPECT_EQ(get("/sandbox/bot123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/getMe").status, 401);
}

TEST_F(BotApiTest, GetUpdatesWaitsForAPersonAndHonoursOffset) {
  std::string token = make_bot();
  std::int64_t user = make_user();
  auto poll = std::async(std::launch::async, [&] {
    auto r = api(token, "getUpdates", {{"timeout", 20}}, 30'000);
    return std::make_pair(r, Steady::now());
  });
  ASSERT_TRUE(emu_->wait_for_poller("shop_bot", 10s));
  auto started = Steady::now();
  ASSERT_EQ(person(user, "shop_bot", "text", {{"text", "hello there"}}).status, 200);
  auto [reply, returned_at] = poll.get();
  EXPECT_GE(returned_at, started);
  EXPECT_LT(returned_at - started, 10s);  // far before the 20 s timeout
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_EQ(reply.body["result"].size(), 1u);
  const json& update = reply.body["result"][0];
  EXPECT_EQ(update["message"]["text"], "hello there");
  EXPECT_EQ(update["message"]["from"]["id"], user);
  EXPECT_EQ(update["message"]["chat"]["type"], "private");
  std::int64_t first_id = update["update_id"];

  // Not confirmed yet: the same update comes again.
  auto again = api(token, "getUpdates");
  ASSERT_EQ(again.body["result"].size(), 1u);
  EXPECT_EQ(again.body["result"][0]["update_id"], first_id);

  ASSERT_EQ(person(user, "shop_bot", "text", {{"text", "second"}}).status, 200);
  auto confirmed = api(token, "getUpdates", {{"offset", first_id + 1}});
  ASSERT_EQ(confirmed.body["result"].size(), 1u);
  EXPECT_EQ(confirmed.body["result"][0]["update_id"], first_id + 1);
  EXPECT_EQ(confirmed.body["result"][0]["message"]["text"], "second");
  // The first one is gone for good.
  auto head = api(token, "getUpdates");
  ASSERT_EQ(head.body["result"].size(), 1u);
  EXPECT_EQ(head.body["result"][0]["update_id"], first_id + 1);

  // A negative offset keeps only the newest updates; limit caps the answer.
  for (const char* text : {"a", "b", "c"}) person(user, "shop_bot", "text", {{"text", text}});
  auto last = api(token, "getUpdates", {{"offset", -1}});
  ASSERT_EQ(last.body["result"].size(), 1u);
  EXPECT_EQ(last.body["result"][0]["message"]["text"], "c");
  EXPECT_EQ(api(token, "getUpdates", {{"limit", 0}}).body["result"].size(), 1u);
}

TEST_F(BotApiTest, GetUpdatesTimesOutWithAnEmptyList) {
  std::string token = make_bot();
  auto before = Steady::now();
  auto r = api(token, "getUpdates", {{"timeout", 1}}, 10'000);
  EXPECT_GE(Steady::now() - before, 900ms);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["result"], json::array());
}

TEST_F(BotApiTest, ASecondLongPollEndsTheFirstWith409) {
  std::string token = make_bot();
  auto first = std::async(std::launch::async, [&] { return api(token, "getUpdates", {{"timeout", 20}}, 30'000); });
  ASSERT_TRUE(emu_->wait_for_poller("shop_bot", 10s));
  auto second = std::async(std::launch::async, [&] { return api(token, "getUpdates", {{"timeout", 1}}, 30'000); });
  auto conflict = first.get();
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.body["description"],
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
  EXPECT_EQ(second.get().status, 200);
}

TEST_F(BotApiTest, SendMessageErrorsAreTelegrams) {
  std::string token = make_bot();
  std::int64_t user = make_user();
  auto send = [&](const json& p) { return api(token, "sendMessage", p); };

  auto not_started = send({{"chat_id", user}, {"text", "hi"}});
  EXPECT_EQ(not_started.status, 403);
  EXPECT_EQ(not_started.body["description"], "Forbidden: bot can't initiate conversation with a user");

  ASSERT_EQ(person(user, "shop_bot", "command", {{"command", "start"}, {"payload", "ref42"}}).status, 200);
  auto start = updates(token);
  ASSERT_EQ(start.size(), 1u);
  EXPECT_EQ(start[0]["message"]["text"], "/start ref42");
  EXPECT_EQ(start[0]["message"]["entities"][0], json({{"type", "bot_command"}, {"offset", 0}, {"length", 6}}));

  auto empty = send({{"chat_id", user}, {"text", ""}});
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.body, json({{"ok", false}, {"error_code", 400}, {"description", "Bad Request: message text is empty"}}));
  EXPECT_EQ(send({{"chat_id", 999}, {"text", "x"}}).body["description"], "Bad Request: chat not found");
  EXPECT_EQ(send({{"text", "x"}}).body["description"], "Bad Request: chat_id is empty");
  // 4096 UTF-16 units pass; one more fails. "😀" is two units.
  std::string emoji;
  for (int i = 0; i < 2048; ++i) emoji += "\xF0\x9F\x98\x80";
  EXPECT_EQ(send({{"chat_id", user}, {"text", emoji}}).status, 200);
  auto too_long = send({{"chat_id", user}, {"text", emoji + "a"}});
  EXPECT_EQ(too_long.status, 400);
  EXPECT_EQ(too_long.body["description"], "Bad Request: message is too long");
  EXPECT_EQ(send({{"chat_id", user}, {"text", "<b>x"}, {"parse_mode", "HTML"}}).body["description"],
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"");
  EXPECT_EQ(send({{"chat_id", user}, {"text", "x"}, {"parse_mode", "Fancy"}}).body["description"],
            "Bad Request: unsupported parse_mode");

  ASSERT_EQ(person(user, "shop_bot", "block").status, 200);
  auto blocked = send({{"chat_id", user}, {"text", "still there?"}});
  EXPECT_EQ(blocked.status, 403);
  EXPECT_EQ(blocked.body["description"], "Forbidden: bot was blocked by the user");
  auto kicked = updates(token);
  ASSERT_EQ(kicked.size(), 1u);
  EXPECT_EQ(kicked[0]["my_chat_member"]["new_chat_member"]["status"], "kicked");
  ASSERT_EQ(person(user, "shop_bot", "unblock").status, 200);
  EXPECT_EQ(send({{"chat_id", user}, {"text", "welcome back"}}).status, 200);
}

TEST_F(BotApiTest, HtmlTextBecomesEntitiesAndThePersonSeesIt) {
  std::string token = make_bot();
  std::int64_t user = make_user();
  person(user, "shop_bot", "command", {{"command", "start"}});
  auto sent = api(token, "sendMessage", {{"chat_id", std::to_string(user)}, {"text", "<b>Plan</b> &amp; <i>price</i>"},
                                          {"parse_mode", "HTML"}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.body["result"]["text"], "Plan & price");
  EXPECT_EQ(sent.body["result"]["entities"],
            json::parse(R"([{"type":"bold","offset":0,"length":4},{"type":"italic","offset":7,"length":5}])"));
  auto chat = get("/sandbox/api/users/" + std::to_string(user) + "/chats/shop_bot");
  ASSERT_EQ(chat.status, 200);
  ASSERT_EQ(chat.body["messages"].size(), 2u);
  EXPECT_EQ(chat.body["messages"][1]["message"]["text"], "Plan & price");
  EXPECT_EQ(chat.body["messages"][1]["from_bot"], true);
}

TEST_F(BotApiTest, ButtonsCallbacksAndEdits) {
  std::string token = make_bot();
  std::int64_t user = make_user();
  person(user, "shop_bot", "command", {{"command", "start"}});
  updates(token);
  json keyboard = {{"inline_keyboard", {{{{"text", "Buy"}, {"callback_data", "buy:1"}}}}}};
  // Form encodings carry reply_markup as a JSON string.
  auto sent = post("/sandbox/bot" + token + "/sendMessage",
                   "chat_id=" + std::to_string(user) + "&text=Pick&reply_markup=" +
                       std::string("%7B%22inline_keyboard%22%3A%5B%5B%7B%22text%22%3A%22Buy%22%2C%22callback_data%22%3A%22buy%3A1%22%7D%5D%5D%7D"),
                   "application/x-www-form-urlencoded");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.body["result"]["reply_markup"], keyboard);
  std::int64_t message_id = sent.body["result"]["message_id"];

  auto pressed = person(user, "shop_bot", "press", {{"message_id", message_id}, {"callback_data", "buy:1"}});
  ASSERT_EQ(pressed.status, 200) << pressed.body;
  std::string query_id = pressed.body["callback_query_id"];
  auto cb = updates(token);
  ASSERT_EQ(cb.size(), 1u);
  EXPECT_EQ(cb[0]["callback_query"]["id"], query_id);
  EXPECT_EQ(cb[0]["callback_query"]["data"], "buy:1");
  EXPECT_EQ(cb[0]["callback_query"]["message"]["message_id"], message_id);
  EXPECT_EQ(person(user, "shop_bot", "press", {{"message_id", message_id}, {"callback_data", "nope"}}).status, 404);

  auto answered = api(token, "answerCallbackQuery", {{"callback_query_id", query_id}, {"text", "Added"}, {"show_alert", true}});
  ASSERT_EQ(answered.status, 200) << answered.body;
  auto seen = get("/sandbox/api/callbacks/" + query_id);
  EXPECT_EQ(seen.body["answered"], true);
  EXPECT_EQ(seen.body["text"], "Added");
  EXPECT_EQ(seen.body["show_alert"], true);
  auto twice = api(token, "answerCallbackQuery", {{"callback_query_id", query_id}});
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(twice.body["description"], "Bad Request: query is too old and response timeout expired or query ID is invalid");

  // A query older than the answer window is refused too.
  auto late = person(user, "shop_bot", "press", {{"message_id", message_id}, {"callback_data", "buy:1"}});
  clock_.advance(std::chrono::minutes(5));
  EXPECT_EQ(api(token, "answerCallbackQuery", {{"callback_query_id", late.body["callback_query_id"]}}).status, 400);

  json edit = {{"chat_id", user}, {"message_id", message_id}, {"text", "Pick"}, {"reply_markup", keyboard}};
  auto same = api(token, "editMessageText", edit);
  EXPECT_EQ(same.status, 400);
  EXPECT_EQ(same.body["description"],
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
            "as a current content and reply markup of the message");
  edit["text"] = "Bought";
  auto edited = api(token, "editMessageText", edit);
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_EQ(edited.body["result"]["text"], "Bought");
  EXPECT_EQ(edited.body["result"]["edit_date"], clock_.unix_seconds());
  edit["message_id"] = 9999;
  EXPECT_EQ(api(token, "editMessageText", edit).body["description"], "Bad Request: message to edit not found");

  auto cleared = api(token, "editMessageReplyMarkup", {{"chat_id", user}, {"message_id", message_id}});
  ASSERT_EQ(cleared.status, 200);
  EXPECT_FALSE(cleared.body["result"].contains("reply_markup"));
  auto chat = get("/sandbox/api/users/" + std::to_string(user) + "/chats/shop_bot");
  const json& shown = chat.body["messages"].back();
  EXPECT_EQ(shown["message"]["text"], "Bought");
  EXPECT_EQ(shown["edits"], json::array({"Pick"}));

  EXPECT_EQ(api(token, "deleteMessage", {{"chat_id", user}, {"message_id", message_id}}).body["result"], true);
  EXPECT_EQ(api(token, "deleteMessage", {{"chat_id", user}, {"message_id", message_id}}).body["description"],
            "Bad Request: message to delete not found");
  auto bad_button = api(token, "sendMessage", {{"chat_id", user}, {"text", "x"},
                                               {"reply_markup", {{"inline_keyboard", {{{{"text", "y"}, {"callback_data", std::string(65, 'd')}}}}}}}});
  EXPECT_EQ(bad_button.body["description"], "Bad Request: BUTTON_DATA_INVALID");
}

TEST_F(BotApiTest, PerChatLimitGives429WithRetryAfter) {
  std::string token = make_bot();
  std::int64_t user = make_user();
  person(user, "shop_bot", "command", {{"command", "start"}});
  json msg = {{"chat_id", user}, {"text", "spam"}};
  for (int i = 0; i < 3; ++i) ASSERT_EQ(api(token, "sendMessage", msg).status, 200) << i;  // the burst
  auto limited = api(token, "sendMessage", msg);
  ASSERT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body["description"], "Too Many Requests: retry after 1");
  EXPECT_EQ(limited.body["parameters"]["retry_after"], 1);
  EXPECT_EQ(limited.retry_after_header, "1");
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(api(token, "sendMessage", msg).status, 200);
}

TEST_F(BotApiTest, LimitsCanBeTurnedOff) {
  EmulatorOptions options;
  options.limits.enabled = false;
  start(options);
  std::string token = make_bot();
  std::int64_t user = make_user();
  person(user, "shop_bot", "command", {{"command", "start"}});
  for (int i = 0; i < 40; ++i) ASSERT_EQ(api(token, "sendMessage", {{"chat_id", user}, {"text", "x"}}).status, 200);
}

}  // namespace
}  // namespace ms::sandbox::testing
