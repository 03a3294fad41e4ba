// ShopStats: the figures an owner sees in /admin, read from the tenant database.
//
// Definitions:
//  - A sale is an order of kind new, renew or traffic (not a wallet top-up) that reached
//    paid or later and stayed there: status paid, provisioning or completed (refunded,
//    failed and cancelled orders are not sales). Free trials are not sales: a trial is an
//    order of kind 'new', amount 0, with a note starting "trial:". A sale counts on the day
//    its order was created.
//  - Days are Iran's (Asia/Tehran, UTC+3:30, no daylight saving): "today" starts at the
//    last Tehran midnight, "7 days" is today and the six days before it, "30 days" likewise.
//  - Revenue is per currency, never converted.
//  - Trial -> paid: people who took a trial (users.trial_used_at) and, since then, paid for
//    a sale with an amount above 0.
//  - Campaigns (users.campaign, from /start deep links): people who arrived with each tag
//    (all time), and their sales and revenue in the last `campaign_days` days.
//
// Each figure is one indexed query (tenant migration 6 adds the indexes), all read from one
// snapshot, so the page stays fast with 100,000 people and 1,000,000 orders.
// Threads: collect() is thread-safe as far as the Database is; it blocks for the queries.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/i18n/calendar.hpp"
#include "core/i18n/catalog.hpp"
#include "core/money.hpp"
#include "core/result.hpp"
#include "storage/storage.hpp"

namespace ms::shop {

struct Sales {
  std::int64_t count = 0;
  std::vector<Money> revenue;  // one entry per currency with sales, in currency order
};

struct PlanSales {
  std::int64_t plan_id = 0;
  std::string name;
  Sales sales;
};

struct CampaignStats {
  std::string campaign;
  std::int64_t people = 0;  // who arrived with the tag, all time
  Sales sales;              // their sales in the last campaign_days days
};

struct ShopStatsReport {
  std::int64_t users = 0;
  std::int64_t people_with_service = 0;  // with at least one active service
  std::int64_t active_services = 0;
  Sales today;
  Sales last_7_days;
  Sales last_30_days;
  std::vector<PlanSales> top_plans;  // most sold in the last 30 days, best first
  std::int64_t trial_takers = 0;
  std::int64_t trial_converted = 0;
  std::vector<CampaignStats> campaigns;  // most sales first, then most people
  std::int64_t day_start = 0;            // unix seconds of today's Tehran midnight

  // trial_converted / trial_takers, 0 when nobody took a trial.
  double conversion() const;
};

struct ShopStatsOptions {
  int tz_offset_minutes = i18n::kIranOffsetMinutes;
  int top_plans = 5;
  int campaigns = 10;
  int campaign_days = 30;
};

class ShopStats {
 public:
  ShopStats(storage::Database& db, const Clock& clock, ShopStatsOptions options = {});

  // Every figure at the clock's now. Failure: a database error, or kCorrupted for an order
  // in a currency this build does not know.
  Result<ShopStatsReport> collect();

  struct Query {
    std::string name;
    std::string sql;
    storage::Params params;
  };
  // The queries collect() runs, with their parameters at `now` (for EXPLAIN in tests).
  std::vector<Query> queries(std::int64_t now) const;

 private:
  storage::Database& db_;
  const Clock& clock_;
  ShopStatsOptions options_;
};

// Tehran midnight (or the given offset's) at or before `now`.
std::int64_t local_day_start(std::int64_t now, int tz_offset_minutes = i18n::kIranOffsetMinutes);

// The report as the owner's /admin message, plain text, in their language (keys shop.stats.*).
std::string render_stats(const ShopStatsReport& report, const i18n::Catalog& catalog, i18n::Lang lang);

}  // namespace ms::shop
