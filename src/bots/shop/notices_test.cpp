// NoticeScheduler on SQLite and PostgreSQL: a service on the strict Marzban test panel
// walked through 80%, 95%, 3 days, 1 day and expired with a ManualClock shared by the
// panel; nothing sent twice (second pass, restarted scheduler, two schedulers at once); a
// renewal starts a fresh cycle; retryable and final send failures; and delivery through the
// runtime to the sandbox Telegram, where a person who blocked the bot gets marked.
#include "bots/shop/notices.hpp"

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "core/i18n/calendar.hpp"
#include "marzban_server.hpp"
#include "panels/marzban/marzban.hpp"
#include "bots/shop/shop_test_support.hpp"
#include "telegram/keyboard.hpp"

namespace ms::shop {
namespace {

using namespace std::chrono_literals;
using namespace ms::shop::testing;

constexpr std::int64_t kGiB = 1LL << 30;
constexpr std::int64_t kDay = 86'400;

// Records every notice; answers with the programmed outcomes, then kSent.
class RecordingSender : public NoticeSender {
 public:
  SendOutcome send(const OutgoingNotice& notice) override {
    std::lock_guard lock(mutex_);
    SendOutcome outcome = SendOutcome::kSent;
    if (!script_.empty()) {
      outcome = script_.front();
      script_.erase(script_.begin());
    }
    attempts_.push_back(notice);
    if (outcome == SendOutcome::kSent) sent_.push_back(notice);
    return outcome;
  }
  void script(std::vector<SendOutcome> outcomes) {
    std::lock_guard lock(mutex_);
    script_ = std::move(outcomes);
  }
  std::vector<OutgoingNotice> take() {
    std::lock_guard lock(mutex_);
    auto out = std::move(sent_);
    sent_.clear();
    return out;
  }
  std::size_t attempts() {
    std::lock_guard lock(mutex_);
    return attempts_.size();
  }

 private:
  std::mutex mutex_;
  std::vector<SendOutcome> script_;
  std::vector<OutgoingNotice> attempts_;
  std::vector<OutgoingNotice> sent_;
};

class MapPanels : public NoticePanels {
 public:
  std::shared_ptr<panels::Panel> panel(std::int64_t id) override {
    auto it = panels_.find(id);
    return it == panels_.end() ? nullptr : it->second;
  }
  std::map<std::int64_t, std::shared_ptr<panels::Panel>> panels_;
};

class NoticesTest : public TenantTest {
 protected:
  std::string kinds_sent(RecordingSender& sender) {
    std::string out;
    for (const auto& n : sender.take()) out += (out.empty() ? "" : ",") + kind_of(n.text);
    return out;
  }
  // The test's catalog starts each notice with "#<kind> " before the default text, so the
  // kind can be read back from what was sent.
  void SetUp() override {
    TenantTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (auto kind : {NoticeKind::kTraffic80, NoticeKind::kTraffic95, NoticeKind::kExpiry3d, NoticeKind::kExpiry1d,
                      NoticeKind::kExpired}) {
      const std::string key = "shop.notice." + std::string(to_string(kind));
      for (auto lang : {i18n::Lang::kFa, i18n::Lang::kEn}) {
        auto text = catalog_.lookup(lang, key);
        ASSERT_TRUE(text) << key;
        catalog_.set_override(lang, key, "#" + std::string(to_string(kind)) + " " + *text);
      }
    }
  }
  static std::string kind_of(const std::string& text) {
    if (text.empty() || text[0] != '#') return "?";
    return text.substr(1, text.find(' ') - 1);
  }
  std::string status_of(std::int64_t service) {
    auto v = db().with_session([&](storage::Session& s) -> Result<std::string> {
      auto row = s.query_one("SELECT status FROM services WHERE id = :id", {{"id", service}});
      if (!row) return fail(std::move(row.error()));
      return (*row)->get_string("status");
    });
    return v ? *v : "?";
  }

  i18n::Catalog catalog_;
  ManualClock clock_{1'750'000'000};
  MapPanels panels_;
  RecordingSender sender_;
};

TEST(DueNotices, MostUrgentOfEachFamilyAndExpiredAlone) {
  const std::int64_t now = 1'000'000;
  ServiceState s;
  s.traffic_limit_bytes = 100;
  s.expires_at = now + 10 * kDay;
  EXPECT_TRUE(due_notices(s, now).empty());
  s.traffic_used_bytes = 79;
  EXPECT_TRUE(due_notices(s, now).empty());
  s.traffic_used_bytes = 80;
  EXPECT_EQ(due_notices(s, now), std::vector{NoticeKind::kTraffic80});
  s.traffic_used_bytes = 95;
  EXPECT_EQ(due_notices(s, now), std::vector{NoticeKind::kTraffic95});
  s.expires_at = now + 3 * kDay;
  EXPECT_EQ(due_notices(s, now), (std::vector{NoticeKind::kTraffic95, NoticeKind::kExpiry3d}));
  s.expires_at = now + kDay;
  s.traffic_used_bytes = 0;
  EXPECT_EQ(due_notices(s, now), std::vector{NoticeKind::kExpiry1d});
  s.expires_at = now;
  s.traffic_used_bytes = 100;
  EXPECT_EQ(due_notices(s, now), std::vector{NoticeKind::kExpired});
  s.expires_at = std::nullopt;  // never ends, unlimited: nothing ever
  s.traffic_limit_bytes = std::nullopt;
  EXPECT_TRUE(due_notices(s, now).empty());
  s.panel_says_expired = true;
  EXPECT_EQ(due_notices(s, now), std::vector{NoticeKind::kExpired});
}

TEST(SendOutcomes, TelegramErrorsMapToWhatTheClaimNeeds) {
  EXPECT_EQ(outcome_of({403, "Forbidden: bot was blocked by the user", {}, {}}), SendOutcome::kBlocked);
  EXPECT_EQ(outcome_of({403, "Forbidden: user is deactivated", {}, {}}), SendOutcome::kBlocked);
  EXPECT_EQ(outcome_of({429, "Too Many Requests: retry after 3", 3, {}}), SendOutcome::kRetryLater);
  EXPECT_EQ(outcome_of({502, "Bad Gateway", {}, {}}), SendOutcome::kRetryLater);
  EXPECT_EQ(outcome_of({0, "connection refused", {}, {}}), SendOutcome::kRetryLater);
  EXPECT_EQ(outcome_of({401, "Unauthorized", {}, {}}), SendOutcome::kRetryLater);
  EXPECT_EQ(outcome_of({400, "Bad Request: chat not found", {}, {}}), SendOutcome::kRejected);
}

TEST_P(NoticesTest, AServiceOnTheMarzbanPanelGetsEachNoticeOnceThroughItsLife) {
  marzban_test::Options server_options;
  server_options.clock = &clock_;
  marzban_test::MarzbanTestServer server(server_options);
  ASSERT_TRUE(server.start());
  http::CurlClient http;
  panels::MarzbanOptions mo;
  mo.base_url = server.base_url();
  mo.username = "admin";
  mo.password = crypto::Secret("admin");
  mo.timeout = 3s;
  mo.backoff = 1ms;
  mo.clock = &clock_;
  auto panel = std::make_shared<panels::MarzbanPanel>(http, mo);
  const std::int64_t expires = clock_.unix_seconds() + 10 * kDay;
  panels::NewAccount account;
  account.username = "sara_1";
  account.inbounds = {{panels::Protocol::kVless, {}}};
  account.data_limit_bytes = 10 * kGiB;
  account.expire_at = expires;
  ASSERT_TRUE(panel->create(account));

  const auto panel_id = add_panel(db(), "de1", server.base_url());
  panels_.panels_[panel_id] = panel;
  const auto sara = add_user(db(), {.telegram_id = 5001, .language = "fa"});
  // The row starts stale (nothing used, no expiry): the pass must read the panel.
  const auto service = add_service(db(), {.user_id = sara, .panel_id = panel_id, .panel_username = "sara_1"});
  NoticeScheduler scheduler(db(), panels_, sender_, catalog_, clock_);

  auto pass = [&]() -> NoticePassReport {
    auto r = scheduler.run_once();
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? *r : NoticePassReport{};
  };
  auto r = pass();
  EXPECT_EQ(r.services, 1);
  EXPECT_EQ(r.refreshed, 1);
  EXPECT_EQ(r.sent, 0);
  EXPECT_EQ(scalar(db(), "SELECT expires_at FROM services WHERE id = :id", {{"id", service}}), expires);
  EXPECT_EQ(scalar(db(), "SELECT traffic_limit_bytes FROM services WHERE id = :id", {{"id", service}}), 10 * kGiB);

  ASSERT_TRUE(server.set_used_traffic("sara_1", 8 * kGiB + kGiB / 2));  // 85%
  r = pass();
  EXPECT_EQ(r.sent, 1);
  auto sent = sender_.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].chat_id, 5001);
  EXPECT_EQ(kind_of(sent[0].text), "traffic_80");
  EXPECT_NE(sent[0].text.find("sara_1"), std::string::npos);
  EXPECT_NE(sent[0].text.find("۸۵٪"), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find("۸٫۵ GB از ۱۰ GB"), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find(telegram::progress_bar(0.85)), std::string::npos);
  EXPECT_EQ(scalar(db(), "SELECT traffic_used_bytes FROM services WHERE id = :id", {{"id", service}}),
            8 * kGiB + kGiB / 2);
  r = pass();
  EXPECT_EQ(r.sent, 0);
  EXPECT_EQ(r.already_sent, 1);

  ASSERT_TRUE(server.set_used_traffic("sara_1", 9 * kGiB + kGiB * 6 / 10));  // 96%
  pass();
  EXPECT_EQ(kinds_sent(sender_), "traffic_95");

  clock_.set_unix_seconds(expires - 2 * kDay - 3600);  // 2 days 1 hour left
  pass();
  sent = sender_.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(kind_of(sent[0].text), "expiry_3d");
  EXPECT_NE(sent[0].text.find(i18n::format_date(expires, i18n::Lang::kFa)), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find("۳ روز"), std::string::npos) << sent[0].text;

  clock_.set_unix_seconds(expires - 20 * 3600);
  pass();
  EXPECT_EQ(kinds_sent(sender_), "expiry_1d");
  pass();
  EXPECT_EQ(kinds_sent(sender_), "");

  clock_.set_unix_seconds(expires + 60);
  r = pass();
  EXPECT_EQ(r.expired, 1);
  EXPECT_EQ(kinds_sent(sender_), "expired");
  EXPECT_EQ(status_of(service), "expired");

  // Expired services are no longer looked at; a restarted scheduler sends nothing again.
  NoticeScheduler restarted(db(), panels_, sender_, catalog_, clock_);
  auto again = restarted.run_once();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->services, 0);
  EXPECT_EQ(sender_.attempts(), 5u);
  EXPECT_EQ(scalar(db(), "SELECT count(*) FROM notices_sent WHERE service_id = :id", {{"id", service}}), 5);
}

TEST_P(NoticesTest, ARenewalStartsAFreshCycleAndARestartSendsNothingTwice) {
  const auto panel_id = add_panel(db(), "p1");  // no panel object: the stored figures count
  const auto ali = add_user(db(), {.telegram_id = 6001, .language = "en"});
  const std::int64_t end = clock_.unix_seconds() + 20 * 3600;
  const auto service = add_service(db(), {.user_id = ali,
                                          .panel_id = panel_id,
                                          .panel_username = "ali_7",
                                          .limit_bytes = 100 * kGiB,
                                          .used_bytes = 85 * kGiB,
                                          .expires_at = end});
  {
    NoticeScheduler scheduler(db(), panels_, sender_, catalog_, clock_);
    auto r = scheduler.run_once();
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->panel_errors, 1);
    EXPECT_EQ(r->sent, 2);
  }
  auto sent = sender_.take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(kind_of(sent[0].text), "traffic_80");
  EXPECT_NE(sent[0].text.find("85% of the traffic of ali_7"), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find("85 GB of 100 GB"), std::string::npos) << sent[0].text;
  EXPECT_EQ(kind_of(sent[1].text), "expiry_1d");
  // English: the Gregorian date, and the time in Tehran.
  EXPECT_NE(sent[1].text.find(i18n::format_date(end, i18n::Lang::kEn)), std::string::npos) << sent[1].text;

  // A restarted scheduler (a new object, as after a process restart) finds the claims.
  {
    NoticeScheduler scheduler(db(), panels_, sender_, catalog_, clock_);
    auto r = scheduler.run_once();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->sent, 0);
    EXPECT_EQ(r->already_sent, 2);
  }

  // Renewed for 30 days with usage reset, then used again to 85%: fresh notices.
  const std::int64_t renewed = end + 30 * kDay;
  exec(db(), "UPDATE services SET expires_at = :e, traffic_used_bytes = :u WHERE id = :id",
       {{"e", renewed}, {"u", 85 * kGiB}, {"id", service}});
  NoticeScheduler scheduler(db(), panels_, sender_, catalog_, clock_);
  ASSERT_TRUE(scheduler.run_once());
  EXPECT_EQ(kinds_sent(sender_), "traffic_80");
  clock_.set_unix_seconds(renewed - 3600);
  ASSERT_TRUE(scheduler.run_once());
  EXPECT_EQ(kinds_sent(sender_), "expiry_1d");
  EXPECT_EQ(scalar(db(), "SELECT count(DISTINCT cycle) FROM notices_sent WHERE service_id = :id", {{"id", service}}),
            2);
}

TEST_P(NoticesTest, TwoSchedulersAtOnceSendEachNoticeOnce) {
  const auto panel_id = add_panel(db(), "p1");
  constexpr int kServices = 40;
  for (int i = 0; i < kServices; ++i) {
    const auto user = add_user(db(), {.telegram_id = 7000 + i});
    add_service(db(), {.user_id = user,
                       .panel_id = panel_id,
                       .panel_username = "u" + std::to_string(i),
                       .limit_bytes = 10 * kGiB,
                       .used_bytes = 9 * kGiB,                            // 90%: traffic_80
                       .expires_at = clock_.unix_seconds() + 2 * kDay});  // expiry_3d
  }
  RecordingSender other;
  NoticeOptions options;
  options.batch = 7;  // several pages each
  NoticeScheduler a(db(), panels_, sender_, catalog_, clock_, options);
  NoticeScheduler b(db(), panels_, other, catalog_, clock_, options);
  Result<NoticePassReport> ra, rb;
  std::thread ta([&] { ra = a.run_once(); });
  std::thread tb([&] { rb = b.run_once(); });
  ta.join();
  tb.join();
  ASSERT_TRUE(ra) << ra.error().to_string();
  ASSERT_TRUE(rb) << rb.error().to_string();
  EXPECT_EQ(ra->sent + rb->sent, 2 * kServices);
  EXPECT_EQ(ra->already_sent + rb->already_sent, 2 * kServices);
  std::multiset<std::pair<std::int64_t, std::string>> seen;
  for (auto* s : {&sender_, &other}) {
    for (const auto& n : s->take()) seen.insert({n.chat_id, kind_of(n.text)});
  }
  ASSERT_EQ(seen.size(), 2u * kServices);
  for (int i = 0; i < kServices; ++i) {
    EXPECT_EQ(seen.count({7000 + i, "traffic_80"}), 1u) << i;
    EXPECT_EQ(seen.count({7000 + i, "expiry_3d"}), 1u) << i;
  }
}

TEST_P(NoticesTest, RetryableFailuresGiveTheClaimBackFinalOnesKeepItBlockedPeopleAreSkipped) {
  const auto panel_id = add_panel(db(), "p1");
  const auto user = add_user(db(), {.telegram_id = 8001});
  const auto blocked = add_user(db(), {.telegram_id = 8002, .blocked_bot = true});
  const auto banned = add_user(db(), {.telegram_id = 8003, .banned = true});
  const std::int64_t end = clock_.unix_seconds() + 2 * kDay;
  add_service(db(), {.user_id = user, .panel_id = panel_id, .panel_username = "a1", .expires_at = end});
  add_service(db(), {.user_id = blocked, .panel_id = panel_id, .panel_username = "a2", .expires_at = end});
  add_service(db(), {.user_id = banned, .panel_id = panel_id, .panel_username = "a3", .expires_at = end});
  NoticeScheduler scheduler(db(), panels_, sender_, catalog_, clock_);

  sender_.script({SendOutcome::kRetryLater});
  auto r = scheduler.run_once();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->retry_later, 1);
  EXPECT_EQ(r->skipped_blocked, 2);
  EXPECT_EQ(scalar(db(), "SELECT count(*) FROM notices_sent"), 0);
  r = scheduler.run_once();  // the next pass sends it
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sent, 1);
  EXPECT_EQ(kinds_sent(sender_), "expiry_3d");

  // Telegram refuses expiry_1d for good: the claim stays and it is not tried again.
  clock_.set_unix_seconds(end - 3600);
  sender_.script({SendOutcome::kRejected});
  r = scheduler.run_once();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rejected, 1);
  const auto attempts = sender_.attempts();
  r = scheduler.run_once();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->already_sent, 1);
  EXPECT_EQ(sender_.attempts(), attempts);

  // The person blocks the bot before expiry: marked, claim given back, skipped from then on.
  clock_.set_unix_seconds(end + 1);
  sender_.script({SendOutcome::kBlocked});
  r = scheduler.run_once();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->expired, 3);  // every service ended, whoever owns it
  EXPECT_EQ(scalar(db(), "SELECT blocked_bot FROM users WHERE id = :id", {{"id", user}}), 1);
  EXPECT_EQ(scalar(db(), "SELECT count(*) FROM notices_sent WHERE kind = 'expired'"), 0);
}

TEST_P(NoticesTest, NoticesReachPeopleThroughTheRuntimeAndBlockersAreMarked) {
  Sandbox sandbox;
  const auto sara_tg = sandbox.person("Sara");
  const auto reza_tg = sandbox.person("Reza", /*blocked=*/true);
  const auto panel_id = add_panel(db(), "p1");
  const auto sara = add_user(db(), {.telegram_id = sara_tg});
  const auto reza = add_user(db(), {.telegram_id = reza_tg, .language = "en"});
  const std::int64_t end = clock_.unix_seconds() + 5 * kDay;
  const auto s1 = add_service(db(), {.user_id = sara,
                                     .panel_id = panel_id,
                                     .panel_username = "sara_9",
                                     .limit_bytes = 20 * kGiB,
                                     .used_bytes = 17 * kGiB,
                                     .expires_at = end});
  add_service(db(), {.user_id = reza,
                     .panel_id = panel_id,
                     .panel_username = "reza_4",
                     .limit_bytes = 20 * kGiB,
                     .used_bytes = 19 * kGiB,
                     .expires_at = end});
  BotNoticeSender sender(sandbox.context());
  NoticeOptions options;
  options.keyboard = [this](const NoticeSubject& subject) {
    telegram::InlineKeyboardButton renew;
    renew.text = catalog_.render(subject.lang, "shop.notice.renew_button");
    renew.callback_data = "ren:" + std::to_string(subject.service_id);
    telegram::InlineKeyboardMarkup kb;
    kb.inline_keyboard = {{renew}};
    return std::optional(kb);
  };
  NoticeScheduler scheduler(db(), panels_, sender, catalog_, clock_, options);
  auto r = scheduler.run_once();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->sent, 1);
  EXPECT_EQ(r->skipped_blocked, 1);

  auto messages = sandbox.bot_messages(sara_tg);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(kind_of(messages[0]["text"]), "traffic_80");
  EXPECT_EQ(messages[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "ren:" + std::to_string(s1));
  EXPECT_EQ(messages[0]["reply_markup"]["inline_keyboard"][0][0]["text"], "🔄 تمدید");
  EXPECT_EQ(scalar(db(), "SELECT blocked_bot FROM users WHERE id = :id", {{"id", reza}}), 1);
  EXPECT_EQ(scalar(db(), "SELECT blocked_bot FROM users WHERE id = :id", {{"id", sara}}), 0);
  // The runtime reported it too (on its HTTP thread, perhaps just after the answer).
  EXPECT_TRUE(eventually([&] { return sandbox.blocked() == std::vector<std::int64_t>{reza_tg}; }));
  ASSERT_TRUE(scheduler.run_once());
  EXPECT_EQ(sandbox.bot_messages(sara_tg).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, NoticesTest,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::shop
