// The subscription lifecycle through the real `mothership serve` and its real deployment
// pipeline, with the master bot's clock moved by the test (MOTHERSHIP_TEST_CLOCK_FILE: days
// pass in seconds; serve.cpp). A customer's shop bot (made with `mothership shop create`,
// deployed by serve) lives through: reminders 7, 3 and 1 days before the package ends, the
// grace period (the bot still sells), suspension through the deployer (the shop tells its users
// the service is paused, in their language), renewal with Telegram Stars (the bot sells
// again), then, unrenewed, warnings 7 and 1 days before the data is erased and the erasure
// (tenant database gone, instance deleted). On SQLite and PostgreSQL.
#include <filesystem>
#include <fstream>
#include <future>
#include <random>

#include "domain/subscription_state.hpp"
#include "serve_fixture.hpp"

namespace ms::master::testing {
namespace {

namespace fs = std::filesystem;
constexpr const char* kShop = "lifecycle_shop_bot";
constexpr std::int64_t kDay = 86'400;

class ServeLifecycle : public ServeMasterTest {
 protected:
  void SetUp() override {
    clock_file_ = fs::temp_directory_path() /
                  ("ms-clock-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    set_clock(SystemClock::instance().unix_seconds());
    make_serve({{"MOTHERSHIP_TEST_CLOCK_FILE", clock_file_.string()}});
    if (IsSkipped() || HasFatalFailure()) return;
    auto shop = emulator_->create_bot(kShop, "VPN Shop");
    ASSERT_TRUE(shop) << shop.error().to_string();
    owner_ = person("Owner");
    carol_ = person("Carol", "en");
    dara_ = person("Dara", "fa");

    auto made = serve_->run({"shop", "create", "--token", shop->token, "--owner", std::to_string(owner_), "--name",
                             "Lifecycle shop", "--username", kShop});
    ASSERT_TRUE(made) << made.error().to_string();
    ASSERT_EQ(made->exit_code, 0) << made->output;
    open_storage();
    // Telegram Stars for the master bot's payments; the package ends 8 days from now.
    ASSERT_TRUE(storage_->master().with_session([&](storage::Session& s) {
      return s.exec(
          "INSERT INTO payment_gateways (provider, enabled, config, updated_at) VALUES ('telegram_stars', 1, "
          "'{\"invoice_title\": \"Mothership\"}', :now)",
          {{"now", SystemClock::instance().unix_seconds()}});
    }));
    // Packages are priced in dollars: 50 Stars to the dollar, as an operator would set it.
    ASSERT_TRUE(storage_->master().with_session([&](storage::Session& s) {
      return s.exec(
          "INSERT INTO exchange_rates (base, quote, quote_minor_per_base_major, updated_at) VALUES ('USD', 'XTR', 50, "
          ":now)",
          {{"now", SystemClock::instance().unix_seconds()}});
    }));
    start_ = SystemClock::instance().unix_seconds();
    give_package(owner_, start_ + 8 * kDay);
    instance_ = scalar("SELECT max(id) AS v FROM bot_instances");
    ASSERT_TRUE(start_serve());
    ASSERT_TRUE(eventually([&] { return instance_state(instance_) == "running"; }, 60s)) << serve_->log();
  }

  void TearDown() override {
    ServeMasterTest::TearDown();
    std::error_code ec;
    fs::remove(clock_file_, ec);
  }

  // The master bot's time from now on (the file holds its distance from the real time).
  void set_clock(std::int64_t unix_seconds) {
    std::ofstream out(clock_file_, std::ios::trunc);
    out << unix_seconds - SystemClock::instance().unix_seconds() << "\n";
  }
  // Moves the master bot's time and waits (its periodic pass runs every 5 s) for the owner to
  // be told `expect`.
  void at(std::int64_t unix_seconds, const std::string& expect) {
    const int before = count_saw(owner_, expect);
    set_clock(unix_seconds);
    ASSERT_TRUE(eventually([&] { return count_saw(owner_, expect) > before; }, 40s))
        << "no '" << expect << "' in " << messages(owner_).dump().substr(0, 6000) << "\nlog " << serve_->log_path();
  }
  // /start to the shop: the menu, or that the service is paused.
  bool shop_sells(std::int64_t who) {
    const auto before = messages(who, kShop).size();
    EXPECT_TRUE(emulator_->send_command(who, kShop, "start"));
    return eventually([&] { return saw_button_since(who, before, "Buy a service", kShop); }, 20s);
  }
  bool shop_paused(std::int64_t who, const std::string& words) {
    const auto before = messages(who, kShop).size();
    EXPECT_TRUE(emulator_->send_command(who, kShop, "start"));
    return eventually([&] { return saw_since(who, before, words, kShop); }, 20s);
  }
  std::string sub_state() {
    return text(
        "SELECT s.state AS v FROM subscriptions s JOIN customers c ON c.id = s.customer_id WHERE "
        "c.telegram_id = " +
        std::to_string(owner_) + " ORDER BY s.id DESC LIMIT 1");
  }
  std::int64_t period_end() {
    return scalar(
        "SELECT s.period_end AS v FROM subscriptions s JOIN customers c ON c.id = s.customer_id WHERE "
        "c.telegram_id = " +
        std::to_string(owner_) + " ORDER BY s.id DESC LIMIT 1");
  }

  fs::path clock_file_;
  std::int64_t owner_ = 0, carol_ = 0, dara_ = 0;
  std::int64_t start_ = 0;
  std::int64_t instance_ = 0;
};

TEST_P(ServeLifecycle, RemindersGraceSuspensionRenewalThenErasure) {
  // The operator made the customer; the master bot greets them in Persian: they pick English.
  command(owner_, "start", "مادرشیپ");
  press_to(owner_, "زبان", "زبان خود را انتخاب کنید");
  press_to(owner_, "English", "Mothership builds");
  const std::int64_t end = start_ + 8 * kDay;
  // Reminders: 7, 3 and 1 days before the end, each once.
  at(end - 7 * kDay + 3600, "package ends in");
  at(end - 3 * kDay + 3600, "days left on your");
  at(end - kDay + 3600, "package ends tomorrow");
  EXPECT_EQ(count_saw(owner_, "package ends in"), 1);
  EXPECT_EQ(count_saw(owner_, "days left on your"), 1);
  // Grace: the package ended, the bot still sells.
  at(end + 3600, "Your bots keep running until");
  EXPECT_EQ(sub_state(), "grace");
  EXPECT_EQ(instance_state(instance_), "running");
  EXPECT_TRUE(shop_sells(carol_));

  // After the grace period: suspended through the deployer; users are told, in their language.
  at(end + domain::kGraceSeconds + 3600, "Your bots are paused");
  EXPECT_EQ(sub_state(), "suspended");
  ASSERT_TRUE(eventually([&] { return instance_state(instance_) == "suspended"; }));
  EXPECT_TRUE(shop_paused(carol_, "This shop's service is paused")) << messages(carol_, kShop).dump();
  EXPECT_TRUE(shop_paused(dara_, "سرویس این فروشگاه موقتاً متوقف شده است")) << messages(dara_, kShop).dump();

  // Renewal with Telegram Stars brings it back running.
  command(owner_, "menu", "Packages");
  press(owner_, "Packages");
  press(owner_, "Starter");
  press(owner_, "Buy monthly");
  press(owner_, "Telegram Stars");
  std::int64_t invoice = 0;
  ASSERT_TRUE(eventually([&] {
    for (const auto& m : messages(owner_))
      if (m["message"].contains("invoice")) invoice = m["message"]["message_id"].get<std::int64_t>();
    return invoice != 0;
  })) << messages(owner_).dump().substr(0, 6000);
  std::promise<Result<json>> paid;
  emulator_->pay_invoice(owner_, kMasterBot, invoice, "", [&](Result<json> r) { paid.set_value(std::move(r)); });
  auto result = paid.get_future().get();
  ASSERT_TRUE(result) << result.error().to_string();
  ASSERT_TRUE(eventually([&] { return sub_state() == "active"; })) << sub_state();
  ASSERT_TRUE(eventually([&] { return instance_state(instance_) == "running"; }, 60s))
      << instance_state(instance_) << "\nlog " << serve_->log_path();
  EXPECT_TRUE(shop_sells(carol_));

  // Unrenewed: suspended again, warned 7 and 1 days before the erasure, then erased.
  const std::int64_t end2 = period_end();
  ASSERT_GT(end2, end);
  const std::int64_t erase = end2 + domain::kGraceSeconds + domain::kRetentionSeconds;
  at(end2 + domain::kGraceSeconds + 3600, "Your bots are paused");
  ASSERT_TRUE(eventually([&] { return instance_state(instance_) == "suspended"; }));
  at(erase - 7 * kDay + 3600, "will be erased for good in");
  at(erase - kDay + 3600, "erased for good tomorrow");
  const auto tenant = scalar("SELECT tenant_id AS v FROM customers WHERE telegram_id = " + std::to_string(owner_));
  ASSERT_GT(tenant, 0);
  auto before = storage_->list_tenants();
  ASSERT_TRUE(before);
  EXPECT_EQ(before->size(), 1u);
  at(erase + 3600, "were erased");
  EXPECT_EQ(sub_state(), "erased");
  ASSERT_TRUE(eventually([&] { return instance_state(instance_) == "deleted"; })) << instance_state(instance_);
  auto after = storage_->list_tenants();
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());
  EXPECT_FALSE(storage_->tenant(tenant));
  // The bot no longer answers.
  const auto asked = messages(carol_, kShop).size();
  ASSERT_TRUE(emulator_->send_command(carol_, kShop, "start"));
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(messages(carol_, kShop).size(), asked + 1) << messages(carol_, kShop).dump();
}

INSTANTIATE_TEST_SUITE_P(Backends, ServeLifecycle,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres), backend_name);

}  // namespace
}  // namespace ms::master::testing
