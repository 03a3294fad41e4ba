#include "domain/package_json.hpp"

#include <cstdint>

#include <gtest/gtest.h>

namespace ms::domain {
namespace {

using nlohmann::json;

json starter_json() { return package_to_json(default_packages().front()); }

// The error message of parsing `j`, or "" when it parsed.
std::string error_of(const json& j) {
  auto r = package_from_json(j);
  if (r) return "";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return r.error().message;
}

TEST(PackageJson, DefaultsRoundTrip) {
  const auto defaults = default_packages();
  const json j = packages_to_json(defaults);
  ASSERT_TRUE(j.is_array());
  // Through text too, as the operator edits a file.
  auto back = packages_from_json(json::parse(j.dump(2)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, defaults);
}

TEST(PackageJson, ShapeIsReadable) {
  const json j = package_to_json(default_packages().back());
  EXPECT_EQ(j["code"], "enterprise");
  EXPECT_TRUE(j["limits"]["shop_bots"].is_null());
  EXPECT_EQ(j["limits"]["support"], "dedicated");
  EXPECT_EQ(j["monthly_price"]["minor"], 20000);
  EXPECT_EQ(j["monthly_price"]["currency"], "USD");
  const json s = starter_json();
  EXPECT_EQ(s["limits"]["users_with_service"], 100);
  EXPECT_EQ(s["limits"]["support"], "email_ticket");
}

TEST(PackageJson, EditedLimitIsRead) {
  json j = starter_json();
  j["limits"]["users_with_service"] = 150;
  j["limits"]["panels"] = nullptr;
  j["active"] = false;
  auto p = package_from_json(j);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->limits.users_with_service, 150);
  EXPECT_FALSE(p->limits.panels.has_value());
  EXPECT_FALSE(p->active);
}

TEST(PackageJson, ActiveDefaultsToTrue) {
  json j = starter_json();
  j.erase("active");
  auto p = package_from_json(j);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->active);
}

TEST(PackageJson, NegativeLimitNamesField) {
  json j = starter_json();
  j["limits"]["shop_bots"] = -1;
  EXPECT_EQ(error_of(j), "limits.shop_bots: must be an integer >= 0, or null for unlimited");
}

TEST(PackageJson, NonIntegerLimitsRefused) {
  for (json bad : {json(2.5), json("3"), json(true), json(5'000'000'000LL), json(UINT64_MAX), json::object()}) {
    json j = starter_json();
    j["limits"]["panels"] = bad;
    EXPECT_EQ(error_of(j), "limits.panels: must be an integer >= 0, or null for unlimited") << bad.dump();
  }
}

TEST(PackageJson, UnknownEnumListsChoices) {
  json j = starter_json();
  j["limits"]["support"] = "gold";
  EXPECT_EQ(error_of(j), "limits.support: unknown value 'gold' (expected email_ticket, 24_7, dedicated)");
  j = starter_json();
  j["limits"]["analytics"] = 3;
  EXPECT_EQ(error_of(j), "limits.analytics: must be one of basic, advanced");
}

TEST(PackageJson, MissingAndUnknownFields) {
  json j = starter_json();
  j["limits"].erase("white_label");
  EXPECT_EQ(error_of(j), "limits.white_label: is required");
  j = starter_json();
  j["limits"]["shop_bot"] = 2;  // a typo must not pass silently
  EXPECT_EQ(error_of(j), "limits.shop_bot: unknown field");
  j = starter_json();
  j.erase("name_fa");
  EXPECT_EQ(error_of(j), "name_fa: is required");
  EXPECT_EQ(error_of(json::array()), "package: must be a JSON object");
}

TEST(PackageJson, PricesValidated) {
  json j = starter_json();
  j["monthly_price"]["minor"] = -100;
  EXPECT_EQ(error_of(j), "monthly_price.minor: must be an integer >= 0 (minor units: cents, rials)");
  j = starter_json();
  j["yearly_price"]["currency"] = "EUR";
  EXPECT_EQ(error_of(j), "yearly_price.currency: must be one of IRR, USD, USDT, XTR");
  j = starter_json();
  j["yearly_price"]["currency"] = "IRR";
  EXPECT_EQ(error_of(j), "yearly_price.currency: must match monthly_price.currency");
  j = starter_json();
  j["monthly_price"]["minor"] = 49.99;
  EXPECT_EQ(error_of(j), "monthly_price.minor: must be an integer >= 0 (minor units: cents, rials)");
  j = starter_json();
  j["monthly_price"]["minor"] = UINT64_MAX;
  EXPECT_EQ(error_of(j), "monthly_price.minor: must be an integer >= 0 (minor units: cents, rials)");
}

TEST(PackageJson, CodeAndNamesValidated) {
  json j = starter_json();
  j["code"] = "Starter Plus";
  EXPECT_EQ(error_of(j), "code: must be 1-32 characters of a-z, 0-9, '_' or '-'");
  j = starter_json();
  j["name_en"] = "";
  EXPECT_EQ(error_of(j), "name_en: must not be empty");
  j = starter_json();
  j["name_en"] = 5;
  EXPECT_EQ(error_of(j), "name_en: must be a string");
}

TEST(PackageJson, ListErrorsNameTheIndex) {
  json list = packages_to_json(default_packages());
  list[1]["limits"]["panels"] = -5;
  auto r = packages_from_json(list);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "packages[1].limits.panels: must be an integer >= 0, or null for unlimited");

  json dup = packages_to_json(default_packages());
  dup[2]["code"] = "starter";
  auto d = packages_from_json(dup);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "packages[2].code: 'starter' is used by an earlier package");

  EXPECT_FALSE(packages_from_json(json::array()));
  EXPECT_FALSE(packages_from_json(json::object()));
}

TEST(PackageJson, ValidatePackageInCode) {
  Package p = default_packages().front();
  EXPECT_TRUE(validate_package(p));
  p.limits.users_with_service = -3;
  auto r = validate_package(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "limits.users_with_service: must be an integer >= 0, or null for unlimited");
}

TEST(PackageJson, MoneyRoundTrip) {
  for (Money m : {Money{0, Currency::kIrr}, Money{1'250'000, Currency::kIrr}, Money{999, Currency::kUsdt},
                  Money{50, Currency::kXtr}}) {
    auto back = money_from_json(money_to_json(m), "price");
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, m);
  }
  auto missing = money_from_json(json{{"minor", 5}}, "price");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "price.currency: is required");
}

}  // namespace
}  // namespace ms::domain
