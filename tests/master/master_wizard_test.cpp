// The create-a-bot wizard and "my bots" end to end: every check the wizard makes (no package,
// a bad token, a token Telegram refuses, a token in use, a channel where the bot is not an
// admin, a panel whose probe fails, then skipped), the ONE progress message edited from the
// pipeline's events up to "is live", the first panel stored into the tenant once it is
// ready, and the actions on a bot.
#include "master_fixture.hpp"
#include "panels/panel_repository.hpp"
#include "bots/shop/settings.hpp"

namespace ms::master::testing {
namespace {

class MasterWizard : public MasterTest {
 protected:
  // The one message that mentions the deployment of @`bot`: {message_id, text, edits}.
  std::optional<json> progress_message(std::int64_t who, const std::string& bot) {
    std::optional<json> found;
    for (const auto& m : messages(who)) {
      const auto text = m["message"].value("text", "");
      if (m.value("from_bot", false) && (text.find("Deploying @" + bot) != std::string::npos ||
                                         text.find("@" + bot + " is live") != std::string::npos)) {
        EXPECT_FALSE(found.has_value()) << "a second progress message";
        found = m;
      }
    }
    return found;
  }
  std::int64_t instance_of(const std::string& username) {
    for (const auto& c : deployments_.calls()) {
      if (c.what == "create") {
        auto st = deployments_.status(c.instance_id);
        if (st && st->bot_username == username) return c.instance_id;
      }
    }
    return 0;
  }
  std::string new_bot(const std::string& username) {
    auto b = emulator_->create_bot(username, "Shop");
    EXPECT_TRUE(b);
    deployments_.name_token(b->token, username);
    return b ? b->token : "";
  }
};

TEST_P(MasterWizard, ChecksEveryAnswerThenDeploysWithOneEditedMessage) {
  enter_en(bob_);
  // No package yet: refused with a way to buy one.
  press_to(bob_, "Create a bot", "buy a package first");
  give_package(bob_);
  press_to(bob_, "Create a bot", "Send your bot's token");
  say(bob_, "not a token", "does not look like a bot token");
  say(bob_, "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Telegram does not accept this token");
  const std::string token = new_bot("bobs_shop_bot");
  say(bob_, token, "Found your bot @bobs_shop_bot");
  // The token was deleted from the chat.
  EXPECT_EQ(messages(bob_).dump().find(token), std::string::npos);
  press_to(bob_, "Only me", "Send the channel");
  // A channel where the bot is not an admin is refused; then none.
  auto channel = emulator_->create_chat("channel", "News", "bobs_news", bob_);
  ASSERT_TRUE(channel);
  say(bob_, "@bobs_news", "is not an admin of @bobs_news");
  press_to(bob_, "No channel", "Marzban panel's address");
  // A panel that does not answer: the probe fails, the password message is gone, skip it.
  say(bob_, "http://127.0.0.1:1", "admin username");
  say(bob_, "admin", "admin password");
  say(bob_, "s3cret-pass", "The panel test failed");
  EXPECT_EQ(messages(bob_).dump().find("s3cret-pass"), std::string::npos);
  press_to(bob_, "Skip the panel", "Deploying @bobs_shop_bot");

  const auto id = instance_of("bobs_shop_bot");
  ASSERT_GT(id, 0);
  auto spec = deployments_.spec(id);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->token, token);
  EXPECT_EQ(spec->owner_telegram_id, bob_);
  EXPECT_TRUE(spec->admin_ids.empty());
  EXPECT_EQ(spec->channel, "");

  using deploy::Step;
  using deploy::StepStatus;
  deployments_.emit(id, Step::kTokenVerified, StepStatus::kDone);
  // The pipeline's English reason is told as what it means, in the owner's language.
  deployments_.emit(id, Step::kTenantReady, StepStatus::kRetrying, {},
                    "setMyCommands: Telegram did not answer: 502 Bad Gateway");
  ASSERT_TRUE(eventually([&] {
    auto m = progress_message(bob_, "bobs_shop_bot");
    return m && (*m)["message"].value("text", "").find("attempt 1: Telegram did not answer.") != std::string::npos;
  }));
  EXPECT_EQ(progress_message(bob_, "bobs_shop_bot")->dump().find("502"), std::string::npos);
  deployments_.emit(id, Step::kTenantReady, StepStatus::kDone);
  deployments_.emit(id, Step::kConfigured, StepStatus::kDone);
  deployments_.emit(id, Step::kStarted, StepStatus::kDone);
  deployments_.emit(id, Step::kHealthy, StepStatus::kDone, 1234);
  ASSERT_TRUE(eventually([&] {
    auto m = progress_message(bob_, "bobs_shop_bot");
    return m && (*m)["message"].value("text", "").find("@bobs_shop_bot is live") != std::string::npos;
  }));
  auto m = progress_message(bob_, "bobs_shop_bot");
  ASSERT_TRUE(m);
  EXPECT_NE((*m)["message"].value("text", "").find("https://t.me/bobs_shop_bot"), std::string::npos);
  EXPECT_NE((*m)["message"].value("text", "").find("1.2"), std::string::npos);
  EXPECT_GE((*m).value("edits", json::array()).size(), 2u);
  EXPECT_EQ(scalar("SELECT finished AS v FROM master_bot_progress WHERE instance_id = " + std::to_string(id)), 1);

  // Starter allows one bot: a second is refused with the limit.
  command(bob_, "menu", "Your package");
  press_to(bob_, "Create a bot", "Starter package allows 1 bots");
  // With room for more, the same token again is refused: another instance uses it.
  ASSERT_TRUE(master_->with_session([&](storage::Session& s) {
    return s.exec("UPDATE subscriptions SET package_id = (SELECT id FROM packages WHERE code = 'professional')");
  }));
  const auto asked = messages(bob_).size();
  press(bob_, "Create a bot");
  ASSERT_TRUE(eventually([&] { return saw_since(bob_, asked, "Send your bot's token"); }));
  const auto before = messages(bob_).size();
  ASSERT_TRUE(emulator_->send_text(bob_, kBot, token));
  ASSERT_TRUE(
      eventually([&] { return saw_since(bob_, before, "Found your bot") || saw_since(bob_, before, "already uses"); }));
  if (!saw_since(bob_, before, "already uses")) {
    press(bob_, "Only me");
    press(bob_, "No channel");
    press_to(bob_, "Skip the panel", "Another bot on Mothership already uses this token");
  }
}

TEST_P(MasterWizard, FirstPanelReachesTheTenantAndMyBotsActs) {
  enter_en(bob_);
  give_package(bob_, "professional");
  press_to(bob_, "Create a bot", "Send your bot's token");
  const std::string token = new_bot("panel_shop_bot");
  say(bob_, token, "Found your bot");
  say(bob_, "777000111 777000222", "Send the channel");
  // A channel where the bot is an admin passes.
  auto channel = emulator_->create_chat("channel", "News", "panel_news", bob_);
  ASSERT_TRUE(channel);
  ASSERT_TRUE(emulator_->add_bot_to_chat((*channel)["id"].get<std::int64_t>(), "panel_shop_bot", true));
  say(bob_, "@panel_news", "Channel @panel_news is set");
  say(bob_, marzban_->base_url(), "admin username");
  say(bob_, "admin", "admin password");
  say(bob_, "admin", "The panel works");
  ASSERT_TRUE(wait_saw(bob_, "Deploying @panel_shop_bot"));
  const auto id = instance_of("panel_shop_bot");
  ASSERT_GT(id, 0);
  auto spec = deployments_.spec(id);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->admin_ids, (std::vector<std::int64_t>{777000111, 777000222}));
  EXPECT_EQ(spec->channel, "@panel_news");

  // The customer's tenant (made by the pipeline's tenant step; here by hand) gets the panel
  // once the step is done, its password encrypted.
  const std::int64_t tenant = 50 + static_cast<std::int64_t>(GetParam() == storage::Backend::kPostgres);
  auto db = storage_->create_tenant(tenant);
  ASSERT_TRUE(db);
  ASSERT_TRUE(master_->with_session([&](storage::Session& s) {
    return s.exec("UPDATE customers SET tenant_id = :t WHERE telegram_id = :tg", {{"t", tenant}, {"tg", bob_}});
  }));
  shop::ShopSettings settings;
  settings.admins = {{bob_, shop::AdminRole::kOwner}};
  ASSERT_TRUE(shop::save_settings(**db, settings, 1));
  deployments_.emit(id, deploy::Step::kTokenVerified, deploy::StepStatus::kDone);
  deployments_.emit(id, deploy::Step::kTenantReady, deploy::StepStatus::kDone);
  panels::PanelRepository repo(**db, box_);
  ASSERT_TRUE(eventually([&] {
    auto list = repo.list();
    return list && list->size() == 1;
  }));
  auto panels = repo.list();
  EXPECT_EQ((*panels)[0].base_url, marzban_->base_url());
  EXPECT_EQ((*panels)[0].password.reveal(), "admin");
  ASSERT_TRUE(eventually([&] {
    return scalar("SELECT count(*) AS v FROM master_bot_progress WHERE panel_enc IS NULL AND instance_id = " +
                  std::to_string(id)) == 1;
  }));
  deployments_.emit(id, deploy::Step::kHealthy, deploy::StepStatus::kDone, 800);
  ASSERT_TRUE(wait_saw(bob_, "@panel_shop_bot is live"));

  // My bots: the card, stop, admins, delete.
  command(bob_, "mybots", "Your bots");
  press_to(bob_, "@panel_shop_bot", "State: running");
  press(bob_, "Stop");
  ASSERT_TRUE(eventually([&] { return deployments_.called("stop", id); }));
  ASSERT_TRUE(wait_saw(bob_, "State: stopped"));
  press_to(bob_, "Admins", "The bot's admins");
  press_to(bob_, "Add an admin", "new admin's numeric Telegram id");
  say(bob_, "4242", "4242 is now an admin");
  auto saved = shop::load_settings(**db);
  ASSERT_TRUE(saved);
  EXPECT_TRUE(saved->role_of(4242).has_value());
  press(bob_, "➖ 4242");
  ASSERT_TRUE(eventually([&] {
    auto s = shop::load_settings(**db);
    return s && !s->role_of(4242);
  }));
  press_to(bob_, "Back", "State:");
  press_to(bob_, "Delete", "kept for 30 days");
  press(bob_, "Yes, delete it");
  ASSERT_TRUE(eventually([&] { return deployments_.called("remove", id); }));
}

// With the address policy on (the default in production), a panel URL that leads to the
// platform's own machine is refused in the customer's language, before any request.
class MasterWizardAddressPolicy : public MasterWizard {
 protected:
  void customize(MasterOptions& o) override { o.allow_private_panel_addresses = false; }
  std::string bot_texts(std::int64_t who) {
    std::string out;
    for (const auto& m : messages(who))
      if (m.value("from_bot", false)) out += m["message"].value("text", "") + "\n";
    return out;
  }
};

TEST_P(MasterWizardAddressPolicy, APanelOnLoopbackIsRefusedInTheCustomersLanguage) {
  const std::string port = marzban_->base_url().substr(marzban_->base_url().rfind(':') + 1);
  enter_en(bob_);
  give_package(bob_);
  press_to(bob_, "Create a bot", "Send your bot's token");
  say(bob_, new_bot("bobs_shop_bot"), "Found your bot");
  press_to(bob_, "Only me", "Send the channel");
  press_to(bob_, "No channel", "Marzban panel's address");
  say(bob_, marzban_->base_url(), "admin username");  // http://127.0.0.1:<port>
  say(bob_, "admin", "admin password");
  say(bob_, "admin", "This address is not allowed (private network)");
  // 127.0.0.1 as one decimal number is the same address.
  press_to(bob_, "Try again", "Marzban panel's address");
  say(bob_, "http://2130706433:" + port, "admin username");
  say(bob_, "admin", "admin password");
  say(bob_, "admin", "This address is not allowed (private network)");
  EXPECT_TRUE(marzban_->all_hits().empty());
  const std::string seen = bot_texts(bob_);
  EXPECT_EQ(seen.find("loopback"), std::string::npos);
  EXPECT_EQ(seen.find("address not allowed"), std::string::npos);

  command(alice_, "start", "Choose your language");
  press_to(alice_, "فارسی", "مادرشیپ");
  give_package(alice_);
  press_to(alice_, "ساخت ربات", "توکن ربات خود را از @BotFather بفرستید");
  say(alice_, new_bot("alices_shop_bot"), "پیدا شد");
  press_to(alice_, "فقط خودم", "کانالی که کاربران باید عضو آن باشند");
  press_to(alice_, "بدون کانال", "نشانی پنل مرزبان خود را بفرستید");
  say(alice_, "http://[::ffff:127.0.0.1]:" + port, "نام کاربری مدیر پنل");
  say(alice_, "admin", "رمز عبور مدیر پنل");
  say(alice_, "admin", "این آدرس مجاز نیست (شبکهٔ خصوصی یا داخلی)");
  EXPECT_TRUE(marzban_->all_hits().empty());
  const std::string fa = bot_texts(alice_);
  for (const char* english : {"not allowed", "loopback", "127.0.0.1", "login"})
    EXPECT_EQ(fa.find(english), std::string::npos) << english;
}

INSTANTIATE_TEST_SUITE_P(Backends, MasterWizardAddressPolicy,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         [](const auto& info) { return std::string(storage::to_string(info.param)); });

INSTANTIATE_TEST_SUITE_P(Backends, MasterWizard,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         [](const auto& info) { return std::string(storage::to_string(info.param)); });

}  // namespace
}  // namespace ms::master::testing
