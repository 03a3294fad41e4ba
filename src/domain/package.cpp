#include "domain/package.hpp"

#include <array>

namespace ms::domain {
namespace {

constexpr auto kSupportNames = std::to_array<detail::EnumName<SupportLevel>>({
    {SupportLevel::kEmailTicket, "email_ticket"},
    {SupportLevel::kAllDay, "24_7"},
    {SupportLevel::kDedicated, "dedicated"},
});
constexpr auto kAnalyticsNames = std::to_array<detail::EnumName<AnalyticsLevel>>({
    {AnalyticsLevel::kBasic, "basic"},
    {AnalyticsLevel::kAdvanced, "advanced"},
});
constexpr auto kLimitNames = std::to_array<detail::EnumName<LimitKind>>({
    {LimitKind::kShopBots, "shop_bots"},
    {LimitKind::kUsersWithService, "users_with_service"},
    {LimitKind::kPanels, "panels"},
});
constexpr auto kFeatureNames = std::to_array<detail::EnumName<Feature>>({
    {Feature::kWhiteLabel, "white_label"},
    {Feature::kApiAccess, "api_access"},
});

Money usd(std::int64_t dollars) { return Money{dollars * 100, Currency::kUsd}; }

Package make_package(std::string code, std::string name_fa, std::string name_en, std::int64_t monthly_usd,
                     PackageLimits limits) {
  Package p;
  p.code = std::move(code);
  p.name_fa = std::move(name_fa);
  p.name_en = std::move(name_en);
  p.monthly_price = usd(monthly_usd);
  // Yearly billing at a discount: twelve months for the price of ten.
  p.yearly_price = usd(monthly_usd * 10);
  p.limits = limits;
  p.active = true;
  return p;
}

// "1 shop bot" / "3 shop bots", and what the owner may do after upgrading.
struct KindWords {
  const char* singular;
  const char* plural;
  const char* upgrade_to;
};

KindWords words_for(LimitKind kind) {
  switch (kind) {
    case LimitKind::kShopBots: return {"shop bot", "shop bots", "create more"};
    case LimitKind::kUsersWithService: return {"end user with a service", "end users with a service", "sell to more"};
    case LimitKind::kPanels: return {"panel", "panels", "add more"};
  }
  return {"item", "items", "add more"};
}

const char* feature_words(Feature feature) {
  switch (feature) {
    case Feature::kWhiteLabel: return "white-label branding";
    case Feature::kApiAccess: return "API access";
  }
  return "this feature";
}

}  // namespace

MS_DOMAIN_ENUM_NAMES(SupportLevel, kSupportNames)
MS_DOMAIN_ENUM_NAMES(AnalyticsLevel, kAnalyticsNames)
MS_DOMAIN_ENUM_NAMES(LimitKind, kLimitNames)
MS_DOMAIN_ENUM_NAMES(Feature, kFeatureNames)

Money price_for(const Package& package, BillingCycle cycle) {
  return cycle == BillingCycle::kYearly ? package.yearly_price : package.monthly_price;
}

std::vector<Package> default_packages() {
  std::vector<Package> out;
  out.push_back(
      make_package("starter", "استارتر", "Starter", 50,
                   PackageLimits{1, 100, 1, SupportLevel::kEmailTicket, AnalyticsLevel::kBasic, false, false}));
  out.push_back(make_package("professional", "حرفه‌ای", "Professional", 100,
                             PackageLimits{3, 500, 5, SupportLevel::kAllDay, AnalyticsLevel::kAdvanced, true, false}));
  out.push_back(make_package("enterprise", "سازمانی", "Enterprise", 200,
                             PackageLimits{std::nullopt, std::nullopt, std::nullopt, SupportLevel::kDedicated,
                                           AnalyticsLevel::kAdvanced, true, true}));
  return out;
}

std::optional<int> limit_of(const PackageLimits& limits, LimitKind kind) {
  switch (kind) {
    case LimitKind::kShopBots: return limits.shop_bots;
    case LimitKind::kUsersWithService: return limits.users_with_service;
    case LimitKind::kPanels: return limits.panels;
  }
  return std::nullopt;
}

bool has_feature(const PackageLimits& limits, Feature feature) {
  switch (feature) {
    case Feature::kWhiteLabel: return limits.white_label;
    case Feature::kApiAccess: return limits.api_access;
  }
  return false;
}

std::string LimitViolation::message_key() const { return "limit." + std::string(to_string(kind)); }

std::string LimitViolation::message_en() const {
  const KindWords w = words_for(kind);
  std::string msg = "Your " + package_name_en + " package allows " + std::to_string(limit) + " ";
  msg += limit == 1 ? w.singular : w.plural;
  msg += "; upgrade to ";
  msg += w.upgrade_to;
  msg += ".";
  return msg;
}

std::optional<LimitViolation> find_limit_violation(const Package& package, LimitKind kind, std::int64_t current_count) {
  const std::optional<int> limit = limit_of(package.limits, kind);
  if (!limit || current_count < *limit) return std::nullopt;
  return LimitViolation{kind, *limit, current_count, package.code, package.name_en, package.name_fa};
}

Result<void> check_limit(const Package& package, LimitKind kind, std::int64_t current_count) {
  auto violation = find_limit_violation(package, kind, current_count);
  if (!violation) return ok();
  return fail(ErrorCode::kLimitExceeded, violation->message_en());
}

Result<void> check_feature(const Package& package, Feature feature) {
  if (has_feature(package.limits, feature)) return ok();
  return fail(ErrorCode::kPermissionDenied, "Your " + package.name_en + " package does not include " +
                                                feature_words(feature) + "; upgrade to use it.");
}

}  // namespace ms::domain
