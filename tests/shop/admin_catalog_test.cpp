// The owner's catalog side of the shop bot, end to end through the sandbox: a panel added in
// the bot is probed against the Marzban test panel (a wrong password is refused with the
// panel's message, a good one saved with its password encrypted, a package limit refused);
// a plan the owner adds is bought by a person; a discount code the owner creates lowers the
// price and is counted once; the trial turned off leaves the menu; a changed text is seen at
// once and can be reset; a card number and Stars are switched on (the app is told); a
// required channel is accepted only where the bot is an admin; an added admin opens /admin
// and a support-role admin cannot open the catalog.
#include <atomic>
#include <set>

#include "payments/registry.hpp"
#include "shop_fixture.hpp"

namespace ms::shop::testing {
namespace {

class AdminCatalogE2E : public ShopTest {
 protected:
  void SetUp() override {
    ShopTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // The owner reads the bot in English (admins are answered in their own language).
    ASSERT_TRUE(db_->with_session([&](storage::Session& s) {
      return s.exec("UPDATE users SET language = 'en' WHERE telegram_id = :tg", {{"tg", owner_}});
    }));
  }

  // The shop again, with changed dependencies (package limits, the payment hook).
  void restart_with(const std::function<void(ShopDeps&)>& change) {
    stop_shop();
    telegram::RuntimeOptions ro;
    ro.poller.timeout_seconds = 2;
    ro.poller.min_backoff = 50ms;
    ro.poller.max_backoff = 200ms;
    ro.limits.enabled = false;
    runtime_ = std::make_unique<telegram::BotRuntime>(http_, timers_, base_url(), ro, telegram::RuntimeEvents{});
    ShopDeps d;
    d.tenant_id = kTenant;
    d.db = db_;
    d.payments = payments_;
    d.secrets = &box_;
    d.http = &http_;
    d.runtime = runtime_.get();
    d.bot_key = kBotKey;
    d.bot_username = "vpn_shop_bot";
    d.callback_key = "test-callback-key";
    d.clock = &clock_;
    change(d);
    auto shop = ShopBot::create(d);
    ASSERT_TRUE(shop) << shop.error().to_string();
    shop_ = *shop;
    ASSERT_TRUE(runtime_->add({kBotKey, token_, telegram::Intake::kPolling, "", shop_}));
    ASSERT_TRUE(emulator_->wait_for_poller("vpn_shop_bot", 10s));
  }

  bool has_button(std::int64_t who, const std::string& label, std::int64_t message_id) {
    for (const auto& m : chat(who).value("messages", json::array())) {
      const auto& msg = m["message"];
      if (msg.value("message_id", std::int64_t{0}) != message_id || !msg.contains("reply_markup")) continue;
      for (const auto& row : msg["reply_markup"].value("inline_keyboard", json::array())) {
        for (const auto& b : row) {
          if (b.value("text", "").find(label) != std::string::npos) return true;
        }
      }
    }
    return false;
  }

  // The id of the newest bot message that has a keyboard.
  std::int64_t newest_keyboard(std::int64_t who) {
    auto messages = chat(who).value("messages", json::array());
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      if ((*it).value("from_bot", false) && (*it)["message"].contains("reply_markup")) {
        return (*it)["message"]["message_id"].get<std::int64_t>();
      }
    }
    return 0;
  }

  std::string text_of(const std::string& sql) {
    auto v = db_->with_session([&](storage::Session& s) -> Result<std::string> {
      auto row = s.query_one(sql);
      if (!row) return fail(std::move(row.error()));
      return *row ? (*row)->get_string("v") : std::string();
    });
    EXPECT_TRUE(v) << v.error().to_string();
    return v ? *v : std::string();
  }

  void add_panel(const std::string& name, const std::string& password) {
    press_to(owner_, "Add a panel", "Send a name for this panel");
    say(owner_, name, "Marzban panel's address");
    say(owner_, marzban_->base_url(), "admin username");
    say(owner_, "admin", "password");
    const auto before = message_count(owner_);
    ASSERT_TRUE(emulator_->send_text(owner_, "vpn_shop_bot", password));
    ASSERT_TRUE(eventually(
        [&] { return saw_since(owner_, before, "passed the test") || saw_since(owner_, before, "was not added"); }));
  }
};

TEST_P(AdminCatalogE2E, PanelsAreProbedBeforeTheyAreSavedAndLimited) {
  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Plans and servers", "📦 Plans and servers");
  // A wrong password: the probe's own message, nothing saved, the password message deleted.
  add_panel("Netherlands", "not-the-password");
  EXPECT_TRUE(saw(owner_, "The panel was not added: the test failed at step \"login\""));
  EXPECT_TRUE(saw(owner_, "The panel rejected the username or password"));
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM panels"), 1);
  for (const auto& m : chat(owner_).value("messages", json::array())) {
    EXPECT_NE(m["message"].value("text", ""), "not-the-password") << "the password stayed in the chat";
  }
  // The right one: probed (a throwaway account made and removed) and saved, encrypted.
  const auto creates = marzban_->hits("POST /api/user");
  add_panel("Netherlands", "admin");
  ASSERT_TRUE(saw(owner_, "Panel \"Netherlands\" passed the test"));
  EXPECT_GT(marzban_->hits("POST /api/user"), creates);
  EXPECT_EQ(marzban_->user_count(), 0u);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM panels WHERE name = 'Netherlands' AND enabled = 1"), 1);
  const auto stored = text_of("SELECT password_enc AS v FROM panels WHERE name = 'Netherlands'");
  EXPECT_EQ(stored.find("admin"), std::string::npos);
  panels::PanelRepository repo(*db_, box_);
  auto id = scalar("SELECT id AS v FROM panels WHERE name = 'Netherlands'");
  auto record = repo.get(id);
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->password.reveal(), "admin");
  EXPECT_EQ((*record)->base_url, marzban_->base_url());

  // Disabled from the bot: no longer offered.
  press(owner_, "Back");
  press_to(owner_, "Netherlands", "Version:");
  press_to(owner_, "Disable", "is disabled");
  EXPECT_EQ(scalar("SELECT enabled AS v FROM panels WHERE name = 'Netherlands'"), 0);

  // A package with two panels: a third is refused with the limit's message.
  restart_with([](ShopDeps& d) {
    d.max_panels = 2;
    d.package_name = "Starter";
  });
  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Plans and servers", "📦 Plans and servers");
  press_to(owner_, "Add a panel", "Your Starter package allows 2 panels; upgrade to add more.");
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM panels"), 2);
}

TEST_P(AdminCatalogE2E, APlanAndADiscountCodeTheOwnerMadeAreBought) {
  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Plans and servers", "Germany");
  press_to(owner_, "Germany", "Version:");
  press_to(owner_, "Add a plan", "Send the plan's name");
  say(owner_, "Weekly 20GB", "length in days");
  say(owner_, "abc", "isn't accepted");  // asked again
  say(owner_, "۷", "Traffic in GB");     // Persian digits are fine
  say(owner_, "20", "price in Toman");
  say(owner_, "70,000", "short description");
  say(owner_, "-", "What is this plan?");
  press_to(owner_, "Service", "Plan \"Weekly 20GB\" added");
  const auto plan = scalar("SELECT id AS v FROM plans WHERE name = 'Weekly 20GB'");
  EXPECT_EQ(scalar("SELECT price_minor AS v FROM plans WHERE id = " + std::to_string(plan)), 700'000);
  EXPECT_EQ(scalar("SELECT traffic_bytes AS v FROM plans WHERE id = " + std::to_string(plan)), 20LL << 30);
  EXPECT_EQ(scalar("SELECT duration_days AS v FROM plans WHERE id = " + std::to_string(plan)), 7);
  EXPECT_EQ(scalar("SELECT panel_id AS v FROM plans WHERE id = " + std::to_string(plan)), panel_id_);

  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Discount codes", "No discount code yet");
  press_to(owner_, "New discount code", "Send the code");
  say(owner_, "SPRING20", "a percent");
  say(owner_, "20%", "Most uses");
  say(owner_, "0", "each person");
  say(owner_, "1", "how many days");
  say(owner_, "30", "For which plan?");
  press_to(owner_, "Weekly 20GB", "Discount code SPRING20 created");
  EXPECT_EQ(scalar("SELECT percent AS v FROM discount_codes WHERE code = 'SPRING20'"), 20);
  EXPECT_EQ(scalar("SELECT plan_id AS v FROM discount_codes WHERE code = 'SPRING20'"), plan);

  // Bob buys the new plan with the code, from his wallet.
  ASSERT_TRUE(emulator_->send_command(bob_, "vpn_shop_bot", "start"));
  press(bob_, "Buy");
  press(bob_, "Germany");
  press(bob_, "Weekly 20GB");
  ASSERT_TRUE(wait_saw(bob_, "Your order"));
  press_to(bob_, "I have a discount code", "Send your discount code");
  say(bob_, "spring20", "Discount applied");
  const auto order = scalar("SELECT max(id) AS v FROM orders");
  EXPECT_EQ(scalar("SELECT amount_minor AS v FROM orders WHERE id = " + std::to_string(order)), 560'000);
  ASSERT_TRUE(payments_->ledger().apply({user_id(bob_), Money{1'000'000, Currency::kIrr},
                                         domain::LedgerReason::kAdminAdjustment, "test:gift", std::nullopt}));
  press(bob_, "Wallet");
  ASSERT_TRUE(wait_saw(bob_, "is ready"));
  EXPECT_EQ(balance(bob_), 1'000'000 - 560'000);
  ASSERT_TRUE(eventually([&] { return scalar("SELECT used_count AS v FROM discount_codes") == 1; }));
  EXPECT_EQ(scalar("SELECT traffic_limit_bytes AS v FROM services"), 20LL << 30);
  EXPECT_EQ(marzban_->user_count(), 1u);

  // The owner's list shows the use; deactivated, the code is refused.
  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Discount codes", "SPRING20: 20% · used 1 of ∞");
  press_to(owner_, "Deactivate SPRING20", "deactivated");
  EXPECT_EQ(scalar("SELECT active AS v FROM discount_codes"), 0);
  // The plan stops being sold, but stays for the order that points at it.
  command(owner_, "admin", "Shop admin");
  press(owner_, "Plans and servers");
  press(owner_, "Germany");
  press_to(owner_, "Weekly 20GB", "Length: 7 days");
  press_to(owner_, "Stop selling", "no longer sold");
  EXPECT_EQ(scalar("SELECT active AS v FROM plans WHERE id = " + std::to_string(plan)), 0);
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM orders WHERE plan_id = " + std::to_string(plan)), 1);
}

TEST_P(AdminCatalogE2E, TrialTextsAndAdminsApplyAtOnce) {
  // The trial off: the menu loses its button.
  start_and_wait(bob_);
  ASSERT_TRUE(find_button(bob_, "Free trial"));
  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Settings", "Free trial: on");
  press_to(owner_, "Free trial", "Saved");
  EXPECT_EQ(
      text_of("SELECT value AS v FROM settings WHERE key = 'trial'").find("\"enabled\":false") != std::string::npos,
      true);
  start_and_wait(bob_);
  EXPECT_FALSE(has_button(bob_, "Free trial", newest_keyboard(bob_)));

  // A new English menu text, seen at once; reset, the default is back.
  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Texts", "Which text");
  press_to(owner_, "Main menu text", "Placeholders you can use: {name}");
  press_to(owner_, "English", "Send the new text");
  say(owner_, "Hello {nam}!", "means nothing here");
  press_to(owner_, "English", "Send the new text");  // the flow ended; start it again
  say(owner_, "Hello {name}, pick something from our new menu!", "Saved");
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM texts WHERE lang = 'en' AND key = 'shop.menu.text'"), 1);
  command(bob_, "start", "Hello Bob, pick something from our new menu!");
  press(owner_, "Back");
  press_to(owner_, "Default (en)", "back to its default");
  EXPECT_EQ(scalar("SELECT count(*) AS v FROM texts"), 0);
  start_and_wait(bob_);  // "Hi Bob" again

  // Alice becomes an admin: /admin opens for her.
  command(owner_, "admin", "Shop admin");
  press(owner_, "Settings");
  press_to(owner_, "Admins", "Admins and roles");
  EXPECT_FALSE(find_button(owner_, "❌ " + std::to_string(owner_)).has_value());  // the owner stays
  press_to(owner_, "Add an admin", "numeric Telegram id");
  say(owner_, "alice", "isn't accepted");
  say(owner_, std::to_string(alice_), "Which role?");
  press_to(owner_, "admin", "Saved");
  command(alice_, "admin", "مدیریت فروشگاه");
  auto catalog = find_button(alice_, "پلن");
  ASSERT_TRUE(catalog);
  // Support role: the catalog is closed to her, even through the button she still has.
  press(owner_, "Back");
  press_to(owner_, "Add an admin", "numeric Telegram id");
  say(owner_, std::to_string(alice_), "Which role?");
  press_to(owner_, "support", "Saved");
  auto q = emulator_->press_button(alice_, "vpn_shop_bot", catalog->first, catalog->second);
  ASSERT_TRUE(q);
  EXPECT_NE(answer_text(*q).find("اجازه"), std::string::npos);
  command(alice_, "admin", "مدیریت فروشگاه");
  EXPECT_FALSE(has_button(alice_, "پلن", newest_keyboard(alice_)));
  EXPECT_NE(text_of("SELECT value AS v FROM settings WHERE key = 'admins'").find("support"), std::string::npos);
  // Removed: /admin is just the menu for her.
  press(owner_, "Back");
  press_to(owner_, "❌ " + std::to_string(alice_), "Saved");
  command(alice_, "admin", "سلام");
}

TEST_P(AdminCatalogE2E, PaymentMethodsAndChannels) {
  std::atomic<int> changed{0};
  restart_with([&](ShopDeps& d) { d.on_payment_methods_changed = [&] { ++changed; }; });
  command(owner_, "admin", "Shop admin");
  press_to(owner_, "Payment methods", "Card to card: off");
  EXPECT_TRUE(saw(owner_, "set from the web panel"));
  // Card to card cannot be on without a card.
  auto q = press(owner_, "Card to card");
  EXPECT_NE(answer_text(q).find("card number"), std::string::npos);
  press_to(owner_, "Card number", "16-digit card number");
  say(owner_, "1234", "16 digits");
  say(owner_, "6037 9911 2222 3333", "holder's name");
  say(owner_, "Sara Karimi", "Card to card is on with card 6037991122223333");
  press(owner_, "Back");
  press_to(owner_, "Telegram Stars", "is on");
  EXPECT_EQ(changed.load(), 2);
  EXPECT_EQ(scalar("SELECT enabled AS v FROM payment_methods WHERE provider = 'telegram_stars'"), 1);
  // What the app's PaymentRegistry builds from these rows.
  payments::PaymentRegistry registry(*storage_, http_, clock_, payments::GatewayUrls{},
                                     [](const std::string&) -> Result<std::string> { return std::string("{}"); });
  auto providers = registry.load_providers(*db_, kTenant);
  ASSERT_TRUE(providers) << providers.error().to_string();
  std::set<domain::PaymentMethod> methods;
  for (const auto& p : *providers) methods.insert(p->method());
  EXPECT_EQ(methods, (std::set{domain::PaymentMethod::kCardToCard, domain::PaymentMethod::kTelegramStars}));
  EXPECT_NE(text_of("SELECT config AS v FROM payment_methods WHERE provider = 'card_to_card'").find("Sara Karimi"),
            std::string::npos);

  // A channel where the bot is not an admin is refused; once it is, people must join it.
  auto channel = emulator_->create_chat("channel", "Shop News", "shop_news", owner_);
  ASSERT_TRUE(channel) << channel.error().to_string();
  const std::int64_t channel_id = (*channel)["id"];
  command(owner_, "admin", "Shop admin");
  press(owner_, "Settings");
  press_to(owner_, "Channels", "No channel is required");
  press_to(owner_, "Add a channel", "forward a post");
  say(owner_, "@shop_news", "not an admin");
  ASSERT_TRUE(emulator_->add_bot_to_chat(channel_id, "vpn_shop_bot", true));
  press(owner_, "Add a channel");
  say(owner_, "@shop_news", "Saved");
  EXPECT_NE(text_of("SELECT value AS v FROM settings WHERE key = 'channels'").find(std::to_string(channel_id)),
            std::string::npos);
  command(bob_, "start", "join the channels below");
  ASSERT_TRUE(emulator_->join_chat(channel_id, bob_));
  press_to(bob_, "joined", "Welcome to the shop");
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminCatalogE2E,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::shop::testing
