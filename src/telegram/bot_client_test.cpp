// BotClient through real HTTP: a CurlClient talking to a small Bot API server on
// 127.0.0.1 that answers like Telegram (envelopes, status codes, multipart uploads).
#include "telegram/bot_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "http/server.hpp"

namespace ms::telegram {
namespace {

using nlohmann::json;

constexpr const char* kToken = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

class BotClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<http::Server>(options);
    // The router matches whole segments: "/bot<token>/<method>" is "/{bot}/{method}".
    server_->router().add_sync(http::Method::kPost, "/{bot}/{method}", [this](http::Request& req) {
      ++requests_;
      const std::string bot(req.path_param("bot").value_or(""));
      const std::string method(req.path_param("method").value_or(""));
      if (bot != std::string("bot") + kToken)
        return http::Response::json(401, {{"ok", false}, {"error_code", 401}, {"description", "Unauthorized"}});
      {
        std::lock_guard lock(mutex_);
        last_content_type_ = std::string(req.header("content-type").value_or(""));
        last_body_ = req.body;
      }
      if (method == "getMe")
        return http::Response::json(200, {{"ok", true},
                                          {"result",
                                           {{"id", 123456},
                                            {"is_bot", true},
                                            {"first_name", "Shop"},
                                            {"username", "shop_bot"},
                                            {"can_join_groups", true}}}});
      if (method == "sendMessage") {
        json in = json::parse(req.body);
        if (in["chat_id"] == 42)
          return http::Response::json(403, {{"ok", false},
                                            {"error_code", 403},
                                            {"description", "Forbidden: bot was blocked by the user"}});
        if (in["chat_id"] == 43)
          return http::Response::json(429, {{"ok", false},
                                            {"error_code", 429},
                                            {"description", "Too Many Requests: retry after 7"},
                                            {"parameters", {{"retry_after", 7}}}});
        return http::Response::json(
            200, {{"ok", true},
                  {"result",
                   {{"message_id", 77},
                    {"date", 1700000000},
                    {"chat", {{"id", in["chat_id"]}, {"type", "private"}, {"first_name", "Sara"}}},
                    {"text", in["text"]}}}});
      }
      if (method == "sendPhoto")
        return http::Response::json(200, {{"ok", true},
                                          {"result",
                                           {{"message_id", 78},
                                            {"date", 1700000000},
                                            {"chat", {{"id", 5}, {"type", "private"}}},
                                            {"photo",
                                             json::array({{{"file_id", "F1"},
                                                           {"file_unique_id", "U1"},
                                                           {"width", 90},
                                                           {"height", 90}}})}}}});
      return http::Response::json(404, {{"ok", false}, {"error_code", 404}, {"description", "Not Found"}});
    });
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().to_string();
    base_ = "http://127.0.0.1:" + std::to_string(server_->bound_port());
  }

  std::unique_ptr<http::Server> server_;
  http::CurlClient http_;
  std::string base_;
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::string last_content_type_;
  std::string last_body_;
};

TEST_F(BotClientTest, GetMeIsTyped) {
  BotClient bot(http_, base_, kToken);
  EXPECT_EQ(bot.bot_id(), 123456);
  auto me = bot.call_sync(GetMe{});
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->id, 123456);
  EXPECT_EQ(me->username.value_or(""), "shop_bot");
  EXPECT_TRUE(me->is_bot);
}

TEST_F(BotClientTest, SendMessageSendsJsonAndParsesTheMessage) {
  BotClient bot(http_, base_ + "/", kToken);  // a trailing slash is tolerated
  SendMessage m;
  m.chat_id = std::int64_t{5};
  m.text = "سلام! Your service is ready ✅";
  auto sent = bot.call_sync(m);
  ASSERT_TRUE(sent) << sent.error().to_string();
  EXPECT_EQ(sent->message_id, 77);
  EXPECT_EQ(sent->text.value_or(""), m.text);
  std::lock_guard lock(mutex_);
  EXPECT_NE(last_content_type_.find("application/json"), std::string::npos);
  EXPECT_EQ(json::parse(last_body_)["text"], m.text);
}

TEST_F(BotClientTest, LimitsAreCheckedBeforeAnyRoundTrip) {
  BotClient bot(http_, base_, kToken);
  SendMessage m;
  m.chat_id = std::int64_t{5};
  m.text = "";
  auto sent = bot.call_sync(m);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().error_code, 400);
  EXPECT_EQ(sent.error().description, "Bad Request: message text is empty");
  EXPECT_EQ(requests_.load(), 0);
}

TEST_F(BotClientTest, TelegramErrorsAreValues) {
  BotClient bot(http_, base_, kToken);
  SendMessage m;
  m.text = "hi";
  m.chat_id = std::int64_t{42};
  auto blocked = bot.call_sync(m);
  ASSERT_FALSE(blocked);
  EXPECT_TRUE(is_blocked(blocked.error()));
  m.chat_id = std::int64_t{43};
  auto limited = bot.call_sync(m);
  ASSERT_FALSE(limited);
  EXPECT_TRUE(is_rate_limited(limited.error()));
  EXPECT_EQ(limited.error().retry_after, 7);

  BotClient wrong(http_, base_, "999:wrongwrongwrongwrongwrongwrongwrong");
  auto unauthorized = wrong.call_sync(GetMe{});
  ASSERT_FALSE(unauthorized);
  EXPECT_TRUE(is_unauthorized(unauthorized.error()));
}

TEST_F(BotClientTest, UploadsGoAsMultipart) {
  BotClient bot(http_, base_, kToken);
  SendPhoto p;
  p.chat_id = std::int64_t{5};
  std::string bytes("\x89PNG\r\n\x1a\n", 8);
  bytes += std::string("\0\x01\x02\xff", 4);
  p.photo = InputFile::from_bytes(bytes, "qr.png", "image/png");
  p.caption = "QR";
  auto sent = bot.call_sync(p);
  ASSERT_TRUE(sent) << sent.error().to_string();
  EXPECT_EQ(sent->message_id, 78);
  ASSERT_FALSE(sent->photo.empty());
  EXPECT_EQ(sent->photo.front().file_id, "F1");
  std::lock_guard lock(mutex_);
  EXPECT_NE(last_content_type_.find("multipart/form-data"), std::string::npos);
  EXPECT_NE(last_body_.find(bytes), std::string::npos);
  EXPECT_NE(last_body_.find("filename=\"qr.png\""), std::string::npos);
  EXPECT_NE(last_body_.find("name=\"caption\""), std::string::npos);
}

TEST_F(BotClientTest, TransportFailureIsTransientAndNeverShowsTheToken) {
  server_->stop(std::chrono::milliseconds(0));
  BotClient bot(http_, base_, kToken);
  auto me = bot.call_sync(GetMe{});
  ASSERT_FALSE(me);
  EXPECT_EQ(me.error().error_code, 0);
  EXPECT_TRUE(is_transient(me.error()));
  EXPECT_EQ(me.error().description.find("AAHdq"), std::string::npos);
}

}  // namespace
}  // namespace ms::telegram
