// Our Bot API client against an emulator we did not write: the npm telegram-test-api,
// started by tests/cross/run.sh (MS_TTA_URL). It supports only getMe, getUpdates,
// sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
// deleteMessage, setWebhook and deleteWebhook, and is thinner than Telegram (no offsets,
// dates in milliseconds, errors as HTTP 500): the checks below hold for both.
#include <gtest/gtest.h>

#include <cstdlib>
#include <future>

#include "http/client.hpp"
#include "telegram/bot_client.hpp"
#include "telegram/methods.hpp"

namespace ms {
namespace {

using nlohmann::json;
constexpr const char* kToken = "5555:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

class CrossCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("MS_TTA_URL");
    ASSERT_NE(url, nullptr) << "run through tests/cross/run.sh, which starts telegram-test-api";
    base_ = url;
    bot_ = std::make_unique<telegram::BotClient>(http_, base_, kToken);
  }

  // The person's side of telegram-test-api: its own HTTP API, not Telegram's.
  json person(const std::string& path, const json& body) {
    http::ClientRequest r;
    r.method = "POST";
    r.url = base_ + path;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = body.dump();
    auto response = http_.send_sync(std::move(r));
    EXPECT_TRUE(response) << (response ? "" : response.error().to_string());
    return response ? json::parse(response->body, nullptr, false) : json();
  }

  json person_message(const std::string& text) {
    return {{"botToken", kToken},
            {"from", {{"id", 7}, {"first_name", "Sara"}, {"username", "sara_k"}, {"is_bot", false}}},
            {"chat", {{"id", 7}, {"first_name", "Sara"}, {"type", "private"}}},
            {"date", 1700000000},
            {"text", text}};
  }

  http::CurlClient http_;
  std::string base_;
  std::unique_ptr<telegram::BotClient> bot_;
};

TEST_F(CrossCheck, GetMeReachesTheServerAndAnIncompleteUserIsAnErrorValue) {
  // telegram-test-api's getMe leaves out is_bot, which Telegram always sends: our typed
  // parse must say so as a value, naming the field, and the raw call must still work.
  auto me = bot_->call_sync(telegram::GetMe{});
  ASSERT_FALSE(me) << "telegram-test-api 4.2.1 sends no is_bot; did it change?";
  EXPECT_EQ(me.error().error_code, 0);
  EXPECT_NE(me.error().description.find("is_bot"), std::string::npos) << me.error().description;
  std::promise<telegram::RawReply> raw;
  bot_->call_raw({"getMe", json::object(), {}}, [&](telegram::RawReply r) { raw.set_value(std::move(r)); });
  auto reply = raw.get_future().get();
  ASSERT_TRUE(reply) << reply.error().to_string();
  EXPECT_EQ((*reply)["username"], "TestNameBot");
}

TEST_F(CrossCheck, AConversationThroughTheOtherEmulator) {
  person("/sendMessage", person_message("/start ref42"));
  auto updates = bot_->call_sync(telegram::GetUpdates{});
  ASSERT_TRUE(updates) << updates.error().to_string();
  ASSERT_EQ(updates->size(), 1u);
  const auto& update = updates->front();
  ASSERT_TRUE(update.message.has_value());
  EXPECT_EQ(update.message->text.value_or(""), "/start ref42");
  EXPECT_EQ(update.message->chat.id, 7);

  telegram::SendMessage hello;
  hello.chat_id = std::int64_t{7};
  hello.text = "سلام! Pick a plan";
  telegram::InlineKeyboardMarkup keyboard;
  keyboard.inline_keyboard = {{telegram::InlineKeyboardButton{}}};
  keyboard.inline_keyboard[0][0].text = "1 month";
  keyboard.inline_keyboard[0][0].callback_data = "plan:1";
  hello.reply_markup = keyboard;
  auto sent = bot_->call_sync(hello);
  ASSERT_TRUE(sent) << sent.error().to_string();
  EXPECT_EQ(sent->text.value_or(""), hello.text);

  // What the person's side of the other emulator received from our client.
  json seen = person("/getUpdates", {{"token", kToken}, {"chatId", 7}});
  ASSERT_TRUE(seen.is_object()) << seen.dump();
  ASSERT_EQ(seen["result"].size(), 1u) << seen.dump();
  const json& message = seen["result"][0]["message"];
  EXPECT_EQ(message["text"], hello.text);
  EXPECT_EQ(message["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "plan:1");

  telegram::EditMessageText edit;
  edit.chat_id = std::int64_t{7};
  edit.message_id = sent->message_id;
  edit.text = "Plan chosen: 1 month";
  auto edited = bot_->call_raw_sync(edit);
  EXPECT_TRUE(edited) << edited.error().to_string();

  telegram::DeleteMessage del;
  del.chat_id = std::int64_t{7};
  del.message_id = sent->message_id;
  auto deleted = bot_->call_raw_sync(del);
  EXPECT_TRUE(deleted) << deleted.error().to_string();
}

TEST_F(CrossCheck, WebhookCanBeSetAndDeleted) {
  telegram::SetWebhook hook;
  hook.url = "http://127.0.0.1:9/hook";
  auto set = bot_->call_raw_sync(hook);
  EXPECT_TRUE(set) << set.error().to_string();
  auto removed = bot_->call_raw_sync(telegram::DeleteWebhook{});
  EXPECT_TRUE(removed) << removed.error().to_string();
}

}  // namespace
}  // namespace ms
