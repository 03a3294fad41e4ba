#include "domain/package_json.hpp"

#include <climits>
#include <initializer_list>
#include <set>
#include <string>

namespace ms::domain {
namespace {

using nlohmann::json;

std::string join(std::string_view prefix, std::string_view field) {
  if (prefix.empty()) return std::string(field);
  std::string out(prefix);
  out += '.';
  out += field;
  return out;
}

tl::unexpected<Error> bad(std::string_view path, std::string_view what) {
  std::string msg(path);
  msg += ": ";
  msg += what;
  return fail(ErrorCode::kInvalidArgument, std::move(msg));
}

// Refuses fields outside `known` and any non-object, so typos never pass silently.
Result<void> expect_object(const json& j, std::string_view path, std::initializer_list<std::string_view> known) {
  if (!j.is_object()) return bad(path.empty() ? "package" : path, "must be a JSON object");
  for (const auto& item : j.items()) {
    bool found = false;
    for (auto k : known) found = found || item.key() == k;
    if (!found) return bad(join(path, item.key()), "unknown field");
  }
  return ok();
}

Result<const json*> field(const json& j, std::string_view path, std::string_view name) {
  auto it = j.find(std::string(name));
  if (it == j.end()) return bad(join(path, name), "is required");
  return &*it;
}

Result<std::string> read_string(const json& j, std::string_view path, std::string_view name) {
  auto f = field(j, path, name);
  if (!f) return fail(f.error());
  if (!(*f)->is_string()) return bad(join(path, name), "must be a string");
  auto value = (*f)->get<std::string>();
  if (value.empty()) return bad(join(path, name), "must not be empty");
  return value;
}

Result<bool> read_bool(const json& j, std::string_view path, std::string_view name) {
  auto f = field(j, path, name);
  if (!f) return fail(f.error());
  if (!(*f)->is_boolean()) return bad(join(path, name), "must be true or false");
  return (*f)->get<bool>();
}

Result<std::optional<int>> read_limit(const json& j, std::string_view path, std::string_view name) {
  auto f = field(j, path, name);
  if (!f) return fail(f.error());
  const json& v = **f;
  if (v.is_null()) return std::optional<int>{};
  // Unsigned JSON numbers above INT64_MAX would wrap in get<int64_t>, so check them apart.
  if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<std::uint64_t>() > INT_MAX)) {
    const auto n = v.get<std::int64_t>();
    if (n >= 0 && n <= INT_MAX) return std::optional<int>{static_cast<int>(n)};
  }
  return bad(join(path, name), "must be an integer >= 0, or null for unlimited");
}

template <class E>
Result<E> read_enum(const json& j, std::string_view path, std::string_view name) {
  auto f = field(j, path, name);
  if (!f) return fail(f.error());
  std::string expected;
  for (E v : all_values<E>()) {
    if (!expected.empty()) expected += ", ";
    expected += to_string(v);
  }
  if (!(*f)->is_string()) return bad(join(path, name), "must be one of " + expected);
  auto value = parse<E>((*f)->get<std::string>());
  if (!value)
    return bad(join(path, name), "unknown value '" + (*f)->get<std::string>() + "' (expected " + expected + ")");
  return *value;
}

bool valid_code(std::string_view code) {
  if (code.empty() || code.size() > 32) return false;
  for (char c : code) {
    const bool okc = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!okc) return false;
  }
  return true;
}

Result<PackageLimits> limits_from_json(const json& j, std::string_view path) {
  if (auto r = expect_object(
          j, path, {"shop_bots", "users_with_service", "panels", "support", "analytics", "white_label", "api_access"});
      !r) {
    return fail(r.error());
  }
  PackageLimits out;
  auto shop_bots = read_limit(j, path, "shop_bots");
  if (!shop_bots) return fail(shop_bots.error());
  auto users = read_limit(j, path, "users_with_service");
  if (!users) return fail(users.error());
  auto panels = read_limit(j, path, "panels");
  if (!panels) return fail(panels.error());
  auto support = read_enum<SupportLevel>(j, path, "support");
  if (!support) return fail(support.error());
  auto analytics = read_enum<AnalyticsLevel>(j, path, "analytics");
  if (!analytics) return fail(analytics.error());
  auto white_label = read_bool(j, path, "white_label");
  if (!white_label) return fail(white_label.error());
  auto api_access = read_bool(j, path, "api_access");
  if (!api_access) return fail(api_access.error());
  out.shop_bots = *shop_bots;
  out.users_with_service = *users;
  out.panels = *panels;
  out.support = *support;
  out.analytics = *analytics;
  out.white_label = *white_label;
  out.api_access = *api_access;
  return out;
}

Result<Package> package_at(const json& j, std::string_view path) {
  if (auto r =
          expect_object(j, path, {"code", "name_fa", "name_en", "monthly_price", "yearly_price", "limits", "active"});
      !r) {
    return fail(r.error());
  }
  Package p;
  auto code = read_string(j, path, "code");
  if (!code) return fail(code.error());
  auto name_fa = read_string(j, path, "name_fa");
  if (!name_fa) return fail(name_fa.error());
  auto name_en = read_string(j, path, "name_en");
  if (!name_en) return fail(name_en.error());
  auto monthly_json = field(j, path, "monthly_price");
  if (!monthly_json) return fail(monthly_json.error());
  auto monthly = money_from_json(**monthly_json, join(path, "monthly_price"));
  if (!monthly) return fail(monthly.error());
  auto yearly_json = field(j, path, "yearly_price");
  if (!yearly_json) return fail(yearly_json.error());
  auto yearly = money_from_json(**yearly_json, join(path, "yearly_price"));
  if (!yearly) return fail(yearly.error());
  auto limits_json = field(j, path, "limits");
  if (!limits_json) return fail(limits_json.error());
  auto limits = limits_from_json(**limits_json, join(path, "limits"));
  if (!limits) return fail(limits.error());
  p.code = std::move(*code);
  p.name_fa = std::move(*name_fa);
  p.name_en = std::move(*name_en);
  p.monthly_price = *monthly;
  p.yearly_price = *yearly;
  p.limits = *limits;
  if (j.contains("active")) {
    auto active = read_bool(j, path, "active");
    if (!active) return fail(active.error());
    p.active = *active;
  }
  // The rules that span fields, shared with validate_package().
  auto checked = validate_package(p);
  if (!checked) {
    Error e = checked.error();
    if (!path.empty()) e.message = std::string(path) + "." + e.message;
    return fail(std::move(e));
  }
  return p;
}

json limit_to_json(const std::optional<int>& limit) { return limit ? json(*limit) : json(nullptr); }

}  // namespace

json money_to_json(const Money& money) {
  return json{{"minor", money.minor}, {"currency", std::string(currency_code(money.currency))}};
}

Result<Money> money_from_json(const json& j, std::string_view path) {
  if (auto r = expect_object(j, path, {"minor", "currency"}); !r) return fail(r.error());
  auto minor = field(j, path, "minor");
  if (!minor) return fail(minor.error());
  if (!(*minor)->is_number_integer() || (*minor)->get<std::int64_t>() < 0 ||
      ((*minor)->is_number_unsigned() && (*minor)->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))) {
    return bad(join(path, "minor"), "must be an integer >= 0 (minor units: cents, rials)");
  }
  auto code = field(j, path, "currency");
  if (!code) return fail(code.error());
  std::optional<Currency> currency;
  if ((*code)->is_string()) currency = currency_from_code((*code)->get<std::string>());
  if (!currency) return bad(join(path, "currency"), "must be one of IRR, USD, USDT, XTR");
  return Money{(*minor)->get<std::int64_t>(), *currency};
}

json package_to_json(const Package& p) {
  const PackageLimits& l = p.limits;
  return json{
      {"code", p.code},
      {"name_fa", p.name_fa},
      {"name_en", p.name_en},
      {"monthly_price", money_to_json(p.monthly_price)},
      {"yearly_price", money_to_json(p.yearly_price)},
      {"limits",
       {{"shop_bots", limit_to_json(l.shop_bots)},
        {"users_with_service", limit_to_json(l.users_with_service)},
        {"panels", limit_to_json(l.panels)},
        {"support", std::string(to_string(l.support))},
        {"analytics", std::string(to_string(l.analytics))},
        {"white_label", l.white_label},
        {"api_access", l.api_access}}},
      {"active", p.active},
  };
}

json packages_to_json(std::span<const Package> packages) {
  json out = json::array();
  for (const auto& p : packages) out.push_back(package_to_json(p));
  return out;
}

Result<Package> package_from_json(const json& j) { return package_at(j, ""); }

Result<std::vector<Package>> packages_from_json(const json& j) {
  if (!j.is_array()) return bad("packages", "must be a JSON array");
  if (j.empty()) return bad("packages", "must list at least one package");
  std::vector<Package> out;
  std::set<std::string> codes;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string path = "packages[" + std::to_string(i) + "]";
    auto p = package_at(j[i], path);
    if (!p) return fail(p.error());
    if (!codes.insert(p->code).second) return bad(path + ".code", "'" + p->code + "' is used by an earlier package");
    out.push_back(std::move(*p));
  }
  return out;
}

Result<void> validate_package(const Package& p) {
  if (!valid_code(p.code)) return bad("code", "must be 1-32 characters of a-z, 0-9, '_' or '-'");
  if (p.name_fa.empty()) return bad("name_fa", "must not be empty");
  if (p.name_en.empty()) return bad("name_en", "must not be empty");
  if (p.monthly_price.minor < 0)
    return bad("monthly_price.minor", "must be an integer >= 0 (minor units: cents, rials)");
  if (p.yearly_price.minor < 0) return bad("yearly_price.minor", "must be an integer >= 0 (minor units: cents, rials)");
  if (p.yearly_price.currency != p.monthly_price.currency) {
    return bad("yearly_price.currency", "must match monthly_price.currency");
  }
  const auto check_limit_value = [](const std::optional<int>& v, const char* name) -> Result<void> {
    if (v && *v < 0) return bad(std::string("limits.") + name, "must be an integer >= 0, or null for unlimited");
    return ok();
  };
  if (auto r = check_limit_value(p.limits.shop_bots, "shop_bots"); !r) return r;
  if (auto r = check_limit_value(p.limits.users_with_service, "users_with_service"); !r) return r;
  if (auto r = check_limit_value(p.limits.panels, "panels"); !r) return r;
  return ok();
}

}  // namespace ms::domain
