// Our Telegram client against our Telegram: telegram::BotClient over a real http::CurlClient,
// talking to the sandbox emulator served by a real http::Server on 127.0.0.1. The person
// side is driven through the Emulator directly, and every check looks at what the other
// side really saw: the person's chat for what the bot sent, the bot's updates for what the
// person did.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"
#include "telegram/bot_client.hpp"
#include "telegram/callback_data.hpp"
#include "telegram/errors.hpp"
#include "telegram/methods.hpp"
#include "telegram/poller.hpp"

namespace ms {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using telegram::BotClient;

constexpr std::string_view kCallbackKey = "integration-test-callback-key";
constexpr int kLongPollSeconds = 20;

// A minimal PNG: signature and an IHDR chunk with the size, which is what the emulator reads.
std::string png(std::uint32_t width, std::uint32_t height) {
  std::string d("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
  for (std::uint32_t v : {width, height}) {
    for (int shift = 24; shift >= 0; shift -= 8) d += static_cast<char>((v >> shift) & 0xFF);
  }
  return d + "pixels of a receipt";
}

class TelegramSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox::EmulatorOptions options;
    options.max_long_poll = std::chrono::seconds(kLongPollSeconds);
    emulator_ = std::make_unique<sandbox::Emulator>(options, clock_);
    http::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.handler_timeout = std::chrono::seconds(kLongPollSeconds + 30);  // above the long poll
    server_ = std::make_unique<http::Server>(so);
    sandbox::add_sandbox_routes(server_->router(), *emulator_);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().to_string();
    base_url_ = "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/sandbox";

    auto bot = emulator_->create_bot("vpn_shop_bot", "VPN Shop");
    ASSERT_TRUE(bot) << bot.error().to_string();
    bot_ = *bot;
    auto person = emulator_->create_user({0, "Sara", "", "sara_k", "fa"});
    ASSERT_TRUE(person) << person.error().to_string();
    person_ = (*person)["id"].get<std::int64_t>();
    client_ = std::make_unique<BotClient>(http_, base_url_, bot_.token);
  }

  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(200));
  }

  // The person's private chat as they see it: the list of {message, edits}.
  json chat_messages() {
    auto chat = emulator_->read_chat(person_, bot_.username);
    EXPECT_TRUE(chat) << (chat ? "" : chat.error().to_string());
    return chat ? (*chat)["messages"] : json::array();
  }

  // Starts a long poll, waits until the emulator holds it, runs `act` (the person doing
  // something), and returns what the poll delivered.
  template <class Act>
  std::vector<telegram::Update> poll_while(std::int64_t offset, Act act) {
    std::promise<telegram::Reply<telegram::GetUpdates>> promise;
    auto future = promise.get_future();
    telegram::GetUpdates get;
    get.offset = offset;
    get.timeout = kLongPollSeconds;
    client_->call(get, [&promise](telegram::Reply<telegram::GetUpdates> r) { promise.set_value(std::move(r)); });
    EXPECT_TRUE(emulator_->wait_for_poller(bot_.username, 10s)) << "the long poll never reached the emulator";
    act();
    EXPECT_EQ(future.wait_for(15s), std::future_status::ready) << "the long poll was not answered";
    auto reply = future.get();
    EXPECT_TRUE(reply) << (reply ? "" : reply.error().to_string());
    return reply ? *reply : std::vector<telegram::Update>{};
  }

  ManualClock clock_{1'700'000'000};
  std::unique_ptr<sandbox::Emulator> emulator_;
  std::unique_ptr<http::Server> server_;
  http::CurlClient http_;
  std::string base_url_;
  sandbox::BotCredentials bot_;
  std::int64_t person_ = 0;
  std::unique_ptr<BotClient> client_;
};

TEST_F(TelegramSandboxTest, ConversationWithButtonsEditsAndAPhoto) {
  // getMe: the bot BotFather made.
  auto me = client_->call_sync(telegram::GetMe{});
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->id, bot_.id);
  EXPECT_TRUE(me->is_bot);
  EXPECT_EQ(me->username, bot_.username);
  EXPECT_EQ(me->first_name, "VPN Shop");

  // The person sends /start; the waiting long poll hands it to the bot.
  auto updates = poll_while(0, [&] {
    auto sent = emulator_->send_command(person_, bot_.username, "start");
    ASSERT_TRUE(sent) << sent.error().to_string();
  });
  ASSERT_EQ(updates.size(), 1u);
  ASSERT_TRUE(updates[0].message.has_value());
  const telegram::Message& start = *updates[0].message;
  EXPECT_EQ(start.command(), "/start");
  ASSERT_TRUE(start.from.has_value());
  EXPECT_EQ(start.from->id, person_);
  EXPECT_EQ(start.from->username, "sara_k");
  EXPECT_EQ(start.chat.id, person_);
  std::int64_t offset = updates[0].update_id + 1;

  // The bot answers with an inline keyboard whose callback data it signed.
  auto data = telegram::encode_callback("buy", {std::int64_t{42}, std::string("1 month")}, kCallbackKey);
  ASSERT_TRUE(data) << data.error().to_string();
  telegram::SendMessage menu;
  menu.chat_id = person_;
  menu.text = "<b>Plans</b>: pick one";
  menu.parse_mode = "HTML";
  menu.reply_markup = telegram::InlineKeyboardMarkup{{{telegram::InlineKeyboardButton::callback("1 month", *data)}}};
  auto sent = client_->call_sync(menu);
  ASSERT_TRUE(sent) << sent.error().to_string();
  EXPECT_EQ(sent->text, "Plans: pick one");

  json shown = chat_messages();
  ASSERT_EQ(shown.size(), 2u);  // the person's /start and the bot's answer
  const json& answer = shown[1]["message"];
  EXPECT_EQ(answer["message_id"], sent->message_id);
  EXPECT_EQ(answer["from"]["id"], bot_.id);
  EXPECT_EQ(answer["text"], "Plans: pick one");
  EXPECT_EQ(answer["entities"][0]["type"], "bold");
  EXPECT_EQ(answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"], *data);

  // The person presses the button; the bot gets the callback query and decodes it.
  std::string query_id;
  updates = poll_while(offset, [&] {
    auto pressed = emulator_->press_button(person_, bot_.username, sent->message_id, *data);
    ASSERT_TRUE(pressed) << pressed.error().to_string();
    query_id = *pressed;
  });
  ASSERT_EQ(updates.size(), 1u);
  ASSERT_TRUE(updates[0].callback_query.has_value());
  const telegram::CallbackQuery& query = *updates[0].callback_query;
  EXPECT_EQ(query.id, query_id);
  EXPECT_EQ(query.from.id, person_);
  ASSERT_TRUE(query.message.has_value());
  EXPECT_EQ(query.message->message_id, sent->message_id);
  ASSERT_TRUE(query.data.has_value());
  auto decoded = telegram::decode_callback(*query.data, kCallbackKey);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->action, "buy");
  EXPECT_EQ(decoded->int_at(0).value_or(0), 42);
  EXPECT_EQ(decoded->string_at(1).value_or(""), "1 month");
  EXPECT_FALSE(telegram::decode_callback(*query.data, "another bot's key"));
  offset = updates[0].update_id + 1;

  // The bot answers the query and edits the message; the person sees both.
  telegram::AnswerCallbackQuery ack;
  ack.callback_query_id = query.id;
  ack.text = "Added to your cart";
  auto acked = client_->call_sync(ack);
  ASSERT_TRUE(acked) << acked.error().to_string();
  EXPECT_TRUE(*acked);
  auto seen_answer = emulator_->callback_answer(query_id);
  ASSERT_TRUE(seen_answer) << seen_answer.error().to_string();
  EXPECT_EQ((*seen_answer)["answered"], true);
  EXPECT_EQ((*seen_answer)["text"], "Added to your cart");

  telegram::EditMessageText edit;
  edit.chat_id = person_;
  edit.message_id = sent->message_id;
  edit.text = "1 month chosen: 250 Stars";
  auto edited = client_->call_sync(edit);
  ASSERT_TRUE(edited) << edited.error().to_string();
  EXPECT_TRUE(edited->edit_date.has_value());
  shown = chat_messages();
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(shown[1]["message"]["text"], "1 month chosen: 250 Stars");
  EXPECT_EQ(shown[1]["edits"], json::array({"Plans: pick one"}));
  EXPECT_FALSE(shown[1]["message"].contains("reply_markup"));  // an edit without markup removes it

  // An uploaded photo shows in the person's chat, and its bytes come back through getFile.
  const std::string image = png(640, 480);
  telegram::SendPhoto photo;
  photo.chat_id = person_;
  photo.photo = telegram::InputFile::from_bytes(image, "receipt.png", "image/png");
  photo.caption = "Your receipt";
  auto photo_sent = client_->call_sync(photo);
  ASSERT_TRUE(photo_sent) << photo_sent.error().to_string();
  ASSERT_FALSE(photo_sent->photo.empty());
  shown = chat_messages();
  ASSERT_EQ(shown.size(), 3u);
  const json& photo_shown = shown[2]["message"];
  EXPECT_EQ(photo_shown["caption"], "Your receipt");
  ASSERT_TRUE(photo_shown["photo"].is_array());
  EXPECT_EQ(photo_shown["photo"].back()["width"], 640);
  EXPECT_EQ(photo_shown["photo"].back()["height"], 480);
  telegram::GetFile get_file;
  get_file.file_id = photo_sent->photo.back().file_id;
  auto file = client_->call_sync(get_file);
  ASSERT_TRUE(file) << file.error().to_string();
  ASSERT_TRUE(file->file_path.has_value());
  auto download = emulator_->download_file(bot_.token, *file->file_path);
  ASSERT_TRUE(download) << download.error().to_string();
  EXPECT_EQ(download->data, image);
}

TEST_F(TelegramSandboxTest, BlockedRateLimitedAndRevokedAreRecognised) {
  ASSERT_TRUE(emulator_->send_command(person_, bot_.username, "start"));
  telegram::SendMessage hello;
  hello.chat_id = person_;
  hello.text = "hello";

  // A burst over the per-chat limit: the emulator answers 429 with retry_after, and the
  // person sees only what was accepted.
  int accepted = 0;
  std::optional<telegram::TelegramError> limited;
  for (int i = 0; i < 10 && !limited; ++i) {
    auto r = client_->call_sync(hello);
    if (r) {
      ++accepted;
    } else {
      limited = r.error();
    }
  }
  ASSERT_TRUE(limited.has_value()) << "no 429 after 10 messages in the same instant";
  EXPECT_TRUE(telegram::is_rate_limited(*limited)) << limited->to_string();
  EXPECT_EQ(limited->error_code, 429);
  EXPECT_EQ(limited->retry_after, 1);
  EXPECT_EQ(limited->description, "Too Many Requests: retry after 1");
  EXPECT_EQ(accepted, 3);  // the short burst Telegram allows in one chat
  EXPECT_EQ(chat_messages().size(), 1u + 3u);
  clock_.advance(1s);  // retry_after later the same message goes through
  auto after_wait = client_->call_sync(hello);
  ASSERT_TRUE(after_wait) << after_wait.error().to_string();
  EXPECT_EQ(chat_messages().size(), 1u + 4u);

  // The person blocks the bot: the bot is told so, and nothing reaches the chat.
  clock_.advance(10s);
  ASSERT_TRUE(emulator_->block_bot(person_, bot_.username));
  auto blocked = client_->call_sync(hello);
  ASSERT_FALSE(blocked);
  EXPECT_TRUE(telegram::is_blocked(blocked.error())) << blocked.error().to_string();
  EXPECT_EQ(blocked.error().description, "Forbidden: bot was blocked by the user");
  EXPECT_EQ(chat_messages().size(), 1u + 4u);
  ASSERT_TRUE(emulator_->unblock_bot(person_, bot_.username));
  ASSERT_TRUE(client_->call_sync(hello));
  EXPECT_EQ(chat_messages().size(), 1u + 5u);

  // BotFather revokes the token: the old one is refused, the new one works.
  auto renewed = emulator_->revoke_token(bot_.username);
  ASSERT_TRUE(renewed) << renewed.error().to_string();
  ASSERT_NE(renewed->token, bot_.token);
  auto refused = client_->call_sync(telegram::GetMe{});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(telegram::is_unauthorized(refused.error())) << refused.error().to_string();
  EXPECT_FALSE(client_->call_sync(hello));
  EXPECT_EQ(chat_messages().size(), 1u + 5u);
  BotClient renewed_client(http_, base_url_, renewed->token);
  auto me = renewed_client.call_sync(telegram::GetMe{});
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->id, bot_.id);
}

TEST_F(TelegramSandboxTest, LongPollerDeliversInOrderSurvivesAConflictAndStopsOnARevokedToken) {
  TimerQueue timers;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> texts;
  bool conflict = false;
  bool unauthorized = false;
  telegram::PollerOptions options;
  options.timeout_seconds = 2;
  options.min_backoff = 50ms;
  options.max_backoff = 200ms;
  auto poller = telegram::LongPoller::create(
      *client_, timers, options,
      [&](std::vector<telegram::Update>& updates) {
        std::lock_guard lock(mutex);
        for (const auto& u : updates)
          if (u.message) texts.push_back(u.message->text.value_or(""));
        changed.notify_all();
        return updates.size();
      },
      [&](const telegram::TelegramError& err) {
        std::lock_guard lock(mutex);
        conflict = conflict || telegram::is_conflict(err);
        unauthorized = unauthorized || telegram::is_unauthorized(err);
        changed.notify_all();
      });
  auto wait_for = [&](auto done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 15s, done);
  };
  poller->start();
  for (const char* text : {"one", "two", "سه"}) ASSERT_TRUE(emulator_->send_text(person_, bot_.username, text));
  ASSERT_TRUE(wait_for([&] { return texts.size() == 3; }));
  EXPECT_EQ(texts, (std::vector<std::string>{"one", "two", "سه"}));
  EXPECT_GT(poller->offset(), 0);

  // A webhook makes getUpdates answer 409: reported, retried, and taken up again after
  // deleteWebhook, without losing the update that arrived meanwhile.
  telegram::SetWebhook hook;
  hook.url = "http://127.0.0.1:9/hook";
  ASSERT_TRUE(client_->call_sync(hook));
  ASSERT_TRUE(wait_for([&] { return conflict; }));
  ASSERT_TRUE(emulator_->send_text(person_, bot_.username, "four"));
  ASSERT_TRUE(client_->call_sync(telegram::DeleteWebhook{}));
  ASSERT_TRUE(wait_for([&] { return texts.size() == 4; }));
  EXPECT_EQ(texts.back(), "four");
  EXPECT_TRUE(poller->running());

  // A revoked token stops this bot's polling for good, and says so.
  ASSERT_TRUE(emulator_->revoke_token(bot_.username));
  ASSERT_TRUE(wait_for([&] { return unauthorized; }));
  EXPECT_FALSE(poller->running());
}

}  // namespace
}  // namespace ms
