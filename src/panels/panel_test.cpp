// Pure parts of the Panel interface: renewal arithmetic, names, owner messages.
#include "panels/panel.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "core/i18n/catalog.hpp"
#include "panels/marzban/marzban.hpp"

namespace ms::panels {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::int64_t kDay = 86'400;
constexpr std::int64_t kGiB = 1LL << 30;

Account account(std::int64_t expire, std::int64_t limit, std::int64_t used,
                AccountStatus status = AccountStatus::kActive) {
  Account a;
  a.username = "t1_1_1";
  a.expire_at = expire;
  a.data_limit_bytes = limit;
  a.used_bytes = used;
  a.status = status;
  return a;
}

TEST(PlanRenewal, CarryOverAddsToWhatIsLeft) {
  auto plan = plan_renewal(account(kNow + 5 * kDay, 10 * kGiB, 4 * kGiB), {30 * kDay, 20 * kGiB, true}, kNow);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->changes.expire_at, kNow + 35 * kDay) << "time left carries over";
  EXPECT_EQ(plan->changes.data_limit_bytes, 30 * kGiB) << "traffic left carries over";
  EXPECT_FALSE(plan->reset_usage);
}

TEST(PlanRenewal, AnExpiredAccountCountsFromNow) {
  auto plan =
      plan_renewal(account(kNow - 3 * kDay, 10 * kGiB, 10 * kGiB, AccountStatus::kExpired), {30 * kDay, 0, true}, kNow);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->changes.expire_at, kNow + 30 * kDay);
  EXPECT_FALSE(plan->changes.data_limit_bytes) << "no traffic added: the limit stays";
}

TEST(PlanRenewal, AFreshPeriodForfeitsWhatIsLeft) {
  auto plan = plan_renewal(account(kNow + 5 * kDay, 10 * kGiB, 4 * kGiB), {30 * kDay, 20 * kGiB, false}, kNow);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->changes.expire_at, kNow + 30 * kDay);
  EXPECT_EQ(plan->changes.data_limit_bytes, 20 * kGiB);
  EXPECT_TRUE(plan->reset_usage);
}

TEST(PlanRenewal, UnlimitedStaysUnlimited) {
  auto plan = plan_renewal(account(0, 0, 4 * kGiB), {30 * kDay, 20 * kGiB, true}, kNow);
  ASSERT_TRUE(plan);
  EXPECT_FALSE(plan->changes.expire_at);
  EXPECT_FALSE(plan->changes.data_limit_bytes);
}

TEST(PlanRenewal, RejectsAbsurdValues) {
  auto negative = plan_renewal(account(kNow, kGiB, 0), {-1, 0, true}, kNow);
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().kind, PanelErrorKind::kValidation);
  auto overflow = plan_renewal(account(kNow, std::numeric_limits<std::int64_t>::max() - 5, 0), {0, 10, true}, kNow);
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().kind, PanelErrorKind::kValidation);
  auto far = plan_renewal(account(std::numeric_limits<std::int64_t>::max() - 5, kGiB, 0), {kDay, 0, true}, kNow);
  ASSERT_FALSE(far);
}

TEST(PanelNames, RoundTrip) {
  for (auto p : {Protocol::kVmess, Protocol::kVless, Protocol::kTrojan, Protocol::kShadowsocks})
    EXPECT_EQ(parse_protocol(to_string(p)), p);
  EXPECT_EQ(to_string(ResetStrategy::kMonth), "month") << "Marzban says month, not monthly";
  EXPECT_FALSE(parse_reset_strategy("monthly"));
  EXPECT_EQ(parse_account_status("on_hold"), AccountStatus::kOnHold);
}

TEST(PanelErrors, EveryKindHasAnOwnerMessageInBothLanguages) {
  i18n::Catalog catalog;
  for (int k = 0; k <= static_cast<int>(PanelErrorKind::kAddressRefused); ++k) {
    PanelError e{static_cast<PanelErrorKind>(k), 0, "detail text", {}};
    for (auto lang : {i18n::Lang::kFa, i18n::Lang::kEn}) {
      std::string text = catalog.render(lang, e.message_key(), {{"detail", e.detail}});
      EXPECT_NE(text, e.message_key()) << e.message_key() << " missing in " << i18n::to_string(lang);
      EXPECT_EQ(text.find('{'), std::string::npos) << text;
    }
    EXPECT_FALSE(e.to_error().message.empty());
  }
  EXPECT_TRUE((PanelError{PanelErrorKind::kTimeout, 0, "", {}}).transient());
  EXPECT_FALSE((PanelError{PanelErrorKind::kValidation, 422, "", {}}).transient());
  EXPECT_EQ((PanelError{PanelErrorKind::kValidation, 422, "username: bad", {}}).describe(),
            "validation (422): username: bad");
}

TEST(MarzbanUrl, Normalizes) {
  EXPECT_EQ(*MarzbanPanel::normalize_url("https://p.example.com:8443/"), "https://p.example.com:8443");
  EXPECT_EQ(*MarzbanPanel::normalize_url(" https://p.example.com/secret/dashboard/#/login "),
            "https://p.example.com/secret");
  EXPECT_EQ(*MarzbanPanel::normalize_url("http://1.2.3.4:8000/x?y=1"), "http://1.2.3.4:8000/x");
  EXPECT_FALSE(MarzbanPanel::normalize_url("ftp://x"));
  EXPECT_FALSE(MarzbanPanel::normalize_url("panel.example.com"));
}

}  // namespace
}  // namespace ms::panels
