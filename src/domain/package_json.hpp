// JSON form of packages, so the operator can edit them (web panel, config file, API).
//
//   {"code": "starter", "name_fa": "استارتر", "name_en": "Starter",
//    "monthly_price": {"minor": 5000, "currency": "USD"},
//    "yearly_price":  {"minor": 50000, "currency": "USD"},
//    "limits": {"shop_bots": 1, "users_with_service": 100, "panels": 1,   // null = unlimited
//               "support": "email_ticket", "analytics": "basic",
//               "white_label": false, "api_access": false},
//    "active": true}                                                      // optional, default true
//
// Reading is strict, because a typo in a limit would silently change what owners may do:
// every field is required (except "active"), unknown fields are refused, and each error is
// ErrorCode::kInvalidArgument whose message starts with the field's path, e.g.
// "packages[1].limits.panels: must be an integer >= 0, or null for unlimited".
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/money.hpp"
#include "core/result.hpp"
#include "domain/package.hpp"

namespace ms::domain {

// {"minor": 5000, "currency": "USD"}
nlohmann::json money_to_json(const Money& money);
// kInvalidArgument naming `path` unless `j` is {"minor": integer >= 0, "currency": known code}.
Result<Money> money_from_json(const nlohmann::json& j, std::string_view path);

nlohmann::json package_to_json(const Package& package);
nlohmann::json packages_to_json(std::span<const Package> packages);

// ok(package) or kInvalidArgument naming the first bad field.
Result<Package> package_from_json(const nlohmann::json& j);
// A JSON array of packages; also refuses an empty list and a code used twice.
Result<std::vector<Package>> packages_from_json(const nlohmann::json& j);

// The same rules for a Package built in code: ok() or kInvalidArgument naming the field.
Result<void> validate_package(const Package& package);

}  // namespace ms::domain
