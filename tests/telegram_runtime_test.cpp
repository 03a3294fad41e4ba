// The bot runtime against the sandbox over real HTTP: many bots polling in one process,
// per-chat order, a handler that throws or hangs, bots added, removed and restarted while
// running, a revoked token, a person who blocked the bot, broadcasts paced under Telegram's
// limits with replies first, 429s obeyed, and webhook intake. Every check reads what the
// emulator (Telegram) really saw.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/timer_queue.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"
#include "storage/storage_test_support.hpp"
#include "telegram/keyboard.hpp"
#include "telegram/router.hpp"
#include "telegram/runtime.hpp"

namespace ms {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using telegram::BotContext;
using telegram::BotRuntime;
using telegram::BotSpec;
using telegram::Update;

// A handler from a lambda.
class FnHandler : public telegram::UpdateHandler {
 public:
  explicit FnHandler(std::function<void(BotContext&, const Update&)> fn) : fn_(std::move(fn)) {}
  void handle(BotContext& bot, const Update& update) override { fn_(bot, update); }

 private:
  std::function<void(BotContext&, const Update&)> fn_;
};

// Replies "<prefix><text>" to every text message.
std::shared_ptr<telegram::UpdateHandler> echo(std::string prefix) {
  return std::make_shared<FnHandler>([prefix](BotContext& bot, const Update& u) {
    if (!u.message || !u.message->text) return;
    telegram::SendMessage reply;
    reply.chat_id = u.message->chat.id;
    reply.text = prefix + *u.message->text;
    bot.send(reply);
  });
}

// Waits until `pred` holds, polling (the emulator is the source of truth).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 15s) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override { start_sandbox(sandbox::EmulatorOptions{}); }

  void start_sandbox(sandbox::EmulatorOptions options) {
    options.max_long_poll = 5s;
    emulator_ = std::make_unique<sandbox::Emulator>(options, SystemClock::instance());
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.handler_timeout = 30s;
    server_ = std::make_unique<http::Server>(so);
    sandbox::add_sandbox_routes(server_->router(), *emulator_);
    webhooks_.add_routes(server_->router());  // Telegram (the emulator) and our webhooks on one server
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().to_string();
    port_ = server_->bound_port();
  }

  void start_runtime(telegram::RuntimeOptions options = {}) {
    options.poller.timeout_seconds = 2;
    options.poller.min_backoff = 50ms;
    options.poller.max_backoff = 200ms;
    telegram::RuntimeEvents events;
    events.on_unauthorized = [this](telegram::BotKey key, const telegram::TelegramError&) {
      std::lock_guard lock(mutex_);
      unauthorized_.push_back(key);
    };
    events.on_blocked = [this](telegram::BotKey key, std::int64_t chat, const telegram::TelegramError&) {
      std::lock_guard lock(mutex_);
      blocked_.emplace_back(key, chat);
    };
    runtime_ = std::make_unique<BotRuntime>(http_, timers_, base_url(), options, events, &webhooks_);
  }

  void TearDown() override {
    runtime_.reset();
    if (server_) server_->stop(200ms);
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/sandbox"; }

  sandbox::BotCredentials make_bot(const std::string& username) {
    auto bot = emulator_->create_bot(username, username);
    EXPECT_TRUE(bot) << bot.error().to_string();
    return *bot;
  }

  std::int64_t make_person(const std::string& name) {
    auto person = emulator_->create_user({0, name, "", "", "fa"});
    EXPECT_TRUE(person) << person.error().to_string();
    return (*person)["id"].get<std::int64_t>();
  }

  // The texts the bot sent into the person's chat, in order.
  std::vector<std::string> bot_texts(std::int64_t person, const std::string& bot) {
    std::vector<std::string> out;
    auto chat = emulator_->read_chat(person, bot);
    if (!chat) return out;
    for (const auto& m : (*chat)["messages"]) {
      if (m.value("from_bot", false) && m["message"].contains("text")) out.push_back(m["message"]["text"]);
    }
    return out;
  }

  std::unique_ptr<sandbox::Emulator> emulator_;
  std::unique_ptr<http::Server> server_;
  telegram::WebhookIntake webhooks_;
  std::uint16_t port_ = 0;
  http::CurlClient http_;
  TimerQueue timers_;
  std::unique_ptr<BotRuntime> runtime_;
  std::mutex mutex_;
  std::vector<telegram::BotKey> unauthorized_;
  std::vector<std::pair<telegram::BotKey, std::int64_t>> blocked_;
};

TEST_F(RuntimeTest, ManyBotsPollInParallelAndEachChatStaysInOrder) {
  start_runtime();
  constexpr int kBots = 12;
  constexpr int kPeople = 3;
  constexpr int kMessages = 4;
  std::vector<sandbox::BotCredentials> bots;
  for (int b = 0; b < kBots; ++b) {
    bots.push_back(make_bot("shop" + std::to_string(b) + "_bot"));
    ASSERT_TRUE(runtime_->add(BotSpec{b + 1, bots.back().token, telegram::Intake::kPolling, "", echo("echo ")}));
  }
  EXPECT_FALSE(runtime_->add(BotSpec{1, bots[0].token, telegram::Intake::kPolling, "", echo("")}));  // key taken
  std::vector<std::int64_t> people;
  for (int p = 0; p < kPeople; ++p) people.push_back(make_person("person" + std::to_string(p)));
  for (int i = 0; i < kMessages; ++i) {
    for (const auto& bot : bots) {
      for (auto person : people) ASSERT_TRUE(emulator_->send_text(person, bot.username, "m" + std::to_string(i)));
    }
  }
  const std::vector<std::string> expected{"echo m0", "echo m1", "echo m2", "echo m3"};
  for (const auto& bot : bots) {
    for (auto person : people) {
      ASSERT_TRUE(eventually([&] { return bot_texts(person, bot.username).size() == expected.size(); }))
          << bot.username << " answered " << bot_texts(person, bot.username).size();
      EXPECT_EQ(bot_texts(person, bot.username), expected) << bot.username;
    }
  }
  auto status = runtime_->status(1);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, telegram::BotState::kRunning);
  EXPECT_EQ(status->updates, static_cast<std::uint64_t>(kPeople * kMessages));
  EXPECT_EQ(status->sent, static_cast<std::uint64_t>(kPeople * kMessages));
  EXPECT_EQ(runtime_->list().size(), static_cast<std::size_t>(kBots));
}

TEST_F(RuntimeTest, AFullUpdateQueuePushesBackOnThePollerAndLosesNothing) {
  telegram::RuntimeOptions options;
  options.handler_threads = 1;
  options.max_pending_updates = 2;  // far fewer than what arrives at once
  options.poller.full_pause = 20ms;
  start_runtime(options);
  auto bot = make_bot("slow_bot");
  auto slow = std::make_shared<FnHandler>([](BotContext& ctx, const Update& u) {
    std::this_thread::sleep_for(30ms);
    telegram::SendMessage reply;
    reply.chat_id = u.message->chat.id;
    reply.text = "done " + u.message->text.value_or("");
    ctx.send(reply);
  });
  const auto sara = make_person("Sara");
  std::vector<std::string> expected;
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(emulator_->send_text(sara, bot.username, std::to_string(i)));
    expected.push_back("done " + std::to_string(i));
  }
  ASSERT_TRUE(runtime_->add(BotSpec{5, bot.token, telegram::Intake::kPolling, "", slow}));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username).size() == expected.size(); }, 30s))
      << bot_texts(sara, bot.username).size() << " updates " << runtime_->status(5)->updates << " sent "
      << runtime_->status(5)->sent << " failures " << runtime_->status(5)->send_failures << " "
      << runtime_->status(5)->last_error << " queued " << runtime_->stats().queued_messages << " pending "
      << runtime_->stats().pending_updates;
  EXPECT_EQ(bot_texts(sara, bot.username), expected);
  EXPECT_EQ(runtime_->status(5)->updates, expected.size());
}

TEST_F(RuntimeTest, AHandlerThatThrowsOrHangsStopsNeitherItsBotNorTheOthers) {
  telegram::RuntimeOptions options;
  options.handler_threads = 2;
  options.hang_after = 300ms;
  start_runtime(options);
  std::promise<void> release;
  auto gate = release.get_future().share();
  auto a = make_bot("fragile_bot");
  auto b = make_bot("steady_bot");
  auto fragile = std::make_shared<FnHandler>([gate](BotContext& bot, const Update& u) {
    const std::string text = u.message && u.message->text ? *u.message->text : "";
    if (text == "boom") throw std::runtime_error("a bug in the handler");
    if (text == "hang") gate.wait();  // stuck until the test ends
    telegram::SendMessage reply;
    reply.chat_id = u.message->chat.id;
    reply.text = "ok " + text;
    bot.send(reply);
  });
  ASSERT_TRUE(runtime_->add(BotSpec{1, a.token, telegram::Intake::kPolling, "", fragile}));
  ASSERT_TRUE(runtime_->add(BotSpec{2, b.token, telegram::Intake::kPolling, "", echo("steady ")}));
  const auto sara = make_person("Sara");
  const auto reza = make_person("Reza");
  // Both worker threads get stuck in Sara's and Reza's chats with the fragile bot.
  ASSERT_TRUE(emulator_->send_text(sara, a.username, "hang"));
  ASSERT_TRUE(emulator_->send_text(reza, a.username, "hang"));
  ASSERT_TRUE(emulator_->send_text(sara, a.username, "after"));
  ASSERT_TRUE(emulator_->send_text(reza, a.username, "boom"));
  ASSERT_TRUE(emulator_->send_text(reza, a.username, "still here"));
  ASSERT_TRUE(emulator_->send_text(sara, b.username, "hello"));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, b.username) == std::vector<std::string>{"steady hello"}; }));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, a.username) == std::vector<std::string>{"ok after"}; }));
  ASSERT_TRUE(eventually([&] { return bot_texts(reza, a.username) == std::vector<std::string>{"ok still here"}; }));
  auto status = runtime_->status(1);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->hung_handlers, 2u);
  EXPECT_EQ(status->handler_errors, 1u);
  EXPECT_EQ(status->state, telegram::BotState::kRunning);
  EXPECT_EQ(runtime_->stats().hung_handlers, 2u);
  EXPECT_GE(runtime_->stats().worker_threads, 4u);  // two replacements joined the pool
  release.set_value();
  EXPECT_TRUE(eventually([&] { return runtime_->stats().hung_handlers == 0; }));
}

TEST_F(RuntimeTest, BotsAreAddedRemovedAndRestartedWhileRunning) {
  start_runtime();
  auto bot = make_bot("restart_bot");
  auto other = make_bot("neighbour_bot");
  const auto sara = make_person("Sara");
  ASSERT_TRUE(runtime_->add(BotSpec{7, bot.token, telegram::Intake::kPolling, "", echo("v1 ")}));
  ASSERT_TRUE(runtime_->add(BotSpec{8, other.token, telegram::Intake::kPolling, "", echo("n ")}));
  ASSERT_TRUE(emulator_->send_text(sara, bot.username, "a"));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username).size() == 1; }));

  // A re-deploy with a new handler: the next update goes to it.
  ASSERT_TRUE(runtime_->restart(7, std::nullopt, echo("v2 ")));
  ASSERT_TRUE(emulator_->send_text(sara, bot.username, "b"));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username).size() == 2; }));
  EXPECT_EQ(bot_texts(sara, bot.username), (std::vector<std::string>{"v1 a", "v2 b"}));

  // Removed: nothing answers, the neighbour carries on.
  ASSERT_TRUE(runtime_->remove(7));
  EXPECT_FALSE(runtime_->status(7));
  EXPECT_EQ(runtime_->remove(7).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(emulator_->wait_for_poller(other.username, 5s));
  ASSERT_TRUE(emulator_->send_text(sara, bot.username, "c"));
  ASSERT_TRUE(emulator_->send_text(sara, other.username, "x"));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, other.username).size() == 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(bot_texts(sara, bot.username).size(), 2u);

  // Added back: the update that waited at Telegram is read and answered.
  ASSERT_TRUE(runtime_->add(BotSpec{7, bot.token, telegram::Intake::kPolling, "", echo("v3 ")}));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username).size() == 3; }));
  EXPECT_EQ(bot_texts(sara, bot.username).back(), "v3 c");
}

TEST_F(RuntimeTest, ARevokedTokenStopsOnlyThatBotAndTheOwnerIsTold) {
  start_runtime();
  auto bot = make_bot("revoked_bot");
  auto other = make_bot("fine_bot");
  const auto sara = make_person("Sara");
  ASSERT_TRUE(runtime_->add(BotSpec{1, bot.token, telegram::Intake::kPolling, "", echo("")}));
  ASSERT_TRUE(runtime_->add(BotSpec{2, other.token, telegram::Intake::kPolling, "", echo("")}));
  auto fresh = emulator_->revoke_token(bot.username);
  ASSERT_TRUE(fresh);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex_);
    return unauthorized_ == std::vector<telegram::BotKey>{1};
  }));
  auto status = runtime_->status(1);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, telegram::BotState::kUnauthorized);
  EXPECT_NE(status->last_error.find("401"), std::string::npos) << status->last_error;
  EXPECT_EQ(runtime_->deliver(1, Update{}).error().code, ErrorCode::kConflict);

  ASSERT_TRUE(emulator_->send_text(sara, other.username, "still"));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, other.username).size() == 1; }));

  // The owner gives the new token: the bot runs again.
  ASSERT_TRUE(runtime_->restart(1, fresh->token));
  ASSERT_TRUE(emulator_->send_text(sara, bot.username, "back"));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username) == std::vector<std::string>{"back"}; }));
  EXPECT_EQ(runtime_->status(1)->state, telegram::BotState::kRunning);
}

TEST_F(RuntimeTest, BroadcastIsPacedUnderTheLimitsRepliesGoFirstAndBlockersAreReported) {
  start_runtime();
  auto bot = make_bot("broadcast_bot");
  // Manual intake: this test drives the handler itself.
  ASSERT_TRUE(runtime_->add(BotSpec{3, bot.token, telegram::Intake::kManual, "", echo("reply ")}));
  constexpr int kPeople = 75;
  std::vector<std::int64_t> people;
  for (int i = 0; i < kPeople; ++i) {
    people.push_back(make_person("p" + std::to_string(i)));
    ASSERT_TRUE(emulator_->send_text(people.back(), bot.username, "/start"));  // so the bot may write
  }
  ASSERT_TRUE(emulator_->block_bot(people[10], bot.username));

  std::atomic<int> delivered{0}, failed{0};
  std::mutex order_mutex;
  std::vector<std::string> completion;  // "b" broadcast, "r" the reply
  auto* context_bot = runtime_.get();
  // A handler for one manual update that starts the broadcast from inside the bot.
  auto started = std::chrono::steady_clock::now();
  std::promise<void> broadcast_queued;
  ASSERT_TRUE(runtime_->restart(
      3, std::nullopt, std::make_shared<FnHandler>([&](BotContext& ctx, const Update& u) {
        if (!u.message || !u.message->text) return;
        if (*u.message->text == "go") {
          for (auto person : people) {
            telegram::SendMessage m;
            m.chat_id = person;
            m.text = "news";
            ctx.send(m, telegram::Priority::kBulk, [&](telegram::Reply<telegram::SendMessage> r) {
              (r ? delivered : failed)++;
              std::lock_guard lock(order_mutex);
              completion.push_back("b");
            });
          }
          broadcast_queued.set_value();
          return;
        }
        telegram::SendMessage reply;
        reply.chat_id = u.message->chat.id;
        reply.text = "reply " + *u.message->text;
        ctx.send(reply, telegram::Priority::kInteractive, [&](telegram::Reply<telegram::SendMessage> r) {
          EXPECT_TRUE(r) << r.error().to_string();
          std::lock_guard lock(order_mutex);
          completion.push_back("r");
        });
      })));
  (void)context_bot;
  auto update_from = [&](std::int64_t person, const std::string& text) {
    Update u;
    u.update_id = static_cast<std::int64_t>(person % 1'000'000) * 10 + static_cast<std::int64_t>(text.size());
    u.kind = telegram::UpdateKind::kMessage;
    telegram::Message m;
    m.message_id = 1;
    m.chat.id = person;
    m.chat.type = telegram::ChatType::kPrivate;
    m.text = text;
    u.message = m;
    return u;
  };
  ASSERT_TRUE(runtime_->deliver(3, update_from(people[0], "go")));
  ASSERT_EQ(broadcast_queued.get_future().wait_for(10s), std::future_status::ready);
  std::this_thread::sleep_for(300ms);  // the broadcast is under way
  ASSERT_TRUE(runtime_->deliver(3, update_from(people[1], "question")));

  ASSERT_TRUE(eventually([&] { return delivered + failed == kPeople; }, 20s));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(delivered.load(), kPeople - 1);
  EXPECT_EQ(failed.load(), 1);  // the person who blocked the bot
  auto status = runtime_->status(3);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->rate_limited, 0u) << "our pacing must keep Telegram from answering 429";
  // 74 messages at no more than 28/s of bulk: at least two seconds.
  EXPECT_GE(seconds, 2.0);
  {
    std::lock_guard lock(order_mutex);
    auto r = std::find(completion.begin(), completion.end(), "r");
    ASSERT_NE(r, completion.end());
    EXPECT_LT(r - completion.begin(), kPeople - 10) << "the reply waited behind the broadcast";
  }
  {
    std::lock_guard lock(mutex_);
    ASSERT_EQ(blocked_.size(), 1u);
    EXPECT_EQ(blocked_[0], std::make_pair(telegram::BotKey{3}, people[10]));
  }
  EXPECT_EQ(bot_texts(people[1], bot.username).back(), "reply question");
  EXPECT_EQ(bot_texts(people[74], bot.username).back(), "news");
}

TEST_F(RuntimeTest, TelegramsRetryAfterIsObeyedWhenOurLimitsAreOff) {
  telegram::RuntimeOptions options;
  options.limits.enabled = false;  // only the emulator limits: its 429s must be obeyed
  start_runtime(options);
  auto bot = make_bot("eager_bot");
  ASSERT_TRUE(runtime_->add(BotSpec{4, bot.token, telegram::Intake::kManual, "", echo("")}));
  constexpr int kPeople = 45;
  std::vector<std::int64_t> people;
  for (int i = 0; i < kPeople; ++i) {
    people.push_back(make_person("q" + std::to_string(i)));
    ASSERT_TRUE(emulator_->send_text(people.back(), bot.username, "/start"));
  }
  std::atomic<int> ok{0}, failed{0};
  ASSERT_TRUE(runtime_->restart(4, std::nullopt, std::make_shared<FnHandler>([&](BotContext& ctx, const Update&) {
                                  for (auto person : people) {
                                    telegram::SendMessage m;
                                    m.chat_id = person;
                                    m.text = "hi";
                                    ctx.send(m, telegram::Priority::kBulk,
                                             [&](telegram::Reply<telegram::SendMessage> r) { (r ? ok : failed)++; });
                                  }
                                })));
  Update go;
  go.update_id = 1;
  go.kind = telegram::UpdateKind::kMessage;
  ASSERT_TRUE(runtime_->deliver(4, go));
  ASSERT_TRUE(eventually([&] { return ok + failed == kPeople; }, 20s));
  EXPECT_EQ(ok.load(), kPeople);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(runtime_->status(4)->rate_limited, 0u) << "45 at once must have met the emulator's 30/s";
  for (auto person : people) EXPECT_EQ(bot_texts(person, bot.username), std::vector<std::string>{"hi"});
}

TEST_F(RuntimeTest, WebhookBotsGetTheirUpdatesAndAWrongSecretIsRefused) {
  start_runtime();
  auto bot = make_bot("hooked_bot");
  const auto sara = make_person("Sara");
  ASSERT_TRUE(runtime_->add(BotSpec{21, bot.token, telegram::Intake::kWebhook, "s3cret-token_21", echo("hook ")}));
  EXPECT_EQ(runtime_->add(BotSpec{22, bot.token, telegram::Intake::kWebhook, "", echo("")}).error().code,
            ErrorCode::kInvalidArgument);  // a webhook without a secret is refused
  telegram::BotClient client(http_, base_url(), bot.token);
  telegram::SetWebhook hook;
  hook.url = "http://127.0.0.1:" + std::to_string(port_) + "/telegram/21";
  hook.secret_token = "s3cret-token_21";
  ASSERT_TRUE(client.call_sync(hook));
  ASSERT_TRUE(emulator_->send_text(sara, bot.username, "سلام"));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username) == std::vector<std::string>{"hook سلام"}; }));

  // The same bot with a secret Telegram does not know: Telegram's deliveries get 403 and
  // nothing reaches the handler.
  ASSERT_TRUE(runtime_->remove(21));
  ASSERT_TRUE(runtime_->add(BotSpec{21, bot.token, telegram::Intake::kWebhook, "another-secret", echo("hook ")}));
  ASSERT_TRUE(emulator_->send_text(sara, bot.username, "again"));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(bot_texts(sara, bot.username).size(), 1u);
  EXPECT_EQ(runtime_->status(21)->updates, 0u);
  auto info = client.call_sync(telegram::GetWebhookInfo{});
  ASSERT_TRUE(info);
  EXPECT_GE(info->pending_update_count, 1);
}

// A shop-like flow on the Router: /start shows a button, the button starts a flow that
// waits for a discount code, the code ends it. State lives in SQLite, so a restart of the
// whole runtime in the middle of the flow continues it; a flow left alone times out.
class FlowTest : public RuntimeTest {
 protected:
  static constexpr std::string_view kKey = "flow-test-callback-key";

  void open_storage() {
    storage_.reset();
    auto s = storage::Storage::open(place_->options());
    ASSERT_TRUE(s) << s.error().to_string();
    storage_ = std::move(*s);
    ASSERT_TRUE(storage_->migrate());
  }

  std::shared_ptr<telegram::Router> make_router() {
    auto router = std::make_shared<telegram::Router>(telegram::make_database_conversation_store(storage_->master()),
                                                     std::string(kKey),
                                                     telegram::RouterOptions{std::chrono::minutes(15), "⌛"}, clock_);
    router->on_command("start", [](telegram::Turn& t) {
      auto keyboard = telegram::InlineKeyboardBuilder(kKey, telegram::Direction::kRtl)
                          .button("خرید", "buy", {std::int64_t{1}})
                          .build();
      t.reply("سلام " + t.user()->first_name + (t.args().empty() ? "" : " (" + std::string(t.args()) + ")"),
              telegram::ReplyMarkup(*keyboard));
    });
    router->on_callback("buy", [](telegram::Turn& t) {
      t.answer();
      t.begin("awaiting_code", {{"plan", t.callback()->int_at(0).value()}});
      t.edit("کد تخفیف را بفرستید");
    });
    router->on_state("awaiting_code", [this](telegram::Turn& t) {
      ++codes_;
      t.reply("code " + std::string(t.text()) + " for plan " +
              std::to_string(t.conversation().data["plan"].get<int>()));
      t.end();
    });
    router->on_text([](telegram::Turn& t) { t.reply("menu"); });
    router->on_expired([](telegram::Turn& t) { t.reply("timed out: " + t.conversation().state); });
    return router;
  }

  void SetUp() override {
    RuntimeTest::SetUp();
    auto place = storage::testing::Place::make(storage::Backend::kSqlite);
    ASSERT_TRUE(place);
    place_ = std::move(*place);
    open_storage();
  }
  void TearDown() override {
    RuntimeTest::TearDown();
    storage_.reset();
  }

  // The message id of the bot's last message in the person's chat.
  std::int64_t last_message_id(std::int64_t person, const std::string& bot) {
    auto chat = emulator_->read_chat(person, bot);
    return chat ? (*chat)["messages"].back()["message"]["message_id"].get<std::int64_t>() : 0;
  }
  std::string last_button_data(std::int64_t person, const std::string& bot) {
    auto chat = emulator_->read_chat(person, bot);
    return (*chat)["messages"].back()["message"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"];
  }

  ManualClock clock_{SystemClock::instance().unix_seconds()};
  std::unique_ptr<storage::testing::Place> place_;
  std::unique_ptr<storage::Storage> storage_;
  std::atomic<int> codes_{0};
};

TEST_F(FlowTest, AFlowContinuesAfterARestartAndTimesOutCleanly) {
  start_runtime();
  auto bot = make_bot("flow_bot");
  const auto sara = make_person("Sara");
  ASSERT_TRUE(runtime_->add(BotSpec{30, bot.token, telegram::Intake::kPolling, "", make_router()}));
  ASSERT_TRUE(emulator_->send_command(sara, bot.username, "start", "ref_42"));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username).size() == 1; }));
  EXPECT_EQ(bot_texts(sara, bot.username)[0], "سلام Sara (ref_42)");
  const std::int64_t menu = last_message_id(sara, bot.username);
  const std::string buy = last_button_data(sara, bot.username);
  auto pressed = emulator_->press_button(sara, bot.username, menu, buy);
  ASSERT_TRUE(pressed) << pressed.error().to_string();
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username)[0] == "کد تخفیف را بفرستید"; }));
  ASSERT_TRUE(eventually([&] { return emulator_->callback_answer(*pressed).value()["answered"] == true; }));

  // The whole process goes down and comes back: the flow is where it was.
  runtime_.reset();
  open_storage();
  start_runtime();
  ASSERT_TRUE(runtime_->add(BotSpec{30, bot.token, telegram::Intake::kPolling, "", make_router()}));
  ASSERT_TRUE(emulator_->send_text(sara, bot.username, "OFF20"));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username).size() == 2; }));
  EXPECT_EQ(bot_texts(sara, bot.username)[1], "code OFF20 for plan 1");

  // Left alone past the deadline: the next message hears that the flow ended, then is
  // handled as a fresh message.
  auto start_flow = [&] {
    const std::size_t before = bot_texts(sara, bot.username).size();
    ASSERT_TRUE(emulator_->send_command(sara, bot.username, "start"));
    ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username).size() == before + 1; }));
    ASSERT_TRUE(emulator_->press_button(sara, bot.username, last_message_id(sara, bot.username),
                                        last_button_data(sara, bot.username)));
    ASSERT_TRUE(eventually([&] {
      auto c = telegram::make_database_conversation_store(storage_->master())->load(30, sara);
      return c && *c && (*c)->state == "awaiting_code";
    }));
  };
  start_flow();
  clock_.advance(std::chrono::minutes(16));
  ASSERT_TRUE(emulator_->send_text(sara, bot.username, "late"));
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username).size() == 5; }));
  EXPECT_EQ(bot_texts(sara, bot.username)[3], "timed out: awaiting_code");
  EXPECT_EQ(bot_texts(sara, bot.username)[4], "menu");
  EXPECT_EQ(codes_.load(), 1);

  // A person who went quiet hears it from the sweep.
  start_flow();
  auto router = make_router();
  auto context = runtime_->context(30);
  ASSERT_TRUE(context);
  EXPECT_EQ(router->sweep(*context).value(), 0u);
  clock_.advance(std::chrono::minutes(16));
  EXPECT_EQ(router->sweep(*context).value(), 1u);
  ASSERT_TRUE(eventually([&] { return bot_texts(sara, bot.username).size() == 7; }));
  EXPECT_EQ(bot_texts(sara, bot.username)[6], "timed out: awaiting_code");
  EXPECT_EQ(router->sweep(*context).value(), 0u);

  // A button whose data we did not sign runs nothing.
  Update forged;
  forged.update_id = 999'999;
  forged.kind = telegram::UpdateKind::kCallbackQuery;
  telegram::CallbackQuery q;
  q.id = "forged-1";
  q.from.id = sara;
  q.from.first_name = "Sara";
  q.data = "buy|1|AAAAAAAAAAAA";
  forged.callback_query = q;
  ASSERT_TRUE(runtime_->deliver(30, forged));
  std::this_thread::sleep_for(200ms);
  auto c = telegram::make_database_conversation_store(storage_->master())->load(30, sara);
  ASSERT_TRUE(c);
  EXPECT_FALSE(*c) << "the forged button must not start the flow";
}

}  // namespace
}  // namespace ms
