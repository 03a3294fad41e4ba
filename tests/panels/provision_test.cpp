// Idempotent provisioning on both backends against the strict Marzban test panel: no path
// (a crash between steps, a lost answer, a timeout, concurrent attempts) makes two accounts
// for one order.
#include "panels/provision.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/crypto/keyring.hpp"
#include "domain/rules.hpp"
#include "panels/panel_repository.hpp"
#include "storage/order_repository.hpp"
#include "storage/storage_test_support.hpp"
#include "support.hpp"

namespace ms::panels {
namespace {

using marzban_test::Fault;
using storage::Backend;

constexpr std::int64_t kTenant = 3;

class Provisioning : public storage::testing::StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto t = storage_->create_tenant(kTenant);
    ASSERT_TRUE(t) << t.error().to_string();
    tenant_ = *t;
    auto user = storage::testing::add_user(*tenant_, 5001);
    ASSERT_TRUE(user);
    user_id_ = *user;
    PanelRepository panels(*tenant_, box_);
    PanelRecord record;
    record.name = "main";
    record.base_url = rig_.server.base_url();
    record.username = "admin";
    record.password = crypto::Secret("admin");
    auto pid = panels.insert(record, 1);
    ASSERT_TRUE(pid) << pid.error().to_string();
    panel_id_ = *pid;
    panel_ = rig_.panel();
  }

  std::int64_t new_order() {
    storage::OrderRepository orders(*tenant_);
    storage::Order o;
    o.user_id = user_id_;
    o.status = "paid";
    o.amount = Money{1000, Currency::kIrr};
    auto id = orders.insert(o);
    EXPECT_TRUE(id) << id.error().to_string();
    return id ? *id : 0;
  }

  ProvisionRequest request(std::int64_t order) {
    ProvisionRequest r;
    r.tenant_id = kTenant;
    r.user_id = user_id_;
    r.order_id = order;
    r.panel_id = panel_id_;
    r.account = testing::new_account("ignored");
    r.account.note = "خرید اشتراک یک ماهه";
    return r;
  }

  std::string service_status(std::int64_t order) {
    auto row = tenant_->with_session([&](storage::Session& s) {
      return s.query_one("SELECT status FROM services WHERE order_id = :o", {{"o", order}});
    });
    return row && *row ? (**row).get_string("status") : "";
  }

  std::int64_t services_count() {
    auto row =
        tenant_->with_session([&](storage::Session& s) { return s.query_one("SELECT count(*) AS n FROM services"); });
    return row && *row ? (**row).get_int("n") : -1;
  }

  testing::Rig rig_;
  crypto::SecretBox box_{crypto::Keyring(crypto::generate_key())};
  std::shared_ptr<storage::Database> tenant_;
  std::int64_t user_id_ = 0;
  std::int64_t panel_id_ = 0;
  std::unique_ptr<MarzbanPanel> panel_;
};

TEST_P(Provisioning, CreatesOnceAndAnswersRepeatsFromTheDatabase) {
  Provisioner p(*tenant_, SystemClock::instance());
  auto order = new_order();
  auto first = p.provision(*panel_, request(order));
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->how, Provisioned::How::kCreated);
  EXPECT_EQ(first->username, *domain::panel_username(kTenant, user_id_, order));
  ASSERT_TRUE(first->account);
  EXPECT_NE(first->account->note.find(Provisioner::marker(kTenant, order)), std::string::npos);
  EXPECT_NE(first->account->note.find("خرید"), std::string::npos);
  EXPECT_EQ(service_status(order), "active");

  auto again = p.provision(*panel_, request(order));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->how, Provisioned::How::kAlreadyDone);
  EXPECT_EQ(again->service_id, first->service_id);
  EXPECT_EQ(rig_.server.user_count(), 1u);
  EXPECT_EQ(rig_.server.hits("POST /api/user"), 1);
}

TEST_P(Provisioning, ACrashBetweenAnyTwoStepsResumes) {
  for (const char* crash_at : {"reserved", "created", "activated"}) {
    SCOPED_TRACE(crash_at);
    auto order = new_order();
    ProvisionOptions crashing;
    crashing.after_step = [crash_at](std::string_view step) {
      if (step == crash_at) throw std::runtime_error("crash");
    };
    Provisioner dying(*tenant_, SystemClock::instance(), crashing);
    EXPECT_THROW((void)dying.provision(*panel_, request(order)), std::runtime_error);

    Provisioner restarted(*tenant_, SystemClock::instance());
    auto done = restarted.provision(*panel_, request(order));
    ASSERT_TRUE(done) << done.error().to_string();
    EXPECT_EQ(service_status(order), "active");
    EXPECT_TRUE(rig_.server.has_user(done->username));
  }
  EXPECT_EQ(rig_.server.user_count(), 3u) << "three orders, three accounts, whatever crashed";
  EXPECT_EQ(rig_.server.hits("POST /api/user"), 3);
}

TEST_P(Provisioning, ALostAnswerIsResolvedByReading) {
  Provisioner p(*tenant_, SystemClock::instance());
  auto impatient = testing::fast_options(rig_.server.base_url());
  impatient.timeout = std::chrono::milliseconds(500);
  panel_ = rig_.panel(impatient);
  // The create goes through, the connection dies before the answer.
  rig_.server.add_fault({"POST", "/api/user", Fault::Kind::kApplyDrop});
  auto order = new_order();
  auto r = p.provision(*panel_, request(order));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->how, Provisioned::How::kAdopted);
  EXPECT_EQ(rig_.server.hits("POST /api/user"), 1) << "read, not created again";

  // The answer comes after our timeout.
  rig_.server.add_fault({"POST", "/api/user", Fault::Kind::kApplyDelay, 0, std::chrono::milliseconds(1500)});
  r = p.provision(*panel_, request(new_order()));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->how, Provisioned::How::kAdopted);

  // The panel applies the create only after we gave up and read "not found": the retry
  // creates, the late create meets a 409 on the panel.
  rig_.server.add_fault({"POST", "/api/user", Fault::Kind::kDelay, 0, std::chrono::milliseconds(1500)});
  auto late_order = new_order();
  r = p.provision(*panel_, request(late_order));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->how, Provisioned::How::kCreated);
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));  // let the late create land
  EXPECT_EQ(rig_.server.user_count(), 3u);
  EXPECT_EQ(services_count(), 3);
}

TEST_P(Provisioning, ConcurrentAttemptsMakeOneAccount) {
  auto order = new_order();
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  std::vector<std::int64_t> ids(8, 0);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Provisioner p(*tenant_, SystemClock::instance());
      auto r = p.provision(*panel_, request(order));
      if (r) {
        ++good;
        ids[i] = r->service_id;
      } else {
        ADD_FAILURE() << r.error().to_string();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good, 8);
  for (auto id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(rig_.server.user_count(), 1u);
  EXPECT_EQ(services_count(), 1);
  EXPECT_EQ(service_status(order), "active");
}

TEST_P(Provisioning, NeverAdoptsAnAccountThatIsNotOurs) {
  auto order = new_order();
  auto name = *domain::panel_username(kTenant, user_id_, order);
  NewAccount foreign = testing::new_account(name);
  foreign.note = "made by hand";
  ASSERT_TRUE(panel_->create(foreign));
  Provisioner p(*tenant_, SystemClock::instance());
  auto r = p.provision(*panel_, request(order));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(panel_->get(name)->note, "made by hand") << "left untouched";
  EXPECT_EQ(service_status(order), "reserved");
}

TEST_P(Provisioning, ADeadPanelLeavesAReservationToFinishLater) {
  auto order = new_order();
  rig_.server.add_fault({"", "/api/*", Fault::Kind::kDrop, 0, {}, -1});
  Provisioner p(*tenant_, SystemClock::instance());
  auto r = p.provision(*panel_, request(order));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
  EXPECT_EQ(service_status(order), "reserved");
  rig_.server.clear_faults();
  auto healthy = panel_->check_health();
  ASSERT_TRUE(healthy) << healthy.error().describe();
  auto later = p.provision(*panel_, request(order));
  ASSERT_TRUE(later) << later.error().to_string();
  EXPECT_EQ(service_status(order), "active");
  EXPECT_EQ(rig_.server.user_count(), 1u);
}

TEST_P(Provisioning, APanelRefusalIsReportedAndNothingIsCreated) {
  auto order = new_order();
  auto req = request(order);
  req.account.inbounds = {{Protocol::kTrojan, {}}};
  Provisioner p(*tenant_, SystemClock::instance());
  auto r = p.provision(*panel_, req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(rig_.server.user_count(), 0u);
}

TEST_P(Provisioning, AnOrderReservedOnOnePanelIsNotMadeOnAnother) {
  auto order = new_order();
  rig_.server.add_fault({"", "/api/*", Fault::Kind::kDrop, 0, {}, -1});
  Provisioner p(*tenant_, SystemClock::instance());
  ASSERT_FALSE(p.provision(*panel_, request(order)));  // reserved on panel_id_, panel unreachable
  rig_.server.clear_faults();
  PanelRepository panels(*tenant_, box_);
  PanelRecord second;
  second.name = "second";
  second.base_url = rig_.server.base_url();
  second.username = "admin";
  second.password = crypto::Secret("admin");
  auto other = panels.insert(second, 2);
  ASSERT_TRUE(other);
  auto req = request(order);
  req.panel_id = *other;
  auto r = p.provision(*panel_, req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_EQ(rig_.server.user_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, Provisioning, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::panels
