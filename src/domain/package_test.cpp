#include "domain/package.hpp"

#include <gtest/gtest.h>

#include "domain/state_table_testing.hpp"

namespace ms::domain {
namespace {

const Package& find(const std::vector<Package>& all, const std::string& code) {
  for (const auto& p : all) {
    if (p.code == code) return p;
  }
  throw std::runtime_error("no package " + code);
}

TEST(Package, EnumNames) {
  testing::expect_names_round_trip<SupportLevel>(3);
  testing::expect_names_round_trip<AnalyticsLevel>(2);
  testing::expect_names_round_trip<LimitKind>(3);
  testing::expect_names_round_trip<Feature>(2);
  EXPECT_EQ(to_string(SupportLevel::kAllDay), "24_7");
}

TEST(Package, DefaultsMatchDesignTable) {
  const auto all = default_packages();
  ASSERT_EQ(all.size(), 3u);

  const Package& starter = find(all, "starter");
  EXPECT_EQ(starter.name_en, "Starter");
  EXPECT_EQ(starter.name_fa, "استارتر");
  EXPECT_EQ(starter.monthly_price, (Money{5000, Currency::kUsd}));
  EXPECT_EQ(starter.yearly_price, (Money{50000, Currency::kUsd}));
  EXPECT_EQ(starter.limits.shop_bots, 1);
  EXPECT_EQ(starter.limits.users_with_service, 100);
  EXPECT_EQ(starter.limits.panels, 1);
  EXPECT_EQ(starter.limits.support, SupportLevel::kEmailTicket);
  EXPECT_EQ(starter.limits.analytics, AnalyticsLevel::kBasic);
  EXPECT_FALSE(starter.limits.white_label);
  EXPECT_FALSE(starter.limits.api_access);

  const Package& pro = find(all, "professional");
  EXPECT_EQ(pro.monthly_price, (Money{10000, Currency::kUsd}));
  EXPECT_EQ(pro.limits.shop_bots, 3);
  EXPECT_EQ(pro.limits.users_with_service, 500);
  EXPECT_EQ(pro.limits.panels, 5);
  EXPECT_EQ(pro.limits.support, SupportLevel::kAllDay);
  EXPECT_EQ(pro.limits.analytics, AnalyticsLevel::kAdvanced);
  EXPECT_TRUE(pro.limits.white_label);
  EXPECT_FALSE(pro.limits.api_access);

  const Package& ent = find(all, "enterprise");
  EXPECT_EQ(ent.monthly_price, (Money{20000, Currency::kUsd}));
  EXPECT_FALSE(ent.limits.shop_bots.has_value());
  EXPECT_FALSE(ent.limits.users_with_service.has_value());
  EXPECT_FALSE(ent.limits.panels.has_value());
  EXPECT_EQ(ent.limits.support, SupportLevel::kDedicated);
  EXPECT_TRUE(ent.limits.white_label);
  EXPECT_TRUE(ent.limits.api_access);

  for (const auto& p : all) {
    EXPECT_TRUE(p.active);
    // Yearly is discounted: less than twelve months.
    EXPECT_LT(p.yearly_price.minor, 12 * p.monthly_price.minor) << p.code;
    EXPECT_EQ(price_for(p, BillingCycle::kYearly), p.yearly_price);
    EXPECT_EQ(price_for(p, BillingCycle::kMonthly), p.monthly_price);
  }
}

TEST(Package, LimitBelowAtAndAbove) {
  const Package starter = find(default_packages(), "starter");
  EXPECT_TRUE(check_limit(starter, LimitKind::kUsersWithService, 0));
  EXPECT_TRUE(check_limit(starter, LimitKind::kUsersWithService, 99));

  auto at = check_limit(starter, LimitKind::kUsersWithService, 100);
  ASSERT_FALSE(at);
  EXPECT_EQ(at.error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(at.error().message, "Your Starter package allows 100 end users with a service; upgrade to sell to more.");

  // Above the limit happens after a downgrade: still refused, never silently allowed.
  auto above = check_limit(starter, LimitKind::kUsersWithService, 250);
  ASSERT_FALSE(above);
  EXPECT_EQ(above.error().code, ErrorCode::kLimitExceeded);
}

TEST(Package, SingularAndPluralMessages) {
  const auto all = default_packages();
  auto one_bot = check_limit(find(all, "starter"), LimitKind::kShopBots, 1);
  ASSERT_FALSE(one_bot);
  EXPECT_EQ(one_bot.error().message, "Your Starter package allows 1 shop bot; upgrade to create more.");
  auto five_panels = check_limit(find(all, "professional"), LimitKind::kPanels, 5);
  ASSERT_FALSE(five_panels);
  EXPECT_EQ(five_panels.error().message, "Your Professional package allows 5 panels; upgrade to add more.");
}

TEST(Package, UnlimitedAlwaysAllows) {
  const Package ent = find(default_packages(), "enterprise");
  for (LimitKind kind : all_values<LimitKind>()) {
    EXPECT_TRUE(check_limit(ent, kind, 0));
    EXPECT_TRUE(check_limit(ent, kind, 1'000'000'000));
    EXPECT_FALSE(find_limit_violation(ent, kind, 1'000'000).has_value());
  }
}

TEST(Package, ZeroLimitRefusesTheFirst) {
  Package p = find(default_packages(), "starter");
  p.limits.panels = 0;
  EXPECT_FALSE(check_limit(p, LimitKind::kPanels, 0));
}

TEST(Package, ViolationCarriesLocalisableParts) {
  const Package pro = find(default_packages(), "professional");
  auto v = find_limit_violation(pro, LimitKind::kShopBots, 3);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, LimitKind::kShopBots);
  EXPECT_EQ(v->limit, 3);
  EXPECT_EQ(v->current, 3);
  EXPECT_EQ(v->package_code, "professional");
  EXPECT_EQ(v->package_name_fa, "حرفه‌ای");
  EXPECT_EQ(v->message_key(), "limit.shop_bots");
  EXPECT_FALSE(find_limit_violation(pro, LimitKind::kShopBots, 2).has_value());
}

TEST(Package, Features) {
  const auto all = default_packages();
  auto starter_api = check_feature(find(all, "starter"), Feature::kApiAccess);
  ASSERT_FALSE(starter_api);
  EXPECT_EQ(starter_api.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(starter_api.error().message, "Your Starter package does not include API access; upgrade to use it.");
  EXPECT_FALSE(check_feature(find(all, "starter"), Feature::kWhiteLabel));
  EXPECT_TRUE(check_feature(find(all, "professional"), Feature::kWhiteLabel));
  EXPECT_FALSE(check_feature(find(all, "professional"), Feature::kApiAccess));
  EXPECT_TRUE(check_feature(find(all, "enterprise"), Feature::kApiAccess));
}

}  // namespace
}  // namespace ms::domain
