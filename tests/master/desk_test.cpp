// Support tickets and the operators' tools through the sandbox over HTTP, on SQLite and
// PostgreSQL: a ticket with a photo, answered (text and photo), closed and rated once; the
// operators' customer lookup, instance health and figures over seeded data, checked
// exactly; a customer who is not an operator refused.
#include <string>

#include "desk_fixture.hpp"

namespace ms::master::testing {
namespace {

using storage::Backend;
constexpr std::int64_t kDay = 24 * 60 * 60;

// The smallest picture the emulator takes: a PNG header whose height makes it unique.
std::string picture(int tag) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  png += std::string("\0\0\0\x0dIHDR", 8);
  png += std::string("\0\0\0\x01", 4);
  png += std::string("\0\0\0", 3) + static_cast<char>(tag);
  png += std::string(16, '\0');
  return png;
}

TEST_P(DeskTest, TicketWithAPhotoIsAnsweredClosedAndRatedOnce) {
  start_bot();
  command(operator_, "start", "Main menu");
  command(alice_, "start", "Main menu");
  // Alice is no operator: her menu has Support only.
  EXPECT_FALSE(find_button(alice_, "Operators"));
  EXPECT_TRUE(find_button(operator_, "Operators"));

  press_to(alice_, "Support", "Support: open a new ticket");
  press_to(alice_, "New ticket", "Write the subject");
  say(alice_, "VPN is slow", "Describe your problem");
  auto before_op = message_count(operator_);
  ASSERT_TRUE(emulator_->send_photo(alice_, kBot, picture(1), "Look at this <speed> test"));
  ASSERT_TRUE(wait_saw(alice_, "✅ Ticket #1 is open."));
  // Every operator gets it, the photo with the text as its caption, with Answer and Close.
  const std::string customer =
      std::to_string(scalar("SELECT id AS v FROM customers WHERE telegram_id = " + std::to_string(alice_)));
  EXPECT_EQ(wait_text(operator_, "New ticket #1", before_op),
            "🎫 New ticket #1 from Alice (@alice_vpn, customer #" + customer +
                ")\nSubject: VPN is slow\n\nLook at this <speed> test");
  EXPECT_EQ(photos(operator_), 1);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM ticket_messages WHERE ticket_id = 1 AND author_kind = 'customer' AND "
                   "attachment_file_id IS NOT NULL"),
            1);

  // The operator answers in the bot; Alice gets it there.
  press_to(operator_, "Answer", "Write your answer to ticket #1");
  say(operator_, "Restart your router, please.", "Your answer on ticket #1 was sent");
  EXPECT_EQ(wait_text(alice_, "Support's answer"), "🎧 Support's answer on ticket #1:\n\nRestart your router, please.");
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM tickets WHERE id = 1 AND status = 'answered'"), 1);

  // Alice replies; the operators hear of it; an answer with a photo reaches her as a photo.
  press_to(alice_, "Reply", "Write your message for ticket #1");
  before_op = message_count(operator_);
  say(alice_, "Still slow.", "Your message was added to ticket #1");
  EXPECT_TRUE(wait_saw_since(operator_, before_op, "💬 New message on ticket #1 from Alice"));
  EXPECT_TRUE(wait_saw_since(operator_, before_op, "Still slow."));
  press_to(operator_, "Answer", "Write your answer to ticket #1");
  const auto before_alice = message_count(alice_);
  ASSERT_TRUE(emulator_->send_photo(operator_, kBot, picture(2), "Use these settings"));
  ASSERT_TRUE(wait_saw(operator_, "Your answer on ticket #1 was sent"));
  ASSERT_TRUE(wait_saw_since(alice_, before_alice, "Use these settings"));
  EXPECT_EQ(photos(alice_), 1);

  // Closed by the operator: Alice is asked for a rating.
  EXPECT_EQ(answer_text(press(operator_, "Close")), "Ticket #1 is closed.");
  ASSERT_TRUE(wait_saw(alice_, "Ticket #1 is closed. How happy were you"));
  auto four = find_button(alice_, "4⭐");
  ASSERT_TRUE(four);
  // Her ticket's screen offers the rating too (a second set of buttons).
  press_to(alice_, "My tickets", "Your tickets:");
  EXPECT_TRUE(saw_since(alice_, 0, "#1 · VPN is slow · closed"));
  press_to(alice_, "VPN is slow", "🎫 Ticket #1: VPN is slow\nStatus: closed");
  auto five = find_button(alice_, "5⭐");
  ASSERT_TRUE(five);
  ASSERT_NE(five->first, four->first);

  EXPECT_EQ(answer_text(press_exact(alice_, *four)), "");
  ASSERT_TRUE(wait_saw(alice_, "🙏 Thank you! You rated ticket #1 4 out of 5."));
  EXPECT_EQ(answer_text(press_exact(alice_, *five)), "You already rated this ticket. Thank you!");
  EXPECT_EQ(scalar("SELECT rating AS v FROM tickets WHERE id = 1"), 4);
  // The operator cannot close it twice, and a closed ticket takes no more answers.
  auto score = SupportDesk::satisfaction(*db_);
  ASSERT_TRUE(score);
  EXPECT_EQ(score->ratings, 1);
  EXPECT_DOUBLE_EQ(score->average, 4.0);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM ticket_messages WHERE ticket_id = 1"), 4);
}

TEST_P(DeskTest, ANonOperatorIsRefused) {
  start_bot();
  command(alice_, "ops", "⛔️ This is for Mothership's operators only.");
  command(alice_, "start", "Main menu");
  EXPECT_FALSE(find_button(alice_, "Operators"));
  // The operator, pressing the same entry, gets the tools.
  command(operator_, "ops", "Operators' tools");
  EXPECT_TRUE(find_button(operator_, "Figures"));
  EXPECT_FALSE(saw_since(alice_, 0, "📊 Figures"));
}

class OperatorDeskTest : public DeskTest {
 protected:
  // Seeds: 5 customers (one too old to count in the weeks), subscriptions in several
  // states and currencies, four instances (one deleted), three ratings, timed deployments.
  void seed() {
    const std::int64_t now = clock_.unix_seconds();
    sara_ = person("Sara", "en", "Sara_VPN");
    ASSERT_TRUE(storage::PackageRepository(*db_).seed_defaults(1));
    exec(
        "INSERT INTO packages (code, name_fa, name_en, monthly_price_minor, yearly_price_minor, currency, created_at, "
        "updated_at) VALUES ('iran', 'ایران', 'Iran', 5000000, 50000000, 'IRR', 1, 1)");
    auto customer = [&](const std::string& name, std::optional<std::int64_t> tg, const std::string& username,
                        std::int64_t created) {
      exec(
          "INSERT INTO customers (telegram_id, name, username, language, created_at, updated_at) VALUES (:tg, :n, :u, "
          "'en', :c, :c)",
          {{"tg", tg ? storage::Value{*tg} : storage::Value{}},
           {"n", name},
           {"u", username.empty() ? storage::Value{} : storage::Value{username}},
           {"c", created}});
    };
    customer("Sara", sara_, "sara_vpn", now - 2 * kDay);  // #1: the last week
    customer("Reza", 7002, "", now - 10 * kDay);          // #2: the week before
    customer("Mina", 7003, "", now - 50 * kDay);          // #3: the oldest of the 8 weeks
    customer("Old", 7004, "", now - 100 * kDay);          // #4: before them
    customer("Omid", 7005, "", now - 9 * kDay);           // #5: the week before
    auto sub = [&](int customer, const std::string& package, const std::string& cycle, const std::string& state) {
      exec(
          "INSERT INTO subscriptions (customer_id, package_id, state, cycle, period_start, period_end, created_at, "
          "updated_at) VALUES (:c, (SELECT id FROM packages WHERE code = :p), :s, :cy, :start, :end, 1, 1)",
          {{"c", std::int64_t{customer}},
           {"p", package},
           {"s", state},
           {"cy", cycle},
           {"start", now - kDay},
           {"end", now + 20 * kDay}});
    };
    sub(1, "starter", "monthly", "active");      // $50.00
    sub(2, "professional", "yearly", "active");  // $1000.00 / 12 = $83.33
    sub(3, "enterprise", "monthly", "grace");    // not paying now: not counted
    sub(4, "starter", "monthly", "suspended");   // not counted
    sub(5, "iran", "monthly", "active");         // 500,000 Toman
    // Instances: #1 Sara's, running; #2 Reza's, failed; #3 Reza's, silent for 10 minutes; #4 deleted.
    for (int i = 1; i <= 4; ++i) {
      exec(
          "INSERT INTO bot_instances (customer_id, bot_username, token_enc, token_hash, admin_telegram_id, status, "
          "created_at, updated_at) VALUES (:c, :u, 'enc', :h, 1, :s, 1, 1)",
          {{"c", std::int64_t{i == 1 || i == 4 ? 1 : 2}},
           {"u", "shop" + std::to_string(i) + "_bot"},
           {"h", "hash" + std::to_string(i)},
           {"s", std::string(i == 4   ? "deleted"
                             : i == 2 ? "failed"
                                      : "running")}});
    }
    auto status = [&](std::int64_t id, std::int64_t customer, domain::BotState state, std::int64_t heartbeat_ago,
                      const std::string& error) {
      deploy::InstanceStatus s;
      s.instance_id = id;
      s.customer_id = customer;
      s.bot_username = "shop" + std::to_string(id) + "_bot";
      s.state = state;
      s.heartbeat_at = now - heartbeat_ago;
      s.last_error = error;
      deployments_->put(s);
    };
    status(1, 1, domain::BotState::kRunning, 30, "");
    status(2, 2, domain::BotState::kFailed, 300, "getMe: 401 Unauthorized");
    status(3, 2, domain::BotState::kRunning, 600, "");
    // Two timed deployments (bot_instances.deploy_ms, master migration 6).
    exec("UPDATE bot_instances SET deploy_ms = 2000 WHERE id = 1");
    exec("UPDATE bot_instances SET deploy_ms = 3000 WHERE id = 3");
    for (int rating : {5, 3, 4}) {
      exec(
          "INSERT INTO tickets (customer_id, subject, status, rating, created_at, updated_at) VALUES (1, 's', "
          "'closed', :r, 1, 1)",
          {{"r", std::int64_t{rating}}});
    }
    exec("INSERT INTO tickets (customer_id, subject, created_at, updated_at) VALUES (2, 'open one', 1, 1)");
    exec(
        "INSERT INTO payments (customer_id, provider, amount_minor, currency, status, created_at, updated_at) VALUES "
        "(1, 'stripe', 5000, 'USD', 'paid', :c, :c)",
        {{"c", now - kDay}});
  }
  std::int64_t sara_ = 0;
};

TEST_P(OperatorDeskTest, LookupHealthAndFiguresOverSeededData) {
  seed();
  if (HasFatalFailure()) return;
  start_bot();
  const std::int64_t now = clock_.unix_seconds();

  auto figures = compute_figures(*db_, now);
  ASSERT_TRUE(figures) << figures.error().to_string();
  EXPECT_EQ(figures->customers, 5);
  EXPECT_EQ(figures->new_per_week, (std::vector<std::int64_t>{1, 0, 0, 0, 0, 0, 2, 1}));
  EXPECT_EQ(figures->mrr_minor, (std::map<std::string, std::int64_t>{{"IRR", 5'000'000}, {"USD", 13'333}}));
  EXPECT_EQ(figures->average_deploy_ms, 2500);
  EXPECT_EQ(figures->deployments_timed, 2);
  EXPECT_EQ(figures->satisfaction.ratings, 3);
  EXPECT_DOUBLE_EQ(figures->satisfaction.average, 4.0);

  command(operator_, "ops", "Operators' tools");
  press_to(operator_, "Payments to review", "Receipts to review: none");  // the master bot's own screen
  auto before = message_count(operator_);
  press_to(operator_, "Figures", "📊 Figures");
  EXPECT_EQ(wait_text(operator_, "📊 Figures", before),
            "📊 Figures\nCustomers: 5\nNew customers, last 8 weeks (oldest first): 1 · 0 · 0 · 0 · 0 · 0 · 2 · 1\n"
            "MRR: 500,000 Toman + $133.33\nAverage deployment time: 2.5 s (average of 2 deployments)\n"
            "Satisfaction: 4.0 of 5 (3 ratings)");

  before = message_count(operator_);
  press_to(operator_, "Bots' health", "🩺");
  EXPECT_EQ(wait_text(operator_, "🩺", before),
            "🩺 3 bots · 1 failed · 1 stale\n"
            "🔴 #2 @shop2_bot · customer #2 · failed · heartbeat: 5 min ago\n"
            "   last error: getMe: 401 Unauthorized\n"
            "🟠 #3 @shop3_bot · customer #2 · running · heartbeat: 10 min ago · stale\n"
            "🟢 #1 @shop1_bot · customer #1 · running · heartbeat: 30 s ago");

  // Lookup by @username (any case), then by Telegram id and by customer number.
  press_to(operator_, "Back", "Operators' tools");
  press_to(operator_, "Find a customer", "Send a Telegram id");
  before = message_count(operator_);
  say(operator_, "@SARA_vpn", "👤 Customer #1: Sara");
  EXPECT_EQ(
      wait_text(operator_, "👤 Customer #1", before),
      "👤 Customer #1: Sara\nUsername: @sara_vpn · Telegram: " + std::to_string(sara_) +
          "\nJoined: " + desk::date(now - 2 * kDay, i18n::Lang::kEn) +
          "\n📦 Package: Starter (monthly) · state: active · ends: " + desk::date(now + 20 * kDay, i18n::Lang::kEn) +
          "\n\n🤖 Bots:\n#1 @shop1_bot · running · last heartbeat: 30 s ago\n\n💳 Recent payments:\n"
          "#1 · $50.00 · stripe · paid · " +
          desk::date(now - kDay, i18n::Lang::kEn));
  press_to(operator_, "Back", "Operators' tools");
  press_to(operator_, "Find a customer", "Send a Telegram id");
  say(operator_, "nobody_here", "No customer matches that");
  say(operator_, "7002", "👤 Customer #2: Reza");
  EXPECT_TRUE(wait_saw(operator_, "📦 Package: Professional (yearly) · state: active"));
  EXPECT_TRUE(wait_saw(operator_, "#2 @shop2_bot · failed · last heartbeat: 5 min ago"));
  press_to(operator_, "Back", "Operators' tools");
  press_to(operator_, "Find a customer", "Send a Telegram id");
  say(operator_, "#3", "👤 Customer #3: Mina");

  // A message to Sara (she started the bot) reaches her.
  command(sara_, "start", "Main menu");
  press_to(operator_, "Back", "Operators' tools");
  press_to(operator_, "Find a customer", "Send a Telegram id");
  say(operator_, std::to_string(sara_), "👤 Customer #1: Sara");
  press_to(operator_, "Message the customer", "Write the message for customer #1.");
  say(operator_, "Your server moves tonight.", "✅ Message sent to customer #1.");
  EXPECT_EQ(wait_text(sara_, "Mothership team"), "📩 A message from the Mothership team:\n\nYour server moves tonight.");
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM customers"), 5);  // nobody was entered twice
}

INSTANTIATE_TEST_SUITE_P(Backends, DeskTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, OperatorDeskTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::master::testing
