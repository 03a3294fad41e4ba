// MarzbanPanel against the strict Marzban test panel over real loopback HTTP(S).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support.hpp"

namespace ms::panels {
namespace {

using marzban_test::Fault;
using testing::fast_options;
using testing::new_account;
using testing::Rig;

TEST(MarzbanPanel, AccountLifecycle) {
  Rig rig;
  auto panel = rig.panel();
  auto created = panel->create(new_account("alice_01"));
  ASSERT_TRUE(created) << created.error().describe();
  EXPECT_EQ(created->status, AccountStatus::kActive);
  EXPECT_EQ(created->data_limit_bytes, 10LL << 30);
  EXPECT_EQ(created->expire_at, 1'900'000'000);
  EXPECT_EQ(created->inbounds.at(Protocol::kVless), std::vector<std::string>{"VLESS TCP"});
  EXPECT_EQ(created->inbounds.at(Protocol::kVmess), std::vector<std::string>{"VMess TCP"}) << "empty = all of it";
  EXPECT_GT(created->created_at, 1'700'000'000) << "naive UTC datetime parsed";
  EXPECT_EQ(created->subscription_url.rfind(rig.server.base_url() + "/sub/", 0), 0u);
  EXPECT_EQ(created->links.size(), 2u);

  auto got = panel->get("alice_01");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->note, "order 42");

  AccountChanges c;
  c.data_limit_bytes = 20LL << 30;
  c.expire_at = 0;
  c.reset = ResetStrategy::kMonth;
  c.note = "تمدید شد";  // Persian notes round-trip
  auto modified = panel->modify("alice_01", c);
  ASSERT_TRUE(modified) << modified.error().describe();
  EXPECT_EQ(modified->expire_at, 0);
  EXPECT_EQ(modified->reset, ResetStrategy::kMonth);
  EXPECT_EQ(modified->note, "تمدید شد");

  // Changing inbounds keeps the account's credentials (Marzban would issue new ones for {}).
  AccountChanges only_vless;
  only_vless.inbounds = InboundSelection{{Protocol::kVless, {}}};
  auto narrowed = panel->modify("alice_01", only_vless);
  ASSERT_TRUE(narrowed) << narrowed.error().describe();
  EXPECT_EQ(narrowed->inbounds.size(), 1u);
  auto vless_link = [](const Account& a) {
    for (const auto& l : a.links)
      if (l.rfind("vless://", 0) == 0) return l.substr(0, l.find('@'));
    return std::string();
  };
  EXPECT_EQ(vless_link(*narrowed), vless_link(*created));

  ASSERT_TRUE(panel->disable("alice_01"));
  EXPECT_EQ(panel->get("alice_01")->status, AccountStatus::kDisabled);
  ASSERT_TRUE(panel->enable("alice_01"));
  EXPECT_EQ(panel->get("alice_01")->status, AccountStatus::kActive);

  ASSERT_TRUE(rig.server.set_used_traffic("alice_01", 20LL << 30));
  EXPECT_EQ(panel->get("alice_01")->status, AccountStatus::kLimited);
  auto reset = panel->reset_usage("alice_01");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->used_bytes, 0);
  EXPECT_EQ(reset->status, AccountStatus::kActive);

  auto revoked = panel->revoke_link("alice_01");
  ASSERT_TRUE(revoked);
  EXPECT_NE(vless_link(*revoked), vless_link(*created));

  auto sub = panel->subscription("alice_01");
  ASSERT_TRUE(sub);
  EXPECT_FALSE(sub->url.empty());
  EXPECT_EQ(sub->data_limit_bytes, 20LL << 30);

  ASSERT_TRUE(panel->remove("alice_01"));
  auto gone = panel->get("alice_01");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, PanelErrorKind::kNotFound);
  EXPECT_EQ(panel->remove("alice_01").error().kind, PanelErrorKind::kNotFound);
}

TEST(MarzbanPanel, Renewals) {
  Rig rig;
  auto panel = rig.panel();
  const std::int64_t now = SystemClock::instance().unix_seconds();
  NewAccount a = new_account("renew_me");
  a.expire_at = now + 5 * 86400;
  a.data_limit_bytes = 10LL << 30;
  ASSERT_TRUE(panel->create(a));
  ASSERT_TRUE(rig.server.set_used_traffic("renew_me", 4LL << 30));

  auto carried = panel->renew("renew_me", Renewal{30 * 86400, 20LL << 30, true});
  ASSERT_TRUE(carried) << carried.error().describe();
  EXPECT_EQ(carried->expire_at, now + 35 * 86400);
  EXPECT_EQ(carried->data_limit_bytes, 30LL << 30);
  EXPECT_EQ(carried->used_bytes, 4LL << 30);

  auto fresh = panel->renew("renew_me", Renewal{30 * 86400, 50LL << 30, false});
  ASSERT_TRUE(fresh) << fresh.error().describe();
  EXPECT_NEAR(static_cast<double>(fresh->expire_at), static_cast<double>(now + 30 * 86400), 5);
  EXPECT_EQ(fresh->data_limit_bytes, 50LL << 30);
  EXPECT_EQ(fresh->used_bytes, 0);

  // An expired account comes back to life.
  AccountChanges past;
  past.expire_at = now - 10;
  ASSERT_TRUE(panel->modify("renew_me", past));
  EXPECT_EQ(panel->get("renew_me")->status, AccountStatus::kExpired);
  auto revived = panel->renew("renew_me", Renewal{86400, 0, true});
  ASSERT_TRUE(revived);
  EXPECT_EQ(revived->status, AccountStatus::kActive);
}

TEST(MarzbanPanel, ListsInboundsAndSystem) {
  Rig rig;
  auto panel = rig.panel();
  for (const char* n : {"ali_1", "ali_2", "bob_1", "carol_1"}) ASSERT_TRUE(panel->create(new_account(n)));
  auto page = panel->list(ListQuery{0, 2, "", std::nullopt});
  ASSERT_TRUE(page) << page.error().describe();
  EXPECT_EQ(page->total, 4);
  ASSERT_EQ(page->accounts.size(), 2u);
  EXPECT_EQ(page->accounts[0].username, "ali_1");
  auto second = panel->list(ListQuery{2, 2, "", std::nullopt});
  EXPECT_EQ(second->accounts[0].username, "bob_1");
  auto search = panel->list(ListQuery{0, 50, "ali", std::nullopt});
  EXPECT_EQ(search->total, 2);
  EXPECT_FALSE(panel->list(ListQuery{0, 0, "", std::nullopt}));

  auto in = panel->inbounds();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->size(), 3u);
  auto sys = panel->system();
  ASSERT_TRUE(sys);
  EXPECT_EQ(sys->version, "0.7.0");
  EXPECT_EQ(sys->total_users, 4);
  EXPECT_EQ(panel->version(), "0.7.0");
}

TEST(MarzbanPanel, LogsInOnceAndAgainOnlyWhenTheTokenDies) {
  Rig rig;
  std::atomic<int> logins{0};
  auto o = fast_options(rig.server.base_url());
  o.on_login = [&](const crypto::Secret& t) {
    EXPECT_FALSE(t.empty());
    ++logins;
  };
  auto panel = rig.panel(o);
  ASSERT_TRUE(panel->system());
  ASSERT_TRUE(panel->inbounds());
  EXPECT_EQ(logins, 1) << "the token is cached";
  rig.server.expire_tokens();
  ASSERT_TRUE(panel->system()) << "a 401 means: log in again and repeat once";
  EXPECT_EQ(logins, 2);
  EXPECT_EQ(rig.server.hits("POST /api/admin/token"), 2);

  // A token kept from an earlier run is used without logging in.
  auto kept = fast_options(rig.server.base_url());
  crypto::Secret token;
  kept.on_login = [&](const crypto::Secret& t) { token = t; };
  ASSERT_TRUE(rig.panel(kept)->system());
  auto reuse = fast_options(rig.server.base_url());
  reuse.cached_token = token;
  int before = rig.server.hits("POST /api/admin/token");
  ASSERT_TRUE(rig.panel(reuse)->system());
  EXPECT_EQ(rig.server.hits("POST /api/admin/token"), before);
}

TEST(MarzbanPanel, WrongPasswordWrongPathAndHtml) {
  Rig rig;
  auto wrong = rig.panel(fast_options(rig.server.base_url(), "nope"));
  auto r = wrong->system();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, PanelErrorKind::kUnauthorized);
  EXPECT_EQ(r.error().detail.find("nope"), std::string::npos) << "the password is never echoed";
  EXPECT_EQ(rig.server.hits("POST /api/admin/token"), 1) << "a wrong password is not retried";

  marzban_test::Options prefixed;
  prefixed.path_prefix = "/hidden";
  Rig prig(prefixed);
  auto root = prig.panel(fast_options("http://127.0.0.1:" + std::to_string(prig.server.port())));
  auto bad = root->system();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, PanelErrorKind::kBadResponse) << bad.error().describe();
  // The dashboard URL an owner copies from the browser works.
  auto dash = prig.panel(fast_options(prig.server.base_url() + "/dashboard/#/"));
  EXPECT_TRUE(dash->system());

  rig.server.add_fault({"GET", "/api/inbounds", Fault::Kind::kHtml});
  auto html = rig.panel()->inbounds();
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error().kind, PanelErrorKind::kBadResponse);
}

TEST(MarzbanPanel, RefusesBadInputBeforeCallingThePanel) {
  Rig rig;
  auto panel = rig.panel();
  auto persian = new_account("علی_رضا");
  EXPECT_EQ(panel->create(persian).error().kind, PanelErrorKind::kValidation);
  auto negative = new_account("neg_1");
  negative.data_limit_bytes = -1;
  EXPECT_EQ(panel->create(negative).error().kind, PanelErrorKind::kValidation);
  auto long_note = new_account("note_1");
  long_note.note = std::string(501, 'x');
  EXPECT_EQ(panel->create(long_note).error().kind, PanelErrorKind::kValidation);
  auto hold = new_account("hold_1");
  hold.on_hold_seconds = 3600;
  EXPECT_EQ(panel->create(hold).error().kind, PanelErrorKind::kValidation) << "on hold has no expiry";
  auto trojan = new_account("troj_1");
  trojan.inbounds = {{Protocol::kTrojan, {}}};
  auto t = panel->create(trojan);
  EXPECT_EQ(t.error().kind, PanelErrorKind::kBadRequest) << t.error().describe();
  EXPECT_EQ(rig.server.hits("POST /api/user"), 0);

  // An inbound removed on the panel after the plan was set up.
  ASSERT_TRUE(panel->create(new_account("first_1")));
  rig.server.remove_inbound("VLESS TCP");
  auto stale = panel->create(new_account("second_1"));  // cached inbounds still list it
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().kind, PanelErrorKind::kValidation) << stale.error().describe();
  EXPECT_EQ(stale.error().fields.at("inbounds"), "Inbound VLESS TCP doesn't exist") << "Marzban's 422 object";
  auto again = panel->create(new_account("second_1"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, PanelErrorKind::kBadRequest) << again.error().describe();
  EXPECT_NE(again.error().detail.find("vless"), std::string::npos);
  EXPECT_EQ(rig.server.hits("POST /api/user"), 2) << "the second refusal came from the fresh inbound list";
}

TEST(MarzbanPanel, AnInboundRemovedFromAProtocolThatKeepsOthers) {
  marzban_test::Options o;
  o.inbounds = marzban_test::default_inbounds();
  o.inbounds.push_back({"VLESS WS", "vless", "ws", "tls", 443});
  Rig rig(o);
  auto panel = rig.panel();
  ASSERT_TRUE(panel->inbounds());
  rig.server.remove_inbound("VLESS TCP");
  ASSERT_TRUE(panel->inbounds());  // the plan's tag is now gone from the fresh list
  auto r = panel->create(new_account("plan_1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, PanelErrorKind::kValidation);
  EXPECT_NE(r.error().detail.find("VLESS TCP"), std::string::npos);
  EXPECT_EQ(rig.server.hits("POST /api/user"), 0);
  auto any = new_account("plan_2");
  any.inbounds = {{Protocol::kVless, {}}};
  auto ok = panel->create(any);
  ASSERT_TRUE(ok) << ok.error().describe();
  EXPECT_EQ(ok->inbounds.at(Protocol::kVless), std::vector<std::string>{"VLESS WS"});
}

TEST(MarzbanPanel, OnHoldAndVersion084) {
  marzban_test::Options o;
  o.version = "0.8.4";
  Rig rig(o);
  auto panel = rig.panel();
  auto health = panel->check_health();
  ASSERT_TRUE(health);
  EXPECT_EQ(panel->health().version, "0.8.4");
  NewAccount hold = new_account("hold_84");
  hold.expire_at = 0;
  hold.on_hold_seconds = 30 * 86400;
  auto created = panel->create(hold);
  ASSERT_TRUE(created) << created.error().describe();
  EXPECT_EQ(created->status, AccountStatus::kOnHold);
  EXPECT_EQ(created->on_hold_seconds, 30 * 86400);
}

TEST(MarzbanPanel, RelativeSubscriptionUrlsBecomeAbsolute) {
  marzban_test::Options o;
  o.relative_subscription_urls = true;
  Rig rig(o);
  auto created = rig.panel()->create(new_account("rel_1"));
  ASSERT_TRUE(created);
  EXPECT_EQ(created->subscription_url.rfind("http://127.0.0.1:" + std::to_string(rig.server.port()) + "/sub/", 0), 0u);
}

TEST(MarzbanPanel, RetriesOnlyWhatIsSafeToRepeat) {
  Rig rig;
  auto panel = rig.panel();
  ASSERT_TRUE(panel->system());
  rig.server.add_fault({"GET", "/api/system", Fault::Kind::kStatus, 502});
  auto sys = panel->system();
  ASSERT_TRUE(sys) << "a read is repeated after a 5xx";
  EXPECT_EQ(rig.server.hits("GET /api/system"), 3);

  rig.server.add_fault({"POST", "/api/user", Fault::Kind::kStatus, 500});
  auto created = panel->create(new_account("once_1"));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().kind, PanelErrorKind::kServerError);
  EXPECT_EQ(rig.server.hits("POST /api/user"), 1) << "a create is never repeated blindly";

  rig.server.add_fault({"POST", "/api/user", Fault::Kind::kApplyDrop});
  created = panel->create(new_account("once_2"));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().kind, PanelErrorKind::kConnection);
  EXPECT_EQ(rig.server.hits("POST /api/user"), 2) << "not even by libcurl on a reused connection";
  EXPECT_TRUE(rig.server.has_user("once_2"));

  // A delete whose answer was lost: the repeat finds it gone, which is the success.
  rig.server.add_fault({"DELETE", "/api/user/*", Fault::Kind::kApplyDrop});
  EXPECT_TRUE(panel->remove("once_2"));
  EXPECT_FALSE(rig.server.has_user("once_2"));

  auto impatient = fast_options(rig.server.base_url());
  impatient.timeout = std::chrono::milliseconds(300);
  auto quick = rig.panel(impatient);
  rig.server.add_fault({"GET", "/api/user/*", Fault::Kind::kDelay, 0, std::chrono::milliseconds(1500), -1});
  auto slow = quick->get("nobody");
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().kind, PanelErrorKind::kTimeout);
  EXPECT_EQ(rig.server.hits("GET /api/user/{username}"), 3);
  rig.server.clear_faults();
}

TEST(MarzbanPanel, MarkedDownUntilAHealthCheckPasses) {
  Rig rig;
  auto o = fast_options(rig.server.base_url());
  o.attempts = 1;
  o.failures_before_down = 3;
  auto panel = rig.panel(o);
  ASSERT_TRUE(panel->system());
  rig.server.add_fault({"GET", "/api/system", Fault::Kind::kDrop, 0, {}, -1});
  for (int i = 0; i < 3; ++i) {
    auto r = panel->system();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, PanelErrorKind::kConnection);
  }
  rig.server.clear_faults();
  EXPECT_FALSE(panel->accepting_sales());
  int hits = rig.server.hits("GET /api/system");
  auto refused = panel->inbounds();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, PanelErrorKind::kDown);
  EXPECT_EQ(rig.server.hits("GET /api/system"), hits);
  EXPECT_EQ(rig.server.hits("GET /api/inbounds"), 0) << "a panel that is down is not called";
  ASSERT_TRUE(panel->check_health());
  EXPECT_TRUE(panel->accepting_sales());
  EXPECT_TRUE(panel->inbounds());

  // A 404 is an answer: it does not count against the panel.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(panel->get("nobody").error().kind, PanelErrorKind::kNotFound);
  EXPECT_TRUE(panel->accepting_sales());
}

TEST(MarzbanPanel, CapsConcurrentCalls) {
  Rig rig;
  auto o = fast_options(rig.server.base_url());
  o.timeout = std::chrono::seconds(5);
  o.max_concurrent = 2;
  auto panel = rig.panel(o);
  ASSERT_TRUE(panel->system());
  rig.server.add_fault({"GET", "/api/inbounds", Fault::Kind::kDelay, 0, std::chrono::milliseconds(300), -1});
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 6; ++i) threads.emplace_back([&] { good += panel->inbounds().has_value(); });
  for (auto& t : threads) t.join();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(good, 6);
  EXPECT_GE(elapsed, std::chrono::milliseconds(900)) << "6 calls, 2 at a time, 300 ms each";

  auto q = fast_options(rig.server.base_url());
  q.timeout = std::chrono::seconds(5);
  q.max_concurrent = 1;
  q.queue_timeout = std::chrono::milliseconds(50);
  auto narrow = rig.panel(q);
  ASSERT_TRUE(narrow->system());
  std::thread slow([&] { EXPECT_TRUE(narrow->inbounds()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto busy = narrow->system();
  slow.join();
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().kind, PanelErrorKind::kBusy);
  rig.server.clear_faults();
}

TEST(MarzbanPanel, NonSudoAdminSeesOnlyItsOwn) {
  Rig rig;
  ASSERT_TRUE(rig.panel()->create(new_account("sudo_made")));
  rig.server.add_admin("reseller", "pw", false);
  auto o = fast_options(rig.server.base_url(), "pw");
  o.username = "reseller";
  auto panel = rig.panel(o);
  auto other = panel->get("sudo_made");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().kind, PanelErrorKind::kForbidden);
  EXPECT_TRUE(panel->create(new_account("mine_1")));
  EXPECT_EQ(panel->list({})->total, 1);
}

TEST(MarzbanPanel, UnreachablePanel) {
  std::uint16_t port = 0;
  {
    Rig rig;
    port = rig.server.port();
  }
  http::CurlClient client;
  MarzbanPanel panel(client, fast_options("http://127.0.0.1:" + std::to_string(port)));
  auto r = panel.system();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, PanelErrorKind::kConnection);
  EXPECT_TRUE(r.error().transient());
}

// HTTPS: a self-signed certificate made with the openssl CLI for 127.0.0.1.
TEST(MarzbanPanel, HttpsVerifiedPinnedOrExplicitlyInsecure) {
  auto dir = std::filesystem::temp_directory_path() / ("panels_tls_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string cert = (dir / "c.pem").string(), key = (dir / "k.pem").string(), fp = (dir / "fp").string();
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext "
                         "subjectAltName=IP:127.0.0.1 -keyout " +
                         key + " -out " + cert + " >/dev/null 2>&1")
                            .c_str()),
            0);
  ASSERT_EQ(std::system(("openssl x509 -in " + cert + " -noout -fingerprint -sha256 > " + fp).c_str()), 0);
  std::string fingerprint;
  std::getline(std::ifstream(fp), fingerprint);
  fingerprint = fingerprint.substr(fingerprint.find('=') + 1);

  marzban_test::Options o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  Rig rig(o);
  auto verify = rig.panel()->system();
  ASSERT_FALSE(verify);
  EXPECT_EQ(verify.error().kind, PanelErrorKind::kTls) << verify.error().describe();

  auto pinned = fast_options(rig.server.base_url());
  pinned.tls = http::TlsPolicy{http::TlsPolicy::Mode::kPinned, "", fingerprint};
  auto p = rig.panel(pinned);
  auto sys = p->system();
  ASSERT_TRUE(sys) << sys.error().describe();
  EXPECT_TRUE(p->create(new_account("tls_1")));

  auto wrong = fast_options(rig.server.base_url());
  std::string other = fingerprint;
  other[1] = other[1] == '0' ? '1' : '0';
  wrong.tls = http::TlsPolicy{http::TlsPolicy::Mode::kPinned, "", other};
  auto refused = rig.panel(wrong)->system();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, PanelErrorKind::kTls);
  EXPECT_EQ(rig.server.hits("POST /api/admin/token"), 1) << "no password went to the wrong certificate";

  auto insecure = fast_options(rig.server.base_url());
  insecure.tls.mode = http::TlsPolicy::Mode::kInsecure;
  EXPECT_TRUE(rig.panel(insecure)->system());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ms::panels
