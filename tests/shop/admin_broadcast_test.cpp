// Broadcasts steered from the owner's progress message, end to end through the sandbox on
// both backends: a few hundred people started the bot and some of them blocked it since;
// the owner broadcasts from /admin and presses pause, then resume, and in a second
// broadcast cancel. Telegram (the emulator) enforces a rate limit and the runtime paces
// under it, faster than Telegram's real 30/s so it takes seconds, not minutes. What reached
// whom is read from the people's chats in the emulator.
#include <map>
#include <set>

#include "shop_fixture.hpp"

namespace ms::shop::testing {
namespace {

constexpr int kPeople = 300;
constexpr int kEvery = 10;                           // every tenth person blocks the bot after /start
constexpr int kBlockers = kPeople / kEvery;          // 30
constexpr int kReachable = kPeople - kBlockers + 1;  // and the owner, who is a person of the shop too

class AdminBroadcastE2E : public ShopTest {
 protected:
  AdminBroadcastE2E() {
    TelegramLimits limits;
    limits.telegram.bot_per_second = 200;  // the emulator answers 429 above this
    limits.runtime.bot_per_second = 150;
    limits.runtime.bulk_per_second = 50;  // a broadcast goes at about 50 a second
    telegram_limits_ = limits;
  }

  void SetUp() override {
    ShopTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(db_->with_session([&](storage::Session& s) {
      return s.exec("UPDATE users SET language = 'en' WHERE telegram_id = :tg", {{"tg", owner_}});
    }));
    for (int i = 0; i < kPeople; ++i) {
      const auto who = person("Person" + std::to_string(i), i % 2 ? "en" : "fa");
      people_.push_back(who);
      ASSERT_TRUE(emulator_->send_command(who, "vpn_shop_bot", "start"));
    }
    ASSERT_TRUE(eventually([&] { return scalar("SELECT count(*) AS v FROM users") == kPeople + 1; }, 60s));
    // Some got the menu and blocked the bot; the shop does not know yet.
    for (int i = 0; i < kPeople; i += kEvery) {
      ASSERT_TRUE(eventually([&] { return !texts(people_[i]).empty(); }, 30s));
      ASSERT_TRUE(emulator_->block_bot(people_[i], "vpn_shop_bot"));
      blockers_.insert(people_[i]);
    }
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM users WHERE blocked_bot = 1"), 0);
  }

  void start_broadcast(const std::string& text) {
    command(owner_, "admin", "Shop admin");
    press_to(owner_, "Broadcast", "Who should get the broadcast");
    press_to(owner_, "everyone", "Send the message to broadcast");
    say(owner_, text, "Send this to everyone?");
    press_to(owner_, "📣", "The broadcast has started");
  }

  // How many people (the owner too) got each of `texts`, read from their chats (one pass:
  // reading 300 chats takes a moment); nobody got one twice, nobody who blocked the bot any.
  std::vector<int> reached(const std::vector<std::string>& wanted) {
    std::vector<int> n(wanted.size(), 0);
    for (auto who : everyone()) {
      const auto got = texts(who);
      for (std::size_t i = 0; i < wanted.size(); ++i) {
        const auto copies = std::count(got.begin(), got.end(), wanted[i]);
        EXPECT_LE(copies, 1) << who << " got '" << wanted[i] << "' " << copies << " times";
        if (copies == 0) continue;
        EXPECT_FALSE(blockers_.count(who)) << who << " blocked the bot but has '" << wanted[i] << "'";
        ++n[i];
      }
    }
    return n;
  }
  std::vector<std::int64_t> everyone() const {
    std::vector<std::int64_t> out = people_;
    out.push_back(owner_);
    return out;
  }

  std::int64_t column(std::int64_t broadcast, const std::string& name) {
    return scalar("SELECT " + name + " AS v FROM broadcasts WHERE id = " + std::to_string(broadcast));
  }
  std::int64_t recipients(std::int64_t broadcast, const std::string& status) {
    return scalar("SELECT count(*) AS v FROM broadcast_recipients WHERE broadcast_id = " + std::to_string(broadcast) +
                  " AND status = '" + status + "'");
  }

  // The owner's progress messages of a broadcast (each with its edits).
  std::vector<json> progress_messages(std::int64_t broadcast) {
    std::vector<json> out;
    const std::string head = "Broadcast #" + std::to_string(broadcast) + ":";
    for (const auto& m : chat(owner_).value("messages", json::array())) {
      if (m.value("from_bot", false) && m["message"].value("text", "").find(head) != std::string::npos)
        out.push_back(m);
    }
    return out;
  }

  // Holds for the whole of `span`, checked as often as eventually() does: what a paused or
  // cancelled broadcast must not change, over a span in which the pace would have sent dozens.
  template <class Pred>
  bool stays(Pred pred, std::chrono::milliseconds span) {
    const auto until = std::chrono::steady_clock::now() + span;
    while (std::chrono::steady_clock::now() < until) {
      if (!pred()) return false;
      std::this_thread::sleep_for(100ms);
    }
    return pred();
  }

  std::vector<std::int64_t> people_;
  std::set<std::int64_t> blockers_;
};

TEST_P(AdminBroadcastE2E, PauseResumeAndCancelFromTheProgressMessage) {
  const std::string sale = "Weekend sale: half price on every plan";
  start_broadcast(sale);
  // A few dozen have it; the owner presses Pause under the progress message, which shows
  // "paused" once what was already handed to Telegram has gone.
  ASSERT_TRUE(eventually([&] { return column(1, "sent") >= 30; }));
  press_to(owner_, "⏸", "Broadcast #1: paused");
  EXPECT_EQ(column(1, "total"), kPeople + 1);  // the snapshot: nobody was known to have blocked the bot
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM broadcasts WHERE id = 1 AND status = 'paused'"), 1);
  const auto paused_at = column(1, "sent");
  EXPECT_LT(paused_at, kReachable) << "the broadcast ended before the pause";
  EXPECT_EQ(recipients(1, "sent"), paused_at);
  EXPECT_GT(recipients(1, "pending"), 0);
  // Nothing more goes out while it is paused (at this pace dozens would have): the chats
  // hold exactly what was recorded as sent.
  EXPECT_TRUE(stays([&] { return column(1, "sent") == paused_at; }, 1500ms));
  EXPECT_EQ(reached({sale})[0], paused_at);

  // Resume: the rest get it, each once, and those who blocked the bot are marked.
  press_to(owner_, "▶️", "Broadcast #1: done");
  EXPECT_EQ(reached({sale})[0], kReachable);
  EXPECT_EQ(column(1, "sent"), kReachable);
  EXPECT_EQ(column(1, "blocked"), kBlockers);
  EXPECT_EQ(column(1, "failed"), 0);
  EXPECT_EQ(recipients(1, "pending"), 0);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM users WHERE blocked_bot = 1"), kBlockers);
  for (auto who : blockers_) {
    EXPECT_EQ(scalar("SELECT blocked_bot AS v FROM users WHERE telegram_id = " + std::to_string(who)), 1) << who;
  }
  // One progress message, edited in place (sending, paused, sending, done), no buttons once done.
  auto progress = progress_messages(1);
  ASSERT_EQ(progress.size(), 1u) << chat(owner_).dump().substr(0, 4000);
  EXPECT_GE(progress[0].value("edits", json::array()).size(), 3u);
  EXPECT_TRUE(
      progress[0]["message"].value("reply_markup", json::object()).value("inline_keyboard", json::array()).empty());

  // The second broadcast leaves out who blocked the bot, and is cancelled part way.
  const std::string news = "New servers in Frankfurt from tomorrow";
  start_broadcast(news);
  EXPECT_EQ(column(2, "total"), kReachable);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM broadcast_recipients r JOIN users u ON u.id = r.user_id "
                   "WHERE r.broadcast_id = 2 AND u.blocked_bot = 1"),
            0);
  ASSERT_TRUE(eventually([&] { return column(2, "sent") >= 30; }));
  press_to(owner_, "⏹", "Broadcast #2: cancelled");
  const auto cancelled_at = column(2, "sent");
  EXPECT_LT(cancelled_at, kReachable) << "the broadcast ended before the cancel";
  EXPECT_EQ(column(2, "blocked"), 0);
  EXPECT_EQ(recipients(2, "pending"), kReachable - cancelled_at);  // never to be sent
  // Nothing more goes out, also not after the shop's next pass (which resumes unfinished
  // broadcasts: a cancelled one is finished).
  auto pass = shop_->maintain();
  ASSERT_TRUE(pass) << pass.error().to_string();
  EXPECT_TRUE(stays([&] { return column(2, "sent") == cancelled_at; }, 1500ms));
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM broadcasts WHERE id = 2 AND status = 'cancelled'"), 1);
  const auto both = reached({sale, news});
  EXPECT_EQ(both[0], kReachable);  // nobody got the first one again
  EXPECT_EQ(both[1], cancelled_at);
  progress = progress_messages(2);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_GE(progress[0].value("edits", json::array()).size(), 1u);
  EXPECT_TRUE(
      progress[0]["message"].value("reply_markup", json::object()).value("inline_keyboard", json::array()).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminBroadcastE2E,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::shop::testing
