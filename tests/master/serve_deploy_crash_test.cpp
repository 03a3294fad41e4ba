// A process killed mid-deployment resumes and finishes: the real `mothership serve` (a child
// process, tests/support/serve_process.hpp) runs the master bot; Telegram (the sandbox
// emulator) lives in this test process, so it outlives serve as the real one would. A customer
// with a package creates a shop bot through the master bot's wizard, and serve gets SIGKILL
// while the deployment pipeline waits on one of its real Bot API calls:
//   * getMe of the shop's token (the token step, before the tenant database exists),
//   * setMyCommands (the configure step, after the tenant database was made).
// After a restart on the same data the deployment finishes exactly once: the instance runs,
// each step is recorded once as done (the interrupted one with two attempts), one tenant
// database, the owner's ONE progress message ends "is live", and the shop answers /start.
// On SQLite and PostgreSQL.
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "serve_fixture.hpp"

namespace ms::master::testing {
namespace {

constexpr const char* kShop = "resumed_shop_bot";

class ServeDeployCrash : public ServeMasterTest {
 protected:
  void SetUp() override {
    make_serve();
    if (IsSkipped() || HasFatalFailure()) return;
    auto shop = emulator_->create_bot(kShop, "VPN Shop");
    ASSERT_TRUE(shop) << shop.error().to_string();
    shop_token_value_ = shop->token;
    owner_ = person("Owner");
    carol_ = person("Carol");
    ASSERT_TRUE(start_serve());
  }

  // Every Bot API call of the shop's token is logged; the armed one kills serve while the
  // pipeline waits on it (once the owner's progress message is on record, so the kill lands
  // in the pipeline and not in the wizard's last turn).
  void on_bot_api(const std::string& path) override {
    std::string method;
    bool kill = false;
    {
      std::lock_guard lock(mu_);
      if (shop_token_.empty() || path.find("/bot" + lower(shop_token_) + "/") == std::string::npos) return;
      method = path.substr(path.rfind('/') + 1);
      shop_calls_.push_back(method);
      kill = !kill_on_.empty() && method == kill_on_;
    }
    if (kill && !killed_.exchange(true)) {
      (void)eventually([&] { return progress_rows() == 1; }, 10s);
      (void)serve_->kill();
    }
  }

  // The owner's messages about the deployment of the shop: there must be one.
  std::vector<json> progress_messages() {
    std::vector<json> found;
    for (const auto& m : messages(owner_)) {
      const auto text = m["message"].value("text", "");
      if (m.value("from_bot", false) && (text.find(std::string("Deploying @") + kShop) != std::string::npos ||
                                         text.find(std::string("@") + kShop + " is live") != std::string::npos))
        found.push_back(m);
    }
    return found;
  }
  std::int64_t progress_rows() {
    auto v = storage_->master().with_session([&](storage::Session& s) -> Result<std::int64_t> {
      auto row = s.query_one("SELECT count(*) AS v FROM master_bot_progress");
      if (!row) return fail(std::move(row.error()));
      return (*row)->get_int("v");
    });
    return v ? *v : -1;
  }
  int calls(const std::string& method) {
    std::lock_guard lock(mu_);
    return static_cast<int>(std::count(shop_calls_.begin(), shop_calls_.end(), lower(method)));
  }

  // The owner: English, a Starter package, then the wizard up to its last answer; the
  // deployment is requested by that answer.
  void create_through_the_wizard() {
    enter_en(owner_);
    give_package(owner_, SystemClock::instance().unix_seconds() + 30 * 86400);
    press_to(owner_, "Create a bot", "Send your bot's token");
    say(owner_, shop_token_value_, std::string("Found your bot @") + kShop);
    {
      std::lock_guard lock(mu_);
      shop_token_ = shop_token_value_;  // from here on the shop's calls are the pipeline's
    }
    press_to(owner_, "Only me", "Send the channel");
    press_to(owner_, "No channel", "Marzban panel's address");
  }

  // Kills serve while the pipeline waits on `method`, restarts it and checks that the
  // deployment finished exactly once. `interrupted` is the step that call belongs to.
  void kill_and_resume(const std::string& method, const std::string& interrupted, bool tenant_made_before_kill) {
    create_through_the_wizard();
    {
      std::lock_guard lock(mu_);
      kill_on_ = lower(method);
    }
    press_to(owner_, "Skip the panel", std::string("Deploying @") + kShop);
    ASSERT_TRUE(eventually([&] { return killed_.load() && !serve_->running(); }, 60s)) << serve_->log();
    const std::int64_t instance = scalar("SELECT max(id) AS v FROM bot_instances");
    ASSERT_GT(instance, 0);
    const std::string of_instance = " FROM deployment_steps WHERE instance_id = " + std::to_string(instance);
    EXPECT_EQ(text("SELECT status AS v" + of_instance + " AND step = '" + interrupted + "'"), "started");
    EXPECT_EQ(scalar("SELECT count(*) AS v" + of_instance + " AND step = 'healthy'"), 0);
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM tenants"), tenant_made_before_kill ? 1 : 0);
    EXPECT_NE(text("SELECT status AS v FROM bot_instances WHERE id = " + std::to_string(instance)), "running");

    ASSERT_TRUE(start_serve());
    // The job's lease of the killed process runs out (a minute), then the deployment resumes.
    ASSERT_TRUE(eventually(
        [&] {
          return text("SELECT status AS v FROM bot_instances WHERE id = " + std::to_string(instance)) == "running";
        },
        150s))
        << "log " << serve_->log_path() << ":\n"
        << serve_->log();
    ASSERT_TRUE(eventually([&] {
      auto p = progress_messages();
      return p.size() == 1 &&
             p[0]["message"].value("text", "").find(std::string("@") + kShop + " is live") != std::string::npos;
    })) << messages(owner_).dump().substr(0, 6000);

    // The shop answers a newcomer with its menu.
    const auto before = messages(carol_, kShop).size();
    ASSERT_TRUE(emulator_->send_command(carol_, kShop, "start"));
    ASSERT_TRUE(eventually([&] { return saw_button_since(carol_, before, "Buy a service", kShop); }))
        << messages(carol_, kShop).dump().substr(0, 2000);

    auto stopped = serve_->stop();
    ASSERT_TRUE(stopped) << stopped.error().to_string();
    EXPECT_EQ(*stopped, 0) << serve_->log();

    // Each step once, done, by one deployment job; the interrupted one took two attempts.
    EXPECT_EQ(scalar("SELECT count(DISTINCT job_id) AS v" + of_instance), 1);
    for (const char* step : {"token_verified", "tenant_ready", "configured", "started", "healthy"}) {
      const std::string of_step = of_instance + " AND step = '" + step + "'";
      EXPECT_EQ(scalar("SELECT count(*) AS v" + of_step), 1) << step;
      EXPECT_EQ(text("SELECT status AS v" + of_step), "done") << step;
      EXPECT_EQ(scalar("SELECT attempts AS v" + of_step), step == interrupted ? 2 : 1) << step;
    }
    EXPECT_EQ(scalar("SELECT count(*) AS v FROM bot_instances"), 1);
    EXPECT_GE(scalar("SELECT deploy_ms AS v FROM bot_instances WHERE id = " + std::to_string(instance)), 0);
    // One tenant database, the customer's.
    auto tenants = storage_->list_tenants();
    ASSERT_TRUE(tenants) << tenants.error().to_string();
    ASSERT_EQ(tenants->size(), 1u);
    EXPECT_EQ(scalar("SELECT tenant_id AS v FROM customers WHERE telegram_id = " + std::to_string(owner_)),
              (*tenants)[0]);
    // One progress message, finished, edited along the way.
    auto p = progress_messages();
    ASSERT_EQ(p.size(), 1u) << messages(owner_).dump().substr(0, 6000);
    EXPECT_NE(p[0]["message"].value("text", "").find(std::string("https://t.me/") + kShop), std::string::npos);
    EXPECT_EQ(scalar("SELECT finished AS v FROM master_bot_progress WHERE instance_id = " + std::to_string(instance)),
              1);
    EXPECT_GE(calls(method), 2) << "the held call, then the resumed one";
    EXPECT_EQ(serve_->starts(), 2);
  }

  std::string shop_token_value_;
  std::string shop_token_;  // guarded by mu_: set once the pipeline's calls begin
  std::string kill_on_;     // guarded by mu_
  std::atomic<bool> killed_{false};
  std::mutex mu_;
  std::vector<std::string> shop_calls_;
  std::int64_t owner_ = 0, carol_ = 0;
};

TEST_P(ServeDeployCrash, KilledWhileTheTokenIsVerifiedBeforeTheTenantExists) {
  kill_and_resume("getMe", "token_verified", false);
}

TEST_P(ServeDeployCrash, KilledWhileTheBotIsConfiguredAfterTheTenantWasMade) {
  kill_and_resume("setMyCommands", "configured", true);
}

INSTANTIATE_TEST_SUITE_P(Backends, ServeDeployCrash,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres), backend_name);

}  // namespace
}  // namespace ms::master::testing
