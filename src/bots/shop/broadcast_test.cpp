// Broadcaster on SQLite and PostgreSQL, sending through BotRuntime to the sandbox Telegram
// over real HTTP: 1,000 people with some who blocked the bot; pacing at Telegram's limits;
// pause and resume; cancel; a restart mid-way that sends nobody twice; audiences; photo and
// forward. What people received is read from the emulator, the source of truth.
#include "bots/shop/broadcast.hpp"

#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "bots/shop/qr.hpp"
#include "bots/shop/shop_test_support.hpp"

namespace ms::shop {
namespace {

using namespace std::chrono_literals;
using namespace ms::shop::testing;

class BroadcastTest : public TenantTest {
 protected:
  // People in the sandbox (each started the bot) and in the tenant's users table.
  std::vector<std::int64_t> people(Sandbox& sandbox, int n, const std::string& prefix) {
    std::vector<std::int64_t> ids;
    for (int i = 0; i < n; ++i) ids.push_back(sandbox.person(prefix + std::to_string(i)));
    auto added = db().transaction([&](storage::Session& s) -> Result<void> {
      for (auto tg : ids) {
        auto r = s.exec("INSERT INTO users (telegram_id, first_name, created_at, updated_at) VALUES (:tg, 'x', 1, 1)",
                        {{"tg", tg}});
        if (!r) return fail(std::move(r.error()));
      }
      return ok();
    });
    EXPECT_TRUE(added) << added.error().to_string();
    return ids;
  }
  // How many messages the bot sent the person.
  static std::size_t received(Sandbox& sandbox, std::int64_t person) { return sandbox.bot_messages(person).size(); }

  std::int64_t admin(Sandbox& sandbox) { return sandbox.person("Owner"); }

  i18n::Catalog catalog_;
};

sandbox::EmulatorOptions fast_emulator() {
  sandbox::EmulatorOptions o;
  o.limits.bot_per_second = 5000;
  o.limits.bulk_per_second = 5000;
  return o;
}
telegram::RuntimeOptions fast_runtime() {
  telegram::RuntimeOptions o;
  o.limits.bot_per_second = 5000;
  o.limits.bulk_per_second = 5000;
  return o;
}

TEST_P(BroadcastTest, AThousandPeopleGetItOnceBlockersAreMarkedAndOneMessageShowsTheProgress) {
  Sandbox sandbox(fast_emulator(), fast_runtime());
  auto ids = people(sandbox, 1000, "p");
  std::set<std::int64_t> blockers;
  for (int i = 0; i < 1000; i += 20) {  // 50 people blocked the bot, unknown to the shop yet
    ASSERT_TRUE(sandbox.emulator().block_bot(ids[i], sandbox.bot().username));
    blockers.insert(ids[i]);
  }
  // Already known to have blocked the bot, and banned: not even recipients.
  const auto known_blocker = sandbox.person("known_blocker");
  add_user(db(), {.telegram_id = known_blocker, .blocked_bot = true});
  const auto banned = sandbox.person("banned");
  add_user(db(), {.telegram_id = banned, .banned = true});
  const auto owner = admin(sandbox);

  BroadcastOptions options;
  options.keyboard = [](const BroadcastStatus& s, i18n::Lang) {
    telegram::InlineKeyboardMarkup kb;
    kb.inline_keyboard = {{telegram::InlineKeyboardButton::callback(
        "state", "bc:" + std::to_string(s.id) + ":" + std::string(to_string(s.state)))}};
    return std::optional(kb);
  };
  Broadcaster broadcaster(db(), catalog_, SystemClock::instance(), options);
  auto id = broadcaster.create({BroadcastContent::plain("Nowruz sale: 20% off"), Audience::kAll, owner});
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(broadcaster.status(*id)->total, 1000);
  auto done = broadcaster.run(*id, sandbox.context());
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_EQ(done->state, BroadcastState::kDone);
  EXPECT_EQ(done->sent, 950);
  EXPECT_EQ(done->blocked, 50);
  EXPECT_EQ(done->failed, 0);
  EXPECT_EQ(done->pending(), 0);
  EXPECT_EQ(scalar(db(), "SELECT count(*) FROM broadcast_recipients WHERE status = 'sent' AND sent_at IS NOT NULL"),
            950);
  EXPECT_EQ(scalar(db(), "SELECT count(*) FROM users WHERE blocked_bot = 1"), 51);
  for (auto person : ids) {
    const auto messages = sandbox.bot_messages(person);
    if (blockers.count(person)) {
      EXPECT_TRUE(messages.empty()) << person;
    } else {
      ASSERT_EQ(messages.size(), 1u) << person;
      EXPECT_EQ(messages[0]["text"], "Nowruz sale: 20% off");
    }
  }
  EXPECT_EQ(received(sandbox, known_blocker), 0u);
  EXPECT_EQ(received(sandbox, banned), 0u);

  // The owner has ONE message, edited as it went, ending with the final figures.
  auto chat = sandbox.emulator().read_chat(owner, sandbox.bot().username);
  ASSERT_TRUE(chat);
  std::vector<nlohmann::json> from_bot;
  for (const auto& m : (*chat)["messages"]) {
    if (m.value("from_bot", false)) from_bot.push_back(m);
  }
  ASSERT_EQ(from_bot.size(), 1u);
  const std::string final_text = from_bot[0]["message"]["text"];
  EXPECT_NE(final_text.find("تمام شد"), std::string::npos) << final_text;
  EXPECT_NE(final_text.find("۱۰۰۰ از ۱۰۰۰"), std::string::npos) << final_text;
  EXPECT_NE(final_text.find("ارسال‌شده: ۹۵۰"), std::string::npos) << final_text;
  EXPECT_NE(final_text.find("مسدودکرده: ۵۰"), std::string::npos) << final_text;
  EXPECT_GE(from_bot[0]["edits"].size(), 1u);
  // The shop's buttons under it follow the state.
  EXPECT_EQ(from_bot[0]["message"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
            "bc:" + std::to_string(*id) + ":done");

  // Running it again sends nothing more.
  auto again = broadcaster.run(*id, sandbox.context());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state, BroadcastState::kDone);
  EXPECT_EQ(received(sandbox, ids[1]), 1u);
}

TEST_P(BroadcastTest, SendsArePacedUnderTelegramsLimits) {
  Sandbox sandbox;  // Telegram's real limits in the emulator and in the runtime
  auto ids = people(sandbox, 70, "q");
  Broadcaster broadcaster(db(), catalog_, SystemClock::instance());
  auto id = broadcaster.create({BroadcastContent::plain("paced"), Audience::kAll, admin(sandbox)});
  ASSERT_TRUE(id);
  const auto started = std::chrono::steady_clock::now();
  auto done = broadcaster.run(*id, sandbox.context());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_EQ(done->sent, 70);
  // 70 bulk messages at no more than 28 a second take two seconds at least, and Telegram
  // never had to say 429.
  EXPECT_GE(seconds, 2.0);
  EXPECT_EQ(sandbox.runtime().status(1)->rate_limited, 0u);
  EXPECT_LE(done->rate, 30.0);
  for (auto person : ids) EXPECT_EQ(received(sandbox, person), 1u);
}

TEST_P(BroadcastTest, PauseStopsSendingResumeGoesOnAndCancelEndsIt) {
  Sandbox sandbox;  // real pacing: 120 people take seconds, time enough to press the buttons
  auto ids = people(sandbox, 120, "r");
  Broadcaster broadcaster(db(), catalog_, SystemClock::instance());
  auto id = broadcaster.create({BroadcastContent::plain("paused and resumed"), Audience::kAll, admin(sandbox)});
  ASSERT_TRUE(id);
  auto running = std::async(std::launch::async, [&] { return broadcaster.run(*id, sandbox.context()); });
  ASSERT_TRUE(eventually([&] { return broadcaster.status(*id)->sent >= 20; }));
  ASSERT_TRUE(broadcaster.pause(*id));  // as an admin's button would, from another thread
  auto paused = running.get();
  ASSERT_TRUE(paused) << paused.error().to_string();
  EXPECT_EQ(paused->state, BroadcastState::kPaused);
  EXPECT_LT(paused->sent, 120);
  std::this_thread::sleep_for(500ms);
  std::size_t delivered = 0;
  for (auto person : ids) delivered += received(sandbox, person);
  EXPECT_EQ(static_cast<std::int64_t>(delivered), paused->sent) << "nothing goes out while paused";
  EXPECT_EQ(broadcaster.run(*id, sandbox.context())->state, BroadcastState::kPaused);  // run() does not unpause

  ASSERT_TRUE(broadcaster.resume(*id));
  auto done = broadcaster.run(*id, sandbox.context());
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, BroadcastState::kDone);
  EXPECT_EQ(done->sent, 120);
  for (auto person : ids) EXPECT_EQ(received(sandbox, person), 1u);

  // A second broadcast, cancelled mid-way: the rest never get it.
  auto second = broadcaster.create({BroadcastContent::plain("cancelled"), Audience::kAll, admin(sandbox)});
  ASSERT_TRUE(second);
  running = std::async(std::launch::async, [&] { return broadcaster.run(*second, sandbox.context()); });
  ASSERT_TRUE(eventually([&] { return broadcaster.status(*second)->sent >= 10; }));
  ASSERT_TRUE(broadcaster.cancel(*second));
  auto cancelled = running.get();
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->state, BroadcastState::kCancelled);
  EXPECT_GT(cancelled->pending(), 0);
  EXPECT_EQ(broadcaster.resume(*second).error().code, ErrorCode::kConflict);
  std::this_thread::sleep_for(300ms);
  std::size_t got = 0;
  for (auto person : ids) got += received(sandbox, person) - 1;
  EXPECT_EQ(static_cast<std::int64_t>(got), cancelled->sent);
  EXPECT_EQ(broadcaster.unfinished()->size(), 0u);
}

TEST_P(BroadcastTest, ARestartMidWaySendsNobodyTwice) {
  Sandbox sandbox;
  auto ids = people(sandbox, 90, "s");
  std::int64_t id = 0;
  {
    auto first = std::make_unique<Broadcaster>(db(), catalog_, SystemClock::instance());
    auto created = first->create({BroadcastContent::plain("once only"), Audience::kAll, admin(sandbox)});
    ASSERT_TRUE(created);
    id = *created;
    auto running = std::async(std::launch::async, [&] { return first->run(id, sandbox.context()); });
    ASSERT_TRUE(eventually([&] { return first->status(id)->sent >= 15; }));
    first.reset();  // the process shuts down mid-way...
    auto stopped = running.get();
    ASSERT_TRUE(stopped) << stopped.error().to_string();
    EXPECT_EQ(stopped->state, BroadcastState::kRunning);
    EXPECT_LT(stopped->sent, 90);
  }
  sandbox.start_runtime();  // ...and starts again: a new runtime and a new Broadcaster
  Broadcaster second(db(), catalog_, SystemClock::instance());
  auto unfinished = second.unfinished();
  ASSERT_TRUE(unfinished);
  ASSERT_EQ(*unfinished, std::vector<std::int64_t>{id});
  auto done = second.run(id, sandbox.context());
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_EQ(done->state, BroadcastState::kDone);
  EXPECT_EQ(done->sent, 90);
  for (auto person : ids) EXPECT_EQ(received(sandbox, person), 1u) << person;
}

TEST_P(BroadcastTest, ARevokedTokenStopsTheRunAndTheNewTokenFinishesIt) {
  Sandbox sandbox;
  auto ids = people(sandbox, 80, "t");
  Broadcaster broadcaster(db(), catalog_, SystemClock::instance());
  auto id = broadcaster.create({BroadcastContent::plain("after the new token"), Audience::kAll, admin(sandbox)});
  ASSERT_TRUE(id);
  auto running = std::async(std::launch::async, [&] { return broadcaster.run(*id, sandbox.context()); });
  ASSERT_TRUE(eventually([&] { return broadcaster.status(*id)->sent >= 10; }));
  sandbox.revoke_token();
  auto stopped = running.get();
  ASSERT_TRUE(stopped) << stopped.error().to_string();
  EXPECT_EQ(stopped->state, BroadcastState::kRunning);  // left for unfinished(), nobody failed
  EXPECT_EQ(stopped->failed, 0);
  EXPECT_LT(stopped->sent, 80);

  sandbox.restart_with_new_token();
  auto done = broadcaster.run(*id, sandbox.context());
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_EQ(done->state, BroadcastState::kDone);
  EXPECT_EQ(done->sent, 80);
  for (auto person : ids) EXPECT_EQ(received(sandbox, person), 1u) << person;
}

TEST_P(BroadcastTest, AudiencesPhotosAndForwards) {
  Sandbox sandbox(fast_emulator(), fast_runtime());
  const auto panel = add_panel(db(), "p1");
  const auto plan = add_plan(db(), "30 GB", panel);
  auto person = [&](const std::string& name) {
    const auto tg = sandbox.person(name);
    return std::make_pair(tg, add_user(db(), {.telegram_id = tg}));
  };
  auto [active_tg, active] = person("active");
  auto [expired_tg, expired] = person("expired");
  auto [both_tg, both] = person("both");  // one expired, one active service
  auto [trial_tg, trial] = person("trial");
  auto [newbie_tg, newbie] = person("newbie");
  add_service(db(), {.user_id = active, .panel_id = panel, .panel_username = "a"});
  add_service(db(), {.user_id = expired, .panel_id = panel, .panel_username = "e", .status = "expired"});
  add_service(db(), {.user_id = both, .panel_id = panel, .panel_username = "b1", .status = "expired"});
  add_service(db(), {.user_id = both, .panel_id = panel, .panel_username = "b2"});
  auto order = [&](std::int64_t user, std::int64_t amount, const std::string& status) {
    insert(db(),
           "INSERT INTO orders (user_id, plan_id, status, amount_minor, currency, created_at, updated_at) "
           "VALUES (:u, :p, :s, :a, 'IRR', 1, 1) RETURNING id",
           {{"u", user}, {"p", plan}, {"s", status}, {"a", amount}});
  };
  order(active, 1'000'000, "completed");
  order(expired, 1'000'000, "paid");
  order(both, 1'000'000, "completed");
  order(trial, 0, "completed");         // a free trial is not a purchase
  order(newbie, 1'000'000, "pending");  // nor is an unpaid order
  const auto owner = admin(sandbox);
  Broadcaster broadcaster(db(), catalog_, SystemClock::instance());
  auto recipients = [&](Audience a) {
    auto id = broadcaster.create({BroadcastContent::plain("x"), a, owner});
    EXPECT_TRUE(id);
    auto rows = db().with_session([&](storage::Session& s) {
      return s.query("SELECT user_id FROM broadcast_recipients WHERE broadcast_id = :id ORDER BY user_id",
                     {{"id", *id}});
    });
    std::vector<std::int64_t> out;
    for (const auto& r : *rows) out.push_back(r.get_int("user_id"));
    EXPECT_TRUE(broadcaster.cancel(*id));
    return out;
  };
  EXPECT_EQ(recipients(Audience::kAll), (std::vector<std::int64_t>{active, expired, both, trial, newbie}));
  EXPECT_EQ(recipients(Audience::kActive), (std::vector<std::int64_t>{active, both}));
  EXPECT_EQ(recipients(Audience::kExpired), (std::vector<std::int64_t>{expired}));
  EXPECT_EQ(recipients(Audience::kNeverBought), (std::vector<std::int64_t>{trial, newbie}));

  // A photo the owner sent the bot, to people with an active service.
  auto png = qr_png("https://t.me/shop_test_bot?start=nowruz");
  ASSERT_TRUE(png);
  auto photo_message = sandbox.emulator().send_photo(owner, sandbox.bot().username, *png, "poster");
  ASSERT_TRUE(photo_message) << photo_message.error().to_string();
  const std::string file_id = (*photo_message)["photo"].back()["file_id"];
  auto photo = broadcaster.create({BroadcastContent::photo(file_id, "عیدتان مبارک"), Audience::kActive, owner});
  ASSERT_TRUE(photo);
  auto sent = broadcaster.run(*photo, sandbox.context());
  ASSERT_TRUE(sent) << sent.error().to_string();
  EXPECT_EQ(sent->sent, 2);
  for (auto tg : {active_tg, both_tg}) {
    auto messages = sandbox.bot_messages(tg);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0]["caption"], "عیدتان مبارک");
    EXPECT_TRUE(messages[0].contains("photo"));
  }
  EXPECT_EQ(received(sandbox, newbie_tg), 0u);

  // A forward of the owner's own message, to people who never bought.
  auto text = sandbox.emulator().send_text(owner, sandbox.bot().username, "first purchase: 50% off");
  ASSERT_TRUE(text);
  auto forward = broadcaster.create(
      {BroadcastContent::forward(owner, (*text)["message_id"].get<std::int64_t>()), Audience::kNeverBought, owner});
  ASSERT_TRUE(forward);
  sent = broadcaster.run(*forward, sandbox.context());
  ASSERT_TRUE(sent) << sent.error().to_string();
  EXPECT_EQ(sent->sent, 2);
  for (auto tg : {trial_tg, newbie_tg}) {
    auto messages = sandbox.bot_messages(tg);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0]["text"], "first purchase: 50% off");
    EXPECT_TRUE(messages[0].contains("forward_origin"));
  }

  EXPECT_EQ(broadcaster.create({BroadcastContent::plain(""), Audience::kAll, owner}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(broadcaster.create({BroadcastContent::photo("", "c"), Audience::kAll, owner}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(broadcaster.status(999'999).error().code, ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, BroadcastTest,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::shop
