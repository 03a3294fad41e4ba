// The admins' people side of the shop bot, end to end through the sandbox on both backends:
// the statistics show a purchase; a person found by id gets a balance credit (a ledger row
// with the reason), a debit below zero is refused, a message from the shop, and a ban (the
// person then gets the short banned answer); a broadcast reaches the fixture's people with
// its one progress message ending done; a backup document arrives on demand and once a day.
#include "shop_fixture.hpp"

namespace ms::shop::testing {
namespace {

class AdminPeopleE2E : public ShopTest {
 protected:
  AdminPeopleE2E() { with_backups_ = true; }

  void SetUp() override {
    ShopTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // The owner reads the bot in English (admins are answered in their own language).
    ASSERT_TRUE(db_->with_session([&](storage::Session& s) {
      return s.exec("UPDATE users SET language = 'en' WHERE telegram_id = :tg", {{"tg", owner_}});
    }));
  }

  // The bot's documents in the owner's chat.
  std::vector<json> documents(std::int64_t who) {
    std::vector<json> out;
    for (const auto& m : chat(who).value("messages", json::array())) {
      if (m.value("from_bot", false) && m["message"].contains("document")) out.push_back(m["message"]);
    }
    return out;
  }

  // The content of a document the bot sent, as the Bot API gives it back.
  std::string download(const json& document) {
    sandbox::Params p;
    p.add("file_id", document["file_id"].get<std::string>());
    auto file = emulator_->call_sync(token_, "getFile", p);
    EXPECT_EQ(file.status, 200) << file.body.dump();
    if (file.status != 200) return "";
    auto got = emulator_->download_file(token_, file.body["result"]["file_path"].get<std::string>());
    EXPECT_TRUE(got) << got.error().to_string();
    return got ? got->data : "";
  }

  void open_user(std::int64_t who) {
    command(owner_, "admin", "Shop admin");
    press_to(owner_, "Users", "Telegram id or @username");
    say(owner_, std::to_string(who), "Balance:");
  }
};

TEST_P(AdminPeopleE2E, FindCreditRefuseOverdraftMessageBanAndStats) {
  choose_plan(bob_);  // Bob is at his order's payment methods, with nothing in his wallet
  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Users", "Telegram id or @username");
  say(owner_, "424242", "Nobody with that id");
  say(owner_, std::to_string(bob_), "Balance:");
  ASSERT_TRUE(wait_saw(owner_, "Telegram: " + std::to_string(bob_)));

  // +200,000 Toman = 2,000,000 Rial, with its reason in the ledger.
  press_to(owner_, "Change balance", "Send the change");
  say(owner_, "+200000", "Why?");
  say(owner_, "gift for the contest", "New balance");
  EXPECT_EQ(balance(bob_), 2'000'000);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM wallet_ledger WHERE reason = 'admin_adjustment' AND delta_minor = "
                   "2000000 AND note LIKE 'gift for the contest%'"),
            1);
  // Taking more than there is: refused, nothing changed.
  press(owner_, "Back");
  press_to(owner_, "Change balance", "Send the change");
  say(owner_, "-300000", "Why?");
  say(owner_, "mistake", "cannot go below zero");
  EXPECT_EQ(balance(bob_), 2'000'000);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM wallet_ledger WHERE user_id = " + std::to_string(user_id(bob_))), 1);

  // Bob spends it; the figures show the sale.
  press(bob_, "Wallet");
  ASSERT_TRUE(wait_saw(bob_, "is ready")) << chat(bob_).dump().substr(0, 8000);
  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Statistics", "Shop statistics");
  EXPECT_TRUE(wait_saw(owner_, "Today: 1 sales"));
  EXPECT_TRUE(wait_saw(owner_, "1. 1 Month 50GB: 1 sales"));

  // A message from the shop, then a ban: Bob gets the short answer.
  open_user(bob_);
  press_to(owner_, "Message them", "Send the message for this person");
  say(owner_, "Your <server> moves tonight", "Sent.");
  ASSERT_TRUE(wait_saw(bob_, "A message from the shop"));
  EXPECT_TRUE(saw(bob_, "Your <server> moves tonight"));
  press_to(owner_, "Back", "Balance:");
  press_to(owner_, "Ban", "Banned: Yes");
  EXPECT_EQ(scalar("SELECT banned AS v FROM users WHERE telegram_id = " + std::to_string(bob_)), 1);
  command(bob_, "start", "You are banned");
  press_to(owner_, "Unban", "Banned: No");
  EXPECT_EQ(scalar("SELECT banned AS v FROM users WHERE telegram_id = " + std::to_string(bob_)), 0);
}

TEST_P(AdminPeopleE2E, BroadcastReachesEveryoneWithOneProgressMessage) {
  start_and_wait(alice_);
  start_and_wait(bob_);
  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Broadcast", "Who should get the broadcast");
  press_to(owner_, "everyone", "Send the message to broadcast");
  say(owner_, "Half price this weekend", "Send this to everyone?");
  press_to(owner_, "Send", "The broadcast has started");
  ASSERT_TRUE(wait_saw(alice_, "Half price this weekend"));
  ASSERT_TRUE(wait_saw(bob_, "Half price this weekend"));
  ASSERT_TRUE(wait_saw(owner_, "Broadcast #1: done")) << chat(owner_).dump().substr(0, 6000);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM broadcasts WHERE status = 'done'"), 1);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM broadcast_recipients WHERE status = 'sent'"), 3);
  // One progress message, edited in place.
  int progress = 0;
  for (const auto& t : texts(owner_)) progress += t.find("Broadcast #1:") != std::string::npos;
  EXPECT_EQ(progress, 1);
  // A finished broadcast cannot be paused any more.
  EXPECT_FALSE(find_button(owner_, "Pause").has_value());
}

TEST_P(AdminPeopleE2E, BackupOnDemandAndOncePerDay) {
  start_and_wait(bob_);
  command(owner_, "admin", "Shop admin");
  press(owner_, "Backup");
  ASSERT_TRUE(eventually([&] { return documents(owner_).size() == 1; }));
  auto doc = documents(owner_)[0];
  EXPECT_EQ(doc["document"].value("file_name", "").rfind("shop-backup-1-", 0), 0u) << doc.dump();
  EXPECT_NE(doc.value("caption", "").find("Backup of your shop's data"), std::string::npos);
  auto data = json::parse(download(doc["document"]));
  EXPECT_EQ(data["tenant"], 1);
  bool has_bob = false;
  for (const auto& u : data["tables"]["users"]) has_bob = has_bob || u["telegram_id"] == bob_;
  EXPECT_TRUE(has_bob);

  // The daily one: sent by the first pass of the day that reaches Telegram (a refused send,
  // here Telegram's one-message-a-second limit right after the first document, frees the day
  // for the next pass), then not again that day.
  auto pass_sends = [&] {
    int sent = 0;
    EXPECT_TRUE(eventually(
        [&] {
          auto r = shop_->maintain();
          EXPECT_TRUE(r) << r.error().to_string();
          sent += r ? r->backups_sent : 0;
          return sent > 0;
        },
        10s));
    return sent;
  };
  EXPECT_EQ(pass_sends(), 1);
  EXPECT_EQ(documents(owner_).size(), 2u);
  std::this_thread::sleep_for(1100ms);
  auto again = shop_->maintain();
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->backups_sent, 0);
  EXPECT_EQ(documents(owner_).size(), 2u);
  // Next Tehran day: again.
  clock_.advance(std::chrono::hours(24));
  EXPECT_EQ(pass_sends(), 1);
  EXPECT_EQ(documents(owner_).size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminPeopleE2E,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::shop::testing
