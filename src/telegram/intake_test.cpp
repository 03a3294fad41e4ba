// Intake: de-duplication, per-chat ordering with parallel chats and backpressure, and the
// webhook route through a real HTTP server.
#include "telegram/intake.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>

#include "http/client.hpp"
#include "http/server.hpp"

namespace ms::telegram {
namespace {

using nlohmann::json;

TEST(UpdateDeduper, RepeatsAreDroppedAndOldIdsCountAsSeen) {
  UpdateDeduper seen(3);
  EXPECT_TRUE(seen.first_time(10));
  EXPECT_FALSE(seen.first_time(10));
  EXPECT_TRUE(seen.first_time(12));
  EXPECT_TRUE(seen.first_time(11));  // out of order but new
  EXPECT_TRUE(seen.first_time(13));  // window full: 10 falls out
  EXPECT_FALSE(seen.first_time(9));  // older than everything remembered
  EXPECT_FALSE(seen.first_time(12));
  seen.forget(13);
  EXPECT_TRUE(seen.first_time(13));
}

TEST(ChatOrderedExecutor, EachChatRunsInOrderUnderConcurrentSubmits) {
  WorkerPool pool(4, 100'000);
  ChatOrderedExecutor executor(pool, 100'000);
  constexpr int kChats = 8;
  constexpr int kPerChat = 500;
  std::mutex mutex;
  std::vector<std::vector<int>> seen(kChats);
  std::atomic<int> done{0};
  std::vector<std::thread> submitters;
  for (int chat = 0; chat < kChats; ++chat) {
    submitters.emplace_back([&, chat] {
      for (int i = 0; i < kPerChat; ++i) {
        auto r = executor.submit("bot1:" + std::to_string(chat), [&, chat, i] {
          {
            std::lock_guard lock(mutex);
            seen[chat].push_back(i);
          }
          ++done;
        });
        ASSERT_TRUE(r) << r.error().to_string();
      }
    });
  }
  for (auto& t : submitters) t.join();
  pool.shutdown();
  EXPECT_EQ(done.load(), kChats * kPerChat);
  for (int chat = 0; chat < kChats; ++chat) {
    ASSERT_EQ(seen[chat].size(), static_cast<std::size_t>(kPerChat));
    for (int i = 0; i < kPerChat; ++i) ASSERT_EQ(seen[chat][i], i) << "chat " << chat << " out of order";
  }
  EXPECT_EQ(executor.pending(), 0u);
}

TEST(ChatOrderedExecutor, ASlowChatDoesNotHoldUpOthersAndThrowingIsContained) {
  WorkerPool pool(2, 1000);
  ChatOrderedExecutor executor(pool, 1000);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> other_ran;
  ASSERT_TRUE(executor.submit("slow", [gate] { gate.wait(); }));
  ASSERT_TRUE(executor.submit("boom", [] { throw std::runtime_error("handler bug"); }));
  ASSERT_TRUE(executor.submit("boom", [&] { other_ran.set_value(); }));
  EXPECT_EQ(other_ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  release.set_value();
  pool.shutdown();
  EXPECT_EQ(executor.pending(), 0u);
}

TEST(ChatOrderedExecutor, FullQueuePushesBack) {
  WorkerPool pool(1, 1000);
  ChatOrderedExecutor executor(pool, 3);
  std::promise<void> release;
  auto gate = release.get_future().share();
  ASSERT_TRUE(executor.submit("a", [gate] { gate.wait(); }));
  ASSERT_TRUE(executor.submit("a", [] {}));
  ASSERT_TRUE(executor.submit("b", [] {}));
  auto full = executor.submit("c", [] {});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kLimitExceeded);
  release.set_value();
  pool.shutdown();
  EXPECT_EQ(executor.pending(), 0u);  // everything accepted ran
}

TEST(ChatOrderedExecutor, AHungTaskIsReleasedAndItsChatGoesOnInOrder) {
  WorkerPool pool(2, 1000);
  ChatOrderedExecutor executor(pool, 1000);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::mutex mutex;
  std::vector<int> order;
  std::promise<void> second_ran;
  ASSERT_TRUE(executor.submit("chat", [gate] { gate.wait(); }));
  ASSERT_TRUE(executor.submit("chat", [&] {
    std::lock_guard lock(mutex);
    order.push_back(2);
  }));
  ASSERT_TRUE(executor.submit("chat", [&] {
    {
      std::lock_guard lock(mutex);
      order.push_back(3);
    }
    second_ran.set_value();
  }));
  auto ran = second_ran.get_future();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(executor.release_hung(std::chrono::seconds(10)).empty());  // not hung for that long yet
  EXPECT_EQ(ran.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  const auto released = executor.release_hung(std::chrono::milliseconds(20));
  ASSERT_EQ(released, std::vector<std::string>{"chat"});
  EXPECT_EQ(executor.hung(), 1u);
  EXPECT_EQ(ran.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(order, (std::vector<int>{2, 3}));
  }
  // A new task for the key after the release runs normally, and the hung one returning late
  // does not disturb it.
  std::promise<void> fourth;
  ASSERT_TRUE(executor.submit("chat", [&] { fourth.set_value(); }));
  EXPECT_EQ(fourth.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  release.set_value();
  pool.shutdown();
  EXPECT_EQ(executor.hung(), 0u);
  EXPECT_EQ(executor.pending(), 0u);
}

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<http::Server>(options);
    intake_.add_routes(server_->router());
    intake_.set("42", {"s3cret_token-A", [this](Update u) -> Result<void> {
                         std::lock_guard lock(mutex_);
                         if (full_) return fail(ErrorCode::kLimitExceeded, "full");
                         received_.push_back(std::move(u));
                         return ok();
                       }});
    ASSERT_TRUE(server_->start());
    url_ = "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/telegram/";
  }

  int post(const std::string& instance, const std::string& body, const char* secret) {
    http::ClientRequest r;
    r.method = "POST";
    r.url = url_ + instance;
    r.body = body;
    r.headers.emplace_back("Content-Type", "application/json");
    if (secret != nullptr) r.headers.emplace_back("X-Telegram-Bot-Api-Secret-Token", secret);
    auto response = client_.send_sync(std::move(r));
    return response ? response->status : -1;
  }

  static std::string update(std::int64_t id, const std::string& text) {
    return json{{"update_id", id},
                {"message",
                 {{"message_id", 1},
                  {"date", 1700000000},
                  {"chat", {{"id", 5}, {"type", "private"}}},
                  {"from", {{"id", 5}, {"is_bot", false}, {"first_name", "Sara"}}},
                  {"text", text}}}}
        .dump();
  }

  std::size_t received() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }

  std::unique_ptr<http::Server> server_;
  http::CurlClient client_;
  WebhookIntake intake_;
  std::string url_;
  std::mutex mutex_;
  std::vector<Update> received_;
  bool full_ = false;
};

TEST_F(WebhookTest, SecretIsCheckedAndNothingIsProcessedWithoutIt) {
  EXPECT_EQ(post("42", update(1, "hi"), nullptr), 403);
  EXPECT_EQ(post("42", update(1, "hi"), "wrong"), 403);
  EXPECT_EQ(received(), 0u);
  EXPECT_EQ(post("42", update(1, "سلام 👋"), "s3cret_token-A"), 200);
  ASSERT_EQ(received(), 1u);
  EXPECT_EQ(received_[0].message->text.value_or(""), "سلام 👋");
  EXPECT_EQ(post("7", update(2, "hi"), "s3cret_token-A"), 404);
}

TEST_F(WebhookTest, DuplicatesMalformedAndUnknownKinds) {
  EXPECT_EQ(post("42", update(5, "a"), "s3cret_token-A"), 200);
  EXPECT_EQ(post("42", update(5, "a"), "s3cret_token-A"), 200);  // Telegram's retry
  EXPECT_EQ(received(), 1u);
  EXPECT_EQ(post("42", "{not json", "s3cret_token-A"), 400);
  EXPECT_EQ(post("42", R"({"message":{}})", "s3cret_token-A"), 400);
  EXPECT_EQ(post("42", R"({"update_id":6,"business_message":{"x":1}})", "s3cret_token-A"), 200);
  ASSERT_EQ(received(), 2u);
  EXPECT_EQ(received_[1].kind, UpdateKind::kUnknown);
}

TEST_F(WebhookTest, FullTargetAnswers429AndTheRetryIsTaken) {
  {
    std::lock_guard lock(mutex_);
    full_ = true;
  }
  EXPECT_EQ(post("42", update(9, "x"), "s3cret_token-A"), 429);
  {
    std::lock_guard lock(mutex_);
    full_ = false;
  }
  EXPECT_EQ(post("42", update(9, "x"), "s3cret_token-A"), 200);
  EXPECT_EQ(received(), 1u);
}

}  // namespace
}  // namespace ms::telegram
