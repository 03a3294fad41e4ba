// Issue 7 end to end, through the REAL deployment pipeline: a new customer starts the master
// bot, buys a package by card to card (an operator approves the receipt in the master bot),
// creates a shop bot in the wizard (a new sandbox bot, no channel, the strict Marzban test
// panel), the DeployPipeline (durable jobs on the master database) deploys it with the
// `inprocess` backend, or the `process` backend (a `mothership runner` child polling this
// test's emulator over loopback), and the deployed shop bot sells a plan to an end user: the
// owner adds the plan and card to card in the shop's /admin, the end user pays, the owner
// approves, the Marzban test panel gets one account and the end user the link and the QR.
// Then the bot's token is revoked at Telegram while it runs: the instance fails with a reason,
// the owner is told in the master bot in their language, and nothing retries in a hot loop.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "app/app.hpp"
#include "deploy/inprocess/inprocess_deployer.hpp"
#include "deploy/pipeline.hpp"
#include "deploy/process/process_deployer.hpp"
#include "jobs/jobs.hpp"
#include "master_fixture.hpp"
#include "payments/registry.hpp"
#include "bots/shop/host.hpp"

namespace ms::master::testing {
namespace {

namespace fs = std::filesystem;

class MasterDeployE2E : public MasterTest {
 protected:
  static constexpr const char* kShop = "erins_vpn_bot";

  virtual deploy::Backend backend() const = 0;

  deploy::Deployments& deployments_for_bot() override {
    registry_ = std::make_unique<payments::PaymentRegistry>(
        *storage_, http_, SystemClock::instance(), payments::GatewayUrls{},
        [this](const std::string& envelope) { return crypto::decrypt(keyring_, envelope); });
    jobs::RunnerOptions jo;
    jo.lease = 5s;
    jo.backoff_base = 200ms;
    jo.poll_every = 20ms;
    jo.max_parallel = 2;
    jobs_ = std::make_unique<jobs::JobRunner>(*master_, SystemClock::instance(), jo);
    deploy::PipelineOptions po;
    po.telegram_api_url = base_url();
    po.health_wait = 20s;
    pipeline_ =
        std::make_unique<deploy::DeployPipeline>(*storage_, keyring_, http_, *jobs_, SystemClock::instance(), po);
    if (backend() == deploy::Backend::kInProcess) {
      host_ = std::make_unique<shop::ShopHost>(*storage_, *registry_, box_, http_, *runtime_, SystemClock::instance());
      inprocess_ = std::make_unique<deploy::InProcessDeployer>(*host_, *runtime_, SystemClock::instance());
      pipeline_->add_backend(*inprocess_);
    } else {
      // The runner opens the same databases and the same key as this test.
      scratch_ = fs::temp_directory_path() /
                 ("ms_master_deploy_" + std::to_string(::getpid()) + "_" + std::string(storage::to_string(GetParam())));
      fs::remove_all(scratch_);
      fs::create_directories(scratch_);
      const auto options = place_->options();
      Config config;
      config.data_dir = options.data_dir.empty() ? (scratch_ / "data").string() : options.data_dir;
      config.database_url = options.url;
      config.secret_key_file = (scratch_ / "secret.key").string();
      EXPECT_TRUE(crypto::save_key_file(config.secret_key_file, keyring_));
      auto o = app::process_deployer_options(config, base_url());
      o.binary = MS_MOTHERSHIP_BIN;
      o.extra_args = {"--heartbeat-ms", "300"};
      o.initial_backoff = 200ms;
      o.tick = 50ms;
      process_ = std::make_unique<deploy::ProcessDeployer>(o, master_);
      pipeline_->add_backend(*process_);
    }
    jobs_->start(pool_, timers_);
    return *pipeline_;
  }
  void customize(MasterOptions& o) override { o.backend = backend(); }

  void TearDown() override {
    if (jobs_) jobs_->stop();
    // The shops leave the runtime before it goes; the pipeline before the backends.
    process_.reset();
    host_.reset();
    runtime_.reset();
    bot_.reset();
    pipeline_.reset();
    inprocess_.reset();
    jobs_.reset();
    registry_.reset();
    MasterTest::TearDown();
    if (!scratch_.empty()) fs::remove_all(scratch_);
  }

  std::string text_of(const std::string& sql) {
    auto v = master_->with_session([&](storage::Session& s) -> Result<std::string> {
      auto row = s.query_one(sql);
      if (!row) return fail(std::move(row.error()));
      if (!*row || (*row)->is_null("v")) return std::string("<null>");
      return (*row)->get_string("v");
    });
    EXPECT_TRUE(v) << v.error().to_string();
    return v ? *v : "";
  }
  std::shared_ptr<storage::Database> tenant_of(std::int64_t customer) {
    const auto tenant = scalar("SELECT tenant_id AS v FROM customers WHERE id = " + std::to_string(customer));
    auto db = storage_->tenant(tenant);
    EXPECT_TRUE(db) << db.error().to_string();
    return db ? *db : nullptr;
  }
  static std::int64_t tenant_scalar(storage::Database& db, const std::string& sql) {
    return storage::testing::scalar(db, sql);
  }

  // The one master-bot message about the deployment of the shop.
  std::optional<json> progress_message(std::int64_t who) {
    std::optional<json> found;
    for (const auto& m : messages(who)) {
      const auto text = m["message"].value("text", "");
      if (m.value("from_bot", false) && (text.find(std::string("Deploying @") + kShop) != std::string::npos ||
                                         text.find(std::string("@") + kShop + " is live") != std::string::npos)) {
        EXPECT_FALSE(found.has_value()) << "a second progress message";
        found = m;
      }
    }
    return found;
  }

  // The whole way from /start to a plan sold by the deployed shop. Returns the instance id.
  std::int64_t buy_deploy_and_sell() {
    const std::int64_t erin = person("Erin", "en");  // the customer, later the shop's owner
    const std::int64_t dan = person("Dan", "en");    // an end user of Erin's shop

    // 1. The package: card to card, the operator approves the receipt in the master bot.
    enter_en(erin);
    press(erin, "Packages");
    press(erin, "Starter");
    press_to(erin, "Buy monthly", "Order #");
    press_to(erin, "Card to card", "6037990000005678");
    EXPECT_TRUE(emulator_->send_photo(erin, kBot, shop_picture(), "receipt"));
    EXPECT_TRUE(wait_saw(erin, "We got your receipt"));
    EXPECT_TRUE(wait_saw(operator_, "Receipt for payment"));
    press(operator_, "Approve");
    EXPECT_TRUE(wait_saw(erin, "package is active until"));
    const auto customer = customer_id(erin);

    // 2. The wizard: a new bot's token, only the owner as admin, no channel, the Marzban panel.
    auto made = emulator_->create_bot(kShop, "Erin VPN");
    EXPECT_TRUE(made);
    if (!made) return 0;
    shop_token_ = made->token;
    press_to(erin, "Create a bot", "Send your bot's token");
    say(erin, made->token, std::string("Found your bot @") + kShop);
    press_to(erin, "Only me", "Send the channel");
    press_to(erin, "No channel", "Marzban panel's address");
    say(erin, marzban_->base_url(), "admin username");
    say(erin, "admin", "admin password");
    say(erin, "admin", "The panel works");

    // 3. The pipeline deploys it; the one progress message ends "is live" with the link.
    EXPECT_TRUE(eventually(
        [&] {
          auto m = progress_message(erin);
          return m && (*m)["message"].value("text", "").find("is live") != std::string::npos;
        },
        60s))
        << chat(erin).dump().substr(0, 6000);
    auto progress = progress_message(erin);
    EXPECT_TRUE(progress);
    if (!progress) return 0;
    const auto final_text = (*progress)["message"].value("text", "");
    EXPECT_NE(final_text.find(std::string("https://t.me/") + kShop), std::string::npos) << final_text;
    // Edited step by step: every earlier text is a deployment text, and there were several.
    const auto edits = (*progress).value("edits", json::array());
    EXPECT_GE(edits.size(), 3u) << progress->dump();
    for (const auto& e : edits) EXPECT_NE(e.get<std::string>().find(kShop), std::string::npos) << e;

    const auto id = scalar(std::string("SELECT id AS v FROM bot_instances WHERE bot_username = '") + kShop + "'");
    EXPECT_GT(id, 0);
    const auto sid = std::to_string(id);
    EXPECT_EQ(text_of("SELECT status AS v FROM bot_instances WHERE id = " + sid), "running");
    EXPECT_EQ(text_of("SELECT deploy_backend AS v FROM bot_instances WHERE id = " + sid),
              std::string(deploy::to_string(backend())));
    EXPECT_GT(scalar("SELECT deploy_ms AS v FROM bot_instances WHERE id = " + sid), 0);
    EXPECT_GT(scalar("SELECT started_at AS v FROM bot_instances WHERE id = " + sid), 0);
    EXPECT_EQ(scalar("SELECT customer_id AS v FROM bot_instances WHERE id = " + sid), customer);
    // A deployment_steps row per step, each done with its times.
    for (const char* step : {"token_verified", "tenant_ready", "configured", "started", "healthy"}) {
      const std::string where = " FROM deployment_steps WHERE instance_id = " + sid + " AND step = '" + step + "'";
      EXPECT_EQ(scalar("SELECT count(*) AS v" + where + " AND status = 'done'"), 1) << step;
      EXPECT_GT(scalar("SELECT finished_at_ms AS v" + where), 0) << step;
      EXPECT_LE(scalar("SELECT started_at_ms AS v" + where), scalar("SELECT finished_at_ms AS v" + where)) << step;
    }

    // 4. The deployed shop answers its owner; the owner adds a plan and card to card.
    command(erin, "start", "Welcome to the shop", kShop);
    command(erin, "admin", "Shop admin", kShop);
    press_to(erin, "Plans and servers", "Marzban", kShop);
    press_to(erin, "Marzban", "Version:", kShop);
    press_to(erin, "Add a plan", "Send the plan's name", kShop);
    say(erin, "Monthly 30GB", "length in days", kShop);
    say(erin, "30", "Traffic in GB", kShop);
    say(erin, "30", "price in Toman", kShop);
    say(erin, "90,000", "short description", kShop);
    say(erin, "-", "What is this plan?", kShop);
    press_to(erin, "Service", "Plan \"Monthly 30GB\" added", kShop);
    command(erin, "admin", "Shop admin", kShop);
    press_to(erin, "Payment methods", "Card to card: off", kShop);
    press_to(erin, "Card number", "16-digit card number", kShop);
    say(erin, "6037 9911 2222 3333", "holder's name", kShop);
    say(erin, "Erin Doe", "Card to card is on", kShop);

    // 5. An end user buys the plan by card to card; the owner approves in the shop bot.
    command(dan, "start", "Welcome to the shop", kShop);
    press(dan, "Buy", kShop);
    press(dan, "Marzban", kShop);
    press_to(dan, "Monthly 30GB", "Your order", kShop);
    press_to(dan, "Card to card", "6037991122223333", kShop);
    EXPECT_TRUE(emulator_->send_photo(dan, kShop, shop_picture(), "receipt"));
    EXPECT_TRUE(eventually([&] { return find_button(erin, "Approve", kShop).has_value(); }));
    press(erin, "Approve", kShop);
    EXPECT_TRUE(wait_saw(dan, "is ready", kShop)) << chat(dan, kShop).dump().substr(0, 4000);
    EXPECT_TRUE(eventually([&] {
      int photos = 0;
      for (const auto& m : messages(dan, kShop)) photos += m.value("from_bot", false) && m["message"].contains("photo");
      return photos == 1;  // the QR code
    }));
    EXPECT_EQ(marzban_->user_count(), 1u);
    auto tenant = tenant_of(customer);
    if (tenant) {
      // The order is marked completed right after the delivery message.
      EXPECT_TRUE(eventually(
          [&] { return tenant_scalar(*tenant, "SELECT count(*) AS v FROM orders WHERE status = 'completed'") == 1; }));
      EXPECT_EQ(tenant_scalar(*tenant, "SELECT count(*) AS v FROM services WHERE status = 'active'"), 1);
      auto url = tenant->with_session([](storage::Session& s) -> Result<std::string> {
        auto row = s.query_one("SELECT subscription_url FROM services");
        if (!row) return fail(std::move(row.error()));
        if (!*row) return fail(ErrorCode::kNotFound, "no service");
        return (*row)->get_string("subscription_url");
      });
      EXPECT_TRUE(url) << url.error().to_string();
      if (url) {
        EXPECT_NE(url->find(marzban_->base_url()), std::string::npos);
        EXPECT_GT(count_saw(dan, *url, kShop), 0);
      }
    }
    owner_ = erin;
    return id;
  }

  // Telegram revokes the running shop's token (the owner pressed "Revoke" at @BotFather):
  // the watch serve runs every few seconds fails the instance with the reason, the owner is
  // told once in the master bot, and nothing keeps calling Telegram with the dead token.
  void revoke_while_running(std::int64_t id) {
    const auto sid = std::to_string(id);
    ASSERT_TRUE(emulator_->revoke_token(kShop));
    // The bot sees 401 on its next getUpdates; the watch then fails the instance.
    ASSERT_TRUE(eventually(
        [&] {
          auto failed = pipeline_->check_running();
          EXPECT_TRUE(failed) << failed.error().to_string();
          return text_of("SELECT status AS v FROM bot_instances WHERE id = " + sid) == "failed";
        },
        30s))
        << text_of("SELECT status AS v FROM bot_instances WHERE id = " + sid);
    EXPECT_NE(text_of("SELECT last_error AS v FROM bot_instances WHERE id = " + sid).find("refused the bot token"),
              std::string::npos);
    ASSERT_TRUE(wait_saw(owner_, "has stopped: Telegram no longer accepts its token"))
        << chat(owner_).dump().substr(0, 4000);
    EXPECT_TRUE(wait_saw(owner_, std::string("@") + kShop + " has stopped"));
    // The backend no longer runs it and does not restart it.
    if (inprocess_) {
      const auto running = inprocess_->running();
      EXPECT_EQ(std::count(running.begin(), running.end(), id), 0);
    }
    if (process_) {
      EXPECT_TRUE(eventually([&] { return !process_->pid(id).has_value(); }));
    }
    // No hot loop: a few seconds later Telegram has seen (almost) no more calls with the old
    // token, the watch finds nothing new and the owner was told once.
    const auto refused = emulator_->unauthorized_calls(shop_token_);
    EXPECT_GE(refused, 1);
    std::this_thread::sleep_for(3s);
    auto again = pipeline_->check_running();
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 0);
    EXPECT_LE(emulator_->unauthorized_calls(shop_token_) - refused, 1);
    if (process_) {
      EXPECT_FALSE(process_->pid(id).has_value());
    }
    EXPECT_EQ(text_of("SELECT status AS v FROM bot_instances WHERE id = " + sid), "failed");
    EXPECT_EQ(count_saw(owner_, "has stopped"), 1);
    // The bot's card gives the reason in the owner's words, not the pipeline's English detail.
    const auto before = message_count(owner_);
    command(owner_, "mybots", "Your bots:");
    press_to(owner_, "🤖 @" + std::string(kShop), "Telegram refuses the bot's token (revoked or changed)");
    EXPECT_FALSE(saw_since(owner_, before, "(revoked or wrong)")) << chat(owner_).dump().substr(0, 4000);
  }

  std::string shop_token_;
  std::unique_ptr<payments::PaymentRegistry> registry_;
  std::unique_ptr<jobs::JobRunner> jobs_;
  std::unique_ptr<shop::ShopHost> host_;
  std::unique_ptr<deploy::InProcessDeployer> inprocess_;
  std::unique_ptr<deploy::ProcessDeployer> process_;
  std::unique_ptr<deploy::DeployPipeline> pipeline_;
  fs::path scratch_;
  std::int64_t owner_ = 0;
};

class MasterDeployInProcess : public MasterDeployE2E {
  deploy::Backend backend() const override { return deploy::Backend::kInProcess; }
};
class MasterDeployProcess : public MasterDeployE2E {
  deploy::Backend backend() const override { return deploy::Backend::kProcess; }
};

// One test per backend: the whole way from /start to a plan sold, then the token revoked.
TEST_P(MasterDeployInProcess, NewCustomerToShopSaleThenTokenRevoked) {
  const auto id = buy_deploy_and_sell();
  ASSERT_GT(id, 0);
  ASSERT_FALSE(HasFailure());
  revoke_while_running(id);
}
TEST_P(MasterDeployProcess, NewCustomerToShopSaleThenTokenRevoked) {
  const auto id = buy_deploy_and_sell();
  ASSERT_GT(id, 0);
  ASSERT_FALSE(HasFailure());
  revoke_while_running(id);
}

INSTANTIATE_TEST_SUITE_P(Backends, MasterDeployInProcess,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         [](const auto& info) { return std::string(storage::to_string(info.param)); });
INSTANTIATE_TEST_SUITE_P(Backends, MasterDeployProcess,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         [](const auto& info) { return std::string(storage::to_string(info.param)); });

}  // namespace
}  // namespace ms::master::testing
