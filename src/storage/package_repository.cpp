#include "storage/package_repository.hpp"

#include "domain/package_json.hpp"

namespace ms::storage {

namespace {

constexpr std::string_view kColumns =
    "code, name_fa, name_en, monthly_price_minor, yearly_price_minor, currency, max_bots, max_end_users, "
    "max_panels, support_level, analytics_level, white_label, api_access, active";

Value limit_value(const std::optional<int>& v) { return v ? Value{std::int64_t{*v}} : Value{}; }

std::optional<int> limit_of(const Row& r, std::string_view column) {
  auto v = r.opt_int(column);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

Result<domain::Package> from_row(const Row& r) {
  domain::Package p;
  p.code = r.get_string("code");
  p.name_fa = r.get_string("name_fa");
  p.name_en = r.get_string("name_en");
  auto currency = currency_from_code(r.get_string("currency"));
  if (!currency) return fail(ErrorCode::kCorrupted, "package " + p.code + " has an unknown currency");
  p.monthly_price = Money{r.get_int("monthly_price_minor"), *currency};
  p.yearly_price = Money{r.get_int("yearly_price_minor"), *currency};
  p.limits.shop_bots = limit_of(r, "max_bots");
  p.limits.users_with_service = limit_of(r, "max_end_users");
  p.limits.panels = limit_of(r, "max_panels");
  auto support = domain::parse<domain::SupportLevel>(r.get_string("support_level"));
  auto analytics = domain::parse<domain::AnalyticsLevel>(r.get_string("analytics_level"));
  if (!support || !analytics) return fail(ErrorCode::kCorrupted, "package " + p.code + " has an unknown level");
  p.limits.support = *support;
  p.limits.analytics = *analytics;
  p.limits.white_label = r.get_bool("white_label");
  p.limits.api_access = r.get_bool("api_access");
  p.active = r.get_bool("active");
  return p;
}

Result<std::vector<domain::Package>> list_in(Session& s) {
  auto rows = s.query("SELECT " + std::string(kColumns) + " FROM packages ORDER BY sort_order, id");
  if (!rows) return fail(std::move(rows.error()));
  std::vector<domain::Package> out;
  for (const Row& r : *rows) {
    auto p = from_row(r);
    if (!p) return fail(std::move(p.error()));
    out.push_back(std::move(*p));
  }
  return out;
}

Result<void> upsert_in(Session& s, const domain::Package& p, std::int64_t sort_order, std::int64_t now) {
  if (p.yearly_price.currency != p.monthly_price.currency)
    return fail(ErrorCode::kInvalidArgument, "package " + p.code + ": monthly and yearly prices differ in currency");
  auto r = s.exec(
      "INSERT INTO packages (" + std::string(kColumns) +
          ", sort_order, created_at, updated_at) VALUES (:code, :name_fa, :name_en, :monthly, :yearly, :currency, "
          ":bots, :users, :panels, :support, :analytics, :white_label, :api, :active, :sort, :now, :now) "
          "ON CONFLICT (code) DO UPDATE SET name_fa = excluded.name_fa, name_en = excluded.name_en, "
          "monthly_price_minor = excluded.monthly_price_minor, yearly_price_minor = excluded.yearly_price_minor, "
          "currency = excluded.currency, max_bots = excluded.max_bots, max_end_users = excluded.max_end_users, "
          "max_panels = excluded.max_panels, support_level = excluded.support_level, "
          "analytics_level = excluded.analytics_level, white_label = excluded.white_label, "
          "api_access = excluded.api_access, active = excluded.active, sort_order = excluded.sort_order, "
          "updated_at = excluded.updated_at",
      {{"code", p.code},
       {"name_fa", p.name_fa},
       {"name_en", p.name_en},
       {"monthly", p.monthly_price.minor},
       {"yearly", p.yearly_price.minor},
       {"currency", std::string(currency_code(p.monthly_price.currency))},
       {"bots", limit_value(p.limits.shop_bots)},
       {"users", limit_value(p.limits.users_with_service)},
       {"panels", limit_value(p.limits.panels)},
       {"support", std::string(domain::to_string(p.limits.support))},
       {"analytics", std::string(domain::to_string(p.limits.analytics))},
       {"white_label", std::int64_t{p.limits.white_label}},
       {"api", std::int64_t{p.limits.api_access}},
       {"active", std::int64_t{p.active}},
       {"sort", sort_order},
       {"now", now}});
  if (!r) return fail(r.error().code, "package " + p.code + ": " + r.error().message);
  return ok();
}

}  // namespace

Result<std::vector<domain::Package>> PackageRepository::list() {
  return db_.with_session([](Session& s) { return list_in(s); });
}

Result<std::optional<domain::Package>> PackageRepository::get(std::string_view code) {
  return db_.with_session([&](Session& s) -> Result<std::optional<domain::Package>> {
    auto row = s.query_one("SELECT " + std::string(kColumns) + " FROM packages WHERE code = :code",
                           {{"code", std::string(code)}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<domain::Package>();
    auto p = from_row(**row);
    if (!p) return fail(std::move(p.error()));
    return std::optional<domain::Package>(std::move(*p));
  });
}

Result<std::size_t> PackageRepository::upsert_all(std::span<const domain::Package> packages, std::int64_t now) {
  for (const auto& p : packages) {
    if (auto valid = domain::validate_package(p); !valid) return fail(valid.error());
  }
  return db_.transaction([&](Session& s) -> Result<std::size_t> {
    std::int64_t order = 0;
    for (const auto& p : packages) {
      if (auto r = upsert_in(s, p, order++, now); !r) return fail(std::move(r.error()));
    }
    return packages.size();
  });
}

Result<bool> PackageRepository::seed_defaults(std::int64_t now) {
  const auto defaults = domain::default_packages();
  return db_.transaction([&](Session& s) -> Result<bool> {
    auto any = s.query_one("SELECT 1 AS one FROM packages LIMIT 1");
    if (!any) return fail(std::move(any.error()));
    if (*any) return false;
    std::int64_t order = 0;
    for (const auto& p : defaults) {
      if (auto r = upsert_in(s, p, order++, now); !r) return fail(std::move(r.error()));
    }
    return true;
  });
}

}  // namespace ms::storage
