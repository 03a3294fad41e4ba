// Platform packages (Starter / Professional / Enterprise) and their limits, as editable data.
//
// The operator edits packages (see package_json.hpp); code never hard-codes a limit: it asks
// check_limit() at the point of use, and a refusal carries a clear message for the owner.
// A limit of std::nullopt means unlimited.
// Thread-safety: plain values and pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.hpp"
#include "core/result.hpp"
#include "domain/enum_names.hpp"
#include "domain/subscription_state.hpp"

namespace ms::domain {

enum class SupportLevel { kEmailTicket, kAllDay, kDedicated };   // names: email_ticket, 24_7, dedicated
enum class AnalyticsLevel { kBasic, kAdvanced };                 // names: basic, advanced
enum class LimitKind { kShopBots, kUsersWithService, kPanels };  // names: shop_bots, users_with_service, panels
enum class Feature { kWhiteLabel, kApiAccess };                  // names: white_label, api_access

std::string_view to_string(SupportLevel v);
template <>
std::optional<SupportLevel> parse<SupportLevel>(std::string_view text);
template <>
std::span<const SupportLevel> all_values<SupportLevel>();
std::string_view to_string(AnalyticsLevel v);
template <>
std::optional<AnalyticsLevel> parse<AnalyticsLevel>(std::string_view text);
template <>
std::span<const AnalyticsLevel> all_values<AnalyticsLevel>();
std::string_view to_string(LimitKind v);
template <>
std::optional<LimitKind> parse<LimitKind>(std::string_view text);
template <>
std::span<const LimitKind> all_values<LimitKind>();
std::string_view to_string(Feature v);
template <>
std::optional<Feature> parse<Feature>(std::string_view text);
template <>
std::span<const Feature> all_values<Feature>();

struct PackageLimits {
  std::optional<int> shop_bots;           // nullopt = unlimited
  std::optional<int> users_with_service;  // end users holding at least one service
  std::optional<int> panels;              // Marzban (or other) panels
  SupportLevel support = SupportLevel::kEmailTicket;
  AnalyticsLevel analytics = AnalyticsLevel::kBasic;
  bool white_label = false;  // own texts, no platform branding
  bool api_access = false;   // REST API keys

  friend bool operator==(const PackageLimits&, const PackageLimits&) = default;
};

struct Package {
  std::string code;     // stable key: "starter", "professional", "enterprise"
  std::string name_fa;  // «استارتر»
  std::string name_en;  // "Starter"
  Money monthly_price;
  Money yearly_price;
  PackageLimits limits;
  bool active = true;  // inactive packages are kept for existing subscribers, not sold

  friend bool operator==(const Package&, const Package&) = default;
};

Money price_for(const Package& package, BillingCycle cycle);

// The three packages of DESIGN.md, priced in USD; yearly = 10 months' price.
std::vector<Package> default_packages();

// nullopt = unlimited.
std::optional<int> limit_of(const PackageLimits& limits, LimitKind kind);
bool has_feature(const PackageLimits& limits, Feature feature);

// Why adding one more of `kind` was refused. The i18n catalog renders it with
// message_key() and the fields below as parameters ({package}, {limit}, {current}).
struct LimitViolation {
  LimitKind kind = LimitKind::kShopBots;
  int limit = 0;             // what the package allows
  std::int64_t current = 0;  // what the owner already has
  std::string package_code;
  std::string package_name_en;
  std::string package_name_fa;

  // "limit.shop_bots", "limit.users_with_service", "limit.panels"
  std::string message_key() const;
  // "Your Starter package allows 100 end users with a service; upgrade to sell to more."
  std::string message_en() const;
};

// `current_count` is how many the owner has now, before adding one more. Adding is allowed
// while current_count < limit; unlimited always allows. Returns the violation otherwise.
std::optional<LimitViolation> find_limit_violation(const Package& package, LimitKind kind, std::int64_t current_count);

// ok() when one more is allowed; ErrorCode::kLimitExceeded with LimitViolation::message_en()
// otherwise. Use find_limit_violation() when the caller needs the localisable parts.
Result<void> check_limit(const Package& package, LimitKind kind, std::int64_t current_count);

// ok() when the package includes `feature`; kPermissionDenied with an English message
// naming the package and the feature otherwise ("Your Starter package does not include
// API access; upgrade to use it.").
Result<void> check_feature(const Package& package, Feature feature);

}  // namespace ms::domain
