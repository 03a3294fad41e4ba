#include "bots/shop/stats.hpp"

#include <algorithm>
#include <map>

#include "core/i18n/digits.hpp"
#include "core/i18n/money_format.hpp"

namespace ms::shop {
namespace {

constexpr std::int64_t kDay = 86'400;

// An order that is a sale (see the header). COALESCE: a NULL note must not make NOT(...) NULL.
constexpr std::string_view kSale =
    "o.status IN ('paid', 'provisioning', 'completed') AND o.kind <> 'topup' "
    "AND NOT (o.kind = 'new' AND o.amount_minor = 0 AND COALESCE(o.note, '') LIKE 'trial:%')";

std::string sql(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}

// Adds `minor` of `code` to the per-currency list, kept in currency order.
Result<void> add_revenue(Sales& sales, std::string_view code, std::int64_t minor) {
  auto currency = currency_from_code(code);
  if (!currency) return fail(ErrorCode::kCorrupted, "stats: an order has the unknown currency " + std::string(code));
  for (auto& m : sales.revenue) {
    if (m.currency == *currency) {
      m.minor += minor;
      return ok();
    }
  }
  sales.revenue.push_back(Money{minor, *currency});
  std::sort(sales.revenue.begin(), sales.revenue.end(),
            [](const Money& a, const Money& b) { return a.currency < b.currency; });
  return ok();
}

std::string digits(std::int64_t n, i18n::Lang lang) {
  return lang == i18n::Lang::kFa ? i18n::to_persian_digits(std::to_string(n)) : std::to_string(n);
}

std::string revenue_text(const Sales& s, const i18n::Catalog& catalog, i18n::Lang lang) {
  if (s.revenue.empty()) return catalog.render(lang, "shop.stats.no_revenue");
  std::string out;
  for (const auto& m : s.revenue) out += (out.empty() ? "" : " + ") + i18n::format_money(m, lang);
  return out;
}

}  // namespace

double ShopStatsReport::conversion() const {
  return trial_takers > 0 ? static_cast<double>(trial_converted) / static_cast<double>(trial_takers) : 0.0;
}

std::int64_t local_day_start(std::int64_t now, int tz_offset_minutes) {
  const std::int64_t offset = tz_offset_minutes * 60LL;
  std::int64_t local = (now + offset) % kDay;
  if (local < 0) local += kDay;
  return now - local;
}

ShopStats::ShopStats(storage::Database& db, const Clock& clock, ShopStatsOptions options)
    : db_(db), clock_(clock), options_(options) {}

std::vector<ShopStats::Query> ShopStats::queries(std::int64_t now) const {
  const std::int64_t today = local_day_start(now, options_.tz_offset_minutes);
  const std::int64_t d7 = today - 6 * kDay, d30 = today - 29 * kDay;
  const std::int64_t campaign_since = today - (std::max(1, options_.campaign_days) - 1) * kDay;
  return {
      {"users", "SELECT count(*) AS n FROM users", {}},
      {"people_with_service", "SELECT count(DISTINCT user_id) AS n FROM services WHERE status = 'active'", {}},
      {"active_services", "SELECT count(*) AS n FROM services WHERE status = 'active'", {}},
      {"sales",
       sql({"SELECT o.currency, "
            "sum(CASE WHEN o.created_at >= :today THEN 1 ELSE 0 END) AS n_today, "
            "sum(CASE WHEN o.created_at >= :today THEN o.amount_minor ELSE 0 END) AS r_today, "
            "sum(CASE WHEN o.created_at >= :d7 THEN 1 ELSE 0 END) AS n_7, "
            "sum(CASE WHEN o.created_at >= :d7 THEN o.amount_minor ELSE 0 END) AS r_7, "
            "count(*) AS n_30, sum(o.amount_minor) AS r_30 "
            "FROM orders o WHERE o.created_at >= :d30 AND ",
            kSale, " GROUP BY o.currency"}),
       {{"today", today}, {"d7", d7}, {"d30", d30}}},
      {"top_plans",
       sql({"SELECT o.plan_id, p.name, o.currency, count(*) AS n, sum(o.amount_minor) AS r "
            "FROM orders o JOIN plans p ON p.id = o.plan_id WHERE o.created_at >= :d30 AND ",
            kSale, " GROUP BY o.plan_id, p.name, o.currency"}),
       {{"d30", d30}}},
      {"trial_takers", "SELECT count(*) AS n FROM users WHERE trial_used_at IS NOT NULL", {}},
      {"trial_converted",
       sql({"SELECT count(*) AS n FROM users u WHERE u.trial_used_at IS NOT NULL AND EXISTS (SELECT 1 FROM orders o "
            "WHERE o.user_id = u.id AND o.amount_minor > 0 AND o.created_at >= u.trial_used_at AND ",
            kSale, ")"}),
       {}},
      {"campaign_people", "SELECT campaign, count(*) AS n FROM users WHERE campaign IS NOT NULL GROUP BY campaign", {}},
      {"campaign_sales",
       sql({"SELECT u.campaign, o.currency, count(*) AS n, sum(o.amount_minor) AS r FROM orders o "
            "JOIN users u ON u.id = o.user_id WHERE o.created_at >= :since AND u.campaign IS NOT NULL AND ",
            kSale, " GROUP BY u.campaign, o.currency"}),
       {{"since", campaign_since}}},
  };
}

Result<ShopStatsReport> ShopStats::collect() {
  const std::int64_t now = clock_.unix_seconds();
  const auto qs = queries(now);
  auto results = db_.snapshot([&](storage::Session& s) -> Result<std::map<std::string, storage::Rows>> {
    std::map<std::string, storage::Rows> out;
    for (const auto& q : qs) {
      auto rows = s.query(q.sql, q.params);
      if (!rows) return fail(std::move(rows.error()));
      out.emplace(q.name, std::move(*rows));
    }
    return out;
  });
  if (!results) return fail(std::move(results.error()));
  auto& r = *results;
  auto single = [&](const std::string& name) { return r[name].empty() ? 0 : r[name].front().get_int("n"); };

  ShopStatsReport report;
  report.day_start = local_day_start(now, options_.tz_offset_minutes);
  report.users = single("users");
  report.people_with_service = single("people_with_service");
  report.active_services = single("active_services");
  report.trial_takers = single("trial_takers");
  report.trial_converted = single("trial_converted");

  for (const auto& row : r["sales"]) {
    const std::string code = row.get_string("currency");
    report.today.count += row.get_int("n_today");
    report.last_7_days.count += row.get_int("n_7");
    report.last_30_days.count += row.get_int("n_30");
    // A currency shows in a window only when it sold there.
    if (row.get_int("n_today") > 0) {
      if (auto a = add_revenue(report.today, code, row.get_int("r_today")); !a) return fail(std::move(a.error()));
    }
    if (row.get_int("n_7") > 0) {
      if (auto a = add_revenue(report.last_7_days, code, row.get_int("r_7")); !a) return fail(std::move(a.error()));
    }
    if (auto a = add_revenue(report.last_30_days, code, row.get_int("r_30")); !a) return fail(std::move(a.error()));
  }

  std::map<std::int64_t, PlanSales> plans;
  for (const auto& row : r["top_plans"]) {
    auto& p = plans[row.get_int("plan_id")];
    p.plan_id = row.get_int("plan_id");
    p.name = row.get_string("name");
    p.sales.count += row.get_int("n");
    if (auto a = add_revenue(p.sales, row.get_string("currency"), row.get_int("r")); !a) {
      return fail(std::move(a.error()));
    }
  }
  for (auto& [id, p] : plans) report.top_plans.push_back(std::move(p));
  std::stable_sort(report.top_plans.begin(), report.top_plans.end(),
                   [](const PlanSales& a, const PlanSales& b) { return a.sales.count > b.sales.count; });
  if (report.top_plans.size() > static_cast<std::size_t>(std::max(0, options_.top_plans))) {
    report.top_plans.resize(static_cast<std::size_t>(std::max(0, options_.top_plans)));
  }

  std::map<std::string, CampaignStats> campaigns;
  for (const auto& row : r["campaign_people"]) {
    auto& c = campaigns[row.get_string("campaign")];
    c.campaign = row.get_string("campaign");
    c.people = row.get_int("n");
  }
  for (const auto& row : r["campaign_sales"]) {
    auto& c = campaigns[row.get_string("campaign")];
    c.campaign = row.get_string("campaign");
    c.sales.count += row.get_int("n");
    if (auto a = add_revenue(c.sales, row.get_string("currency"), row.get_int("r")); !a) {
      return fail(std::move(a.error()));
    }
  }
  for (auto& [tag, c] : campaigns) report.campaigns.push_back(std::move(c));
  std::stable_sort(report.campaigns.begin(), report.campaigns.end(),
                   [](const CampaignStats& a, const CampaignStats& b) {
                     return a.sales.count != b.sales.count ? a.sales.count > b.sales.count : a.people > b.people;
                   });
  if (report.campaigns.size() > static_cast<std::size_t>(std::max(0, options_.campaigns))) {
    report.campaigns.resize(static_cast<std::size_t>(std::max(0, options_.campaigns)));
  }
  return report;
}

std::string render_stats(const ShopStatsReport& report, const i18n::Catalog& catalog, i18n::Lang lang) {
  auto t = [&](std::string_view key, const i18n::Args& args = {}) { return catalog.render(lang, key, args); };
  std::string out = t("shop.stats.title") + "\n\n";
  out += t("shop.stats.people", {{"users", digits(report.users, lang)},
                                 {"with_service", digits(report.people_with_service, lang)},
                                 {"active", digits(report.active_services, lang)}}) +
         "\n\n";
  auto sales_line = [&](std::string_view label_key, const Sales& s) {
    return t("shop.stats.sales_line",
             {{"label", t(label_key)}, {"count", digits(s.count, lang)}, {"revenue", revenue_text(s, catalog, lang)}}) +
           "\n";
  };
  out += sales_line("shop.stats.today", report.today);
  out += sales_line("shop.stats.last_7_days", report.last_7_days);
  out += sales_line("shop.stats.last_30_days", report.last_30_days);

  out += "\n" + t("shop.stats.top_plans") + "\n";
  if (report.top_plans.empty()) out += t("shop.stats.none") + "\n";
  for (std::size_t i = 0; i < report.top_plans.size(); ++i) {
    const auto& p = report.top_plans[i];
    out += t("shop.stats.plan_line", {{"rank", digits(static_cast<std::int64_t>(i + 1), lang)},
                                      {"name", p.name},
                                      {"count", digits(p.sales.count, lang)},
                                      {"revenue", revenue_text(p.sales, catalog, lang)}}) +
           "\n";
  }

  const auto percent = static_cast<std::int64_t>(report.conversion() * 100 + 0.5);
  out += "\n" +
         t("shop.stats.trials", {{"trials", digits(report.trial_takers, lang)},
                                 {"converted", digits(report.trial_converted, lang)},
                                 {"percent", digits(percent, lang)}}) +
         "\n";

  out += "\n" + t("shop.stats.campaigns") + "\n";
  if (report.campaigns.empty()) out += t("shop.stats.none") + "\n";
  for (const auto& c : report.campaigns) {
    out += t("shop.stats.campaign_line", {{"campaign", c.campaign},
                                          {"people", digits(c.people, lang)},
                                          {"count", digits(c.sales.count, lang)},
                                          {"revenue", revenue_text(c.sales, catalog, lang)}}) +
           "\n";
  }
  return out;
}

}  // namespace ms::shop
