// Webhooks: setWebhook validation, delivery with the secret header to a real HTTP server,
// retries after failures, getWebhookInfo, and the getUpdates conflict.
#include <atomic>
#include <future>
#include <mutex>

#include "sandbox/test_support.hpp"

namespace ms::sandbox::testing {
namespace {

using namespace std::chrono_literals;

// A webhook receiver: answers 500 until told to accept, then 200 and records what came.
class Receiver {
 public:
  Receiver() {
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    server_ = std::make_unique<http::Server>(so);
    server_->router().add_sync(http::Method::kPost, "/hook", [this](http::Request& req) {
      std::lock_guard lock(mu_);
      ++attempts_;
      if (attempts_ == 2) second_attempt_.set_value();
      if (!accept_) return http::Response::text(500, "down");
      if (!delivered_set_) {
        delivered_set_ = true;
        delivered_.set_value(std::make_pair(std::string(req.header("x-telegram-bot-api-secret-token").value_or("")),
                                            req.body + "|" + std::string(req.header("content-type").value_or(""))));
      }
      return http::Response::text(200, "");
    });
    auto started = server_->start();
    EXPECT_TRUE(started);
  }
  ~Receiver() { server_->stop(std::chrono::milliseconds(100)); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/hook"; }
  void accept() {
    std::lock_guard lock(mu_);
    accept_ = true;
  }
  int attempts() {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  std::future<void> second_attempt() { return second_attempt_.get_future(); }
  std::future<std::pair<std::string, std::string>> delivered() { return delivered_.get_future(); }

 private:
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  int attempts_ = 0;
  bool accept_ = false;
  bool delivered_set_ = false;
  std::promise<void> second_attempt_;
  std::promise<std::pair<std::string, std::string>> delivered_;
};

class WebhookTest : public SandboxTest {
 protected:
  void SetUp() override {
    EmulatorOptions options;
    options.webhook_retry_unit = std::chrono::milliseconds(20);
    start(options);
  }
};

TEST_F(WebhookTest, SetWebhookValidatesLikeTelegram) {
  std::string token = make_bot();
  auto set = [&](const json& p) { return api(token, "setWebhook", p); };
  EXPECT_EQ(set({{"url", "http://127.0.0.1:9/x"}, {"secret_token", "bad token!"}}).body["description"],
            "Bad Request: secret token contains unallowed characters");
  EXPECT_EQ(set({{"url", "http://127.0.0.1:9/x"}, {"secret_token", std::string(257, 'a')}}).body["description"],
            "Bad Request: secret token is too long");
  EXPECT_EQ(set({{"url", "not a url"}}).body["description"], "Bad Request: invalid webhook URL specified");
  EXPECT_EQ(set({{"url", "http://example.com/hook"}}).status, 400);
  auto ok = set({{"url", "http://127.0.0.1:9/x"}, {"secret_token", std::string(256, 'a')}});
  EXPECT_EQ(ok.body, json({{"ok", true}, {"result", true}, {"description", "Webhook was set"}}));
  auto again = set({{"url", "http://127.0.0.1:9/y"}});
  EXPECT_EQ(again.status, 429);  // more than one setWebhook per second
  clock_.advance(2s);
  EXPECT_EQ(set({{"url", "http://127.0.0.1:9/x"}, {"secret_token", std::string(256, 'a')}}).body["description"],
            "Webhook is already set");

  auto conflict = api(token, "getUpdates");
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.body["description"],
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
  EXPECT_EQ(api(token, "deleteWebhook").body["description"], "Webhook was deleted");
  EXPECT_EQ(api(token, "deleteWebhook").body["description"], "Webhook is already deleted");
  EXPECT_EQ(api(token, "getUpdates").status, 200);
  auto info = api(token, "getWebhookInfo");
  EXPECT_EQ(info.body["result"], json({{"url", ""}, {"has_custom_certificate", false}, {"pending_update_count", 0}}));
}

TEST_F(WebhookTest, DeliversWithTheSecretAndRetriesAfterFailures) {
  Receiver receiver;
  auto second_attempt = receiver.second_attempt();
  auto delivered = receiver.delivered();
  std::string token = make_bot();
  std::int64_t user = make_user();
  auto set = api(token, "setWebhook", {{"url", receiver.url()}, {"secret_token", "s3cret_T0ken-x"}});
  ASSERT_EQ(set.status, 200) << set.body;

  ASSERT_EQ(person(user, "shop_bot", "text", {{"text", "via webhook"}}).status, 200);
  ASSERT_EQ(second_attempt.wait_for(10s), std::future_status::ready);  // the first retry comes at once
  auto info = api(token, "getWebhookInfo").body["result"];
  EXPECT_EQ(info["url"], receiver.url());
  EXPECT_EQ(info["pending_update_count"], 1);
  EXPECT_EQ(info["last_error_message"], "Wrong response from the webhook: 500 Internal Server Error");
  EXPECT_EQ(info["last_error_date"], clock_.unix_seconds());
  EXPECT_EQ(info["max_connections"], 40);

  receiver.accept();
  ASSERT_EQ(delivered.wait_for(10s), std::future_status::ready);
  auto [secret, body] = delivered.get();
  EXPECT_EQ(secret, "s3cret_T0ken-x");
  auto bar = body.rfind('|');
  EXPECT_EQ(body.substr(bar + 1), "application/json");
  auto update = json::parse(body.substr(0, bar));
  EXPECT_EQ(update["message"]["text"], "via webhook");
  EXPECT_GE(receiver.attempts(), 3);
}

TEST_F(WebhookTest, SettingAWebhookEndsAPendingLongPoll) {
  std::string token = make_bot();
  auto poll = std::async(std::launch::async, [&] { return api(token, "getUpdates", {{"timeout", 20}}, 30'000); });
  ASSERT_TRUE(emu_->wait_for_poller("shop_bot", 10s));
  ASSERT_EQ(api(token, "setWebhook", {{"url", "http://127.0.0.1:9/x"}, {"drop_pending_updates", true}}).status, 200);
  auto ended = poll.get();
  EXPECT_EQ(ended.status, 409);
  EXPECT_EQ(ended.body["description"], "Conflict: terminated by setWebhook request");
}

}  // namespace
}  // namespace ms::sandbox::testing
