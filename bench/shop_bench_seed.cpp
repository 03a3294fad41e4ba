// Seeding a shop tenant for shop_bench (see shop_bench_seed.hpp).
#include "shop_bench_seed.hpp"

#include "bench_util.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string_view>

namespace shop_bench {

namespace {

using ms::bench::die;
using ms::bench::must;
using ms::bench::seconds_since;

// Multi-row INSERTs of literal values (numbers and fixed words only), 500 rows a statement,
// 100 statements a transaction, all on one connection.
class BulkInserter {
 public:
  BulkInserter(ms::storage::Session& session, std::string head) : s_(session), head_(std::move(head)) {}
  void add(std::string row) {
    rows_.push_back(std::move(row));
    if (rows_.size() == kRowsPerStatement) flush_statement();
  }
  void finish() {
    flush_statement();
    commit();
  }

 private:
  static constexpr std::size_t kRowsPerStatement = 500;
  static constexpr std::size_t kStatementsPerTransaction = 100;

  void flush_statement() {
    if (rows_.empty()) return;
    std::string sql = head_;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      if (i) sql += ',';
      sql += rows_[i];
    }
    rows_.clear();
    statements_.push_back(std::move(sql));
    if (statements_.size() == kStatementsPerTransaction) commit();
  }
  void commit() {
    if (statements_.empty()) return;
    must(s_.exec("BEGIN"), "seed: begin");
    for (const auto& sql : statements_) must(s_.exec(sql), "seed insert");
    must(s_.exec("COMMIT"), "seed: commit");
    statements_.clear();
  }

  ms::storage::Session& s_;
  std::string head_;
  std::vector<std::string> rows_;
  std::vector<std::string> statements_;
};

}  // namespace

std::string language_of(int user_index) { return user_index % 5 == 4 ? "en" : "fa"; }

Seeded seed(ms::storage::Session& db, const SeedSpec& f) {
  const std::int64_t now = f.now;
  const std::int64_t panel_id = f.panel_id;
  const auto& plans = f.plans;
  Seeded out;
  const bool sqlite = db.backend() == ms::storage::Backend::kSqlite;
  // SQLite's 2 MB page cache makes the random index inserts of a million rows crawl; the
  // seeding connection gets 64 MB, and the default back before the bot uses it.
  if (sqlite) must(db.exec("PRAGMA cache_size = -65536"), "cache size");
  const auto t0 = std::chrono::steady_clock::now();
  std::mt19937_64 rng(42);
  const std::int64_t two_years = 2 * 365 * 86'400;

  std::vector<std::string> referral_rows;  // a referred user's row in `referrals` too
  BulkInserter users(db,
                     "INSERT INTO users (id, telegram_id, username, first_name, language, balance_minor, currency, "
                     "referrer_id, created_at, updated_at, last_seen_at) VALUES ");
  for (int i = 0; i < f.users; ++i) {
    const std::int64_t id = i + 1;
    const std::int64_t created = now - two_years + static_cast<std::int64_t>(rng() % two_years);
    const std::string referrer = (i > 10 && rng() % 10 == 0) ? std::to_string(1 + rng() % i) : "NULL";
    if (referrer != "NULL") {
      referral_rows.push_back("(" + referrer + "," + std::to_string(id) + "," + std::to_string((rng() % 2) * 150'000) +
                              ",'IRR'," + std::to_string(created) + ")");
    }
    const std::int64_t balance = rng() % 4 == 0 ? static_cast<std::int64_t>(rng() % 50) * 100'000 : 0;
    users.add("(" + std::to_string(id) + "," + std::to_string(f.telegram_base + i) + ",'user_" + std::to_string(i) +
              "','User " + std::to_string(i) + "','" + language_of(i) + "'," + std::to_string(balance) + ",'IRR'," +
              referrer + "," + std::to_string(created) + "," + std::to_string(created) + "," + std::to_string(created) +
              ")");
  }
  users.finish();
  BulkInserter referrals(
      db, "INSERT INTO referrals (referrer_id, referred_id, reward_minor, currency, created_at) VALUES ");
  for (auto& row : referral_rows) referrals.add(std::move(row));
  referrals.finish();

  // How many services each user ends up with: service_share% have 1-3.
  std::vector<std::uint8_t> wanted(static_cast<std::size_t>(f.users), 0), made(static_cast<std::size_t>(f.users), 0);
  for (auto& w : wanted) {
    if (static_cast<int>(rng() % 100) < f.service_share) w = static_cast<std::uint8_t>(1 + rng() % 3);
  }
  out.newest_service.assign(static_cast<std::size_t>(f.users), 0);

  static constexpr const char* kOtherStatus[] = {"completed", "completed", "completed", "completed", "completed",
                                                 "cancelled", "cancelled", "pending",   "failed",    "refunded"};
  static constexpr const char* kServiceStatus[] = {"active", "active", "active",  "active",  "active",
                                                   "active", "active", "expired", "expired", "disabled"};
  BulkInserter orders(db,
                      "INSERT INTO orders (id, user_id, plan_id, kind, status, amount_minor, currency, created_at, "
                      "updated_at) VALUES ");
  BulkInserter services(db,
                        "INSERT INTO services (id, user_id, plan_id, panel_id, order_id, panel_username, status, "
                        "subscription_url, traffic_limit_bytes, traffic_used_bytes, expires_at, auto_renew, "
                        "created_at, updated_at) VALUES ");
  std::int64_t service_id = 0;
  std::vector<std::string> service_rows;
  for (std::int64_t j = 1; j <= f.orders; ++j) {
    const auto u = static_cast<std::size_t>(rng() % static_cast<std::uint64_t>(f.users));
    const std::int64_t created = now - two_years + (two_years * j) / (f.orders + 1);
    const std::int64_t plan = plans[rng() % plans.size()];
    const bool for_service = made[u] < wanted[u];
    const char* kind = for_service ? "new" : (rng() % 3 == 0 ? "new" : "renew");
    const char* status = for_service ? "completed" : kOtherStatus[rng() % 10];
    orders.add("(" + std::to_string(j) + "," + std::to_string(u + 1) + "," + std::to_string(plan) + ",'" + kind +
               "','" + status + "'," + std::to_string(f.price_minor) + ",'IRR'," + std::to_string(created) + "," +
               std::to_string(created) + ")");
    if (for_service) {
      ++made[u];
      ++service_id;
      out.newest_service[u] = service_id;
      const std::string name = "u" + std::to_string(u) + "_" + std::to_string(made[u]);
      const char* st = kServiceStatus[rng() % 10];
      const std::int64_t expires = std::string_view(st) == "expired"
                                       ? now - static_cast<std::int64_t>(rng() % 86'400)
                                       : now + static_cast<std::int64_t>(rng() % 2'592'000);
      service_rows.push_back("(" + std::to_string(service_id) + "," + std::to_string(u + 1) + "," +
                             std::to_string(plan) + "," + std::to_string(panel_id) + "," + std::to_string(j) + ",'" +
                             name + "','" + st + "','http://127.0.0.1:1/sub/" + name + "'," +
                             std::to_string(50LL << 30) + "," + std::to_string(rng() % (50LL << 30)) + "," +
                             std::to_string(expires) + "," + std::to_string(rng() % 2) + "," + std::to_string(created) +
                             "," + std::to_string(created) + ")");
    }
  }
  orders.finish();
  for (auto& row : service_rows) services.add(std::move(row));
  services.finish();
  out.services = service_id;

  if (sqlite) {
    must(db.exec("PRAGMA cache_size = -2000"), "cache size");
  } else {
    // Explicit ids do not move BIGSERIAL sequences; and a real tenant's tables would have been
    // vacuumed and analyzed by autovacuum long ago (left to it, the vacuum of a fresh million
    // rows may run during the measurement and compete with the bot for the cores).
    for (const char* t : {"users", "orders", "services", "referrals"}) {
      must(db.query(std::string("SELECT setval(pg_get_serial_sequence('") + t + "', 'id'), (SELECT max(id) FROM " + t +
                    "))"),
           "sequences");
    }
    must(db.exec("VACUUM ANALYZE"), "vacuum");
  }
  out.seconds = seconds_since(t0);
  return out;
}

}  // namespace shop_bench
