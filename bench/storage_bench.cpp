// storage_bench: order inserts/reads and tenant open latency on SQLite or PostgreSQL.
//
//   storage_bench [--backend sqlite|postgres] [--pg-url URL] [--dir DIR] [--orders N] [--tenants N]
//
// SQLite uses DIR (default: a fresh temp directory, removed afterwards). PostgreSQL needs an
// empty scratch database in URL: the bench creates tenants there and erases them at the end.
// Prints human lines, then one JSON object on the last line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "storage/order_repository.hpp"
#include "storage/storage.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using ms::bench::die;
using ms::bench::must;
using ms::bench::percentile;
using ms::bench::seconds_since;
using ms::storage::Database;
using ms::storage::Order;
using ms::storage::OrderRepository;
using ms::storage::Session;

struct Flags : ms::bench::DatabaseFlags {
  int orders = 20'000;
  int tenants = 1'000;
};

Flags parse(int argc, char** argv) {
  Flags f;
  ms::bench::Flags flags("storage_bench");
  f.add_to(flags);
  flags.number("--orders", f.orders).number("--tenants", f.tenants).parse(argc, argv);
  f.check();
  if (f.orders < 1 || f.tenants < 0) die("--orders must be >= 1 and --tenants >= 0");
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = parse(argc, argv);
  bool temp_dir = false;
  ms::storage::StorageOptions options;
  if (flags.backend == "sqlite") {
    if (flags.dir.empty()) {
      flags.dir =
          (std::filesystem::temp_directory_path() / ("ms_storage_bench_" + std::to_string(::getpid()))).string();
      temp_dir = true;
    }
    options.data_dir = flags.dir;
  } else {
    options.url = flags.pg_url;
    options.data_dir = "";
  }
  auto storage = must(ms::storage::Storage::open(options), "open");
  must(storage->migrate(), "migrate");
  const std::int64_t base = 900'000;  // tenant ids unlikely to clash with real ones
  auto shop = must(storage->create_tenant(base), "create bench tenant");

  constexpr int kUsers = 200;
  std::vector<std::int64_t> users;
  must(shop->transaction([&](Session& s) -> ms::Result<void> {
    for (int i = 0; i < kUsers; ++i) {
      auto row = s.query_one("INSERT INTO users (telegram_id, created_at, updated_at) VALUES (:tg, 1, 1) RETURNING id",
                             {{"tg", std::int64_t{5'000'000'000} + i}});
      if (!row) return ms::fail(std::move(row.error()));
      users.push_back((*row)->get_int("id"));
    }
    return ms::ok();
  }),
       "users");

  auto make_order = [&](int i) {
    Order o;
    o.user_id = users[static_cast<std::size_t>(i) % users.size()];
    o.amount = ms::Money{150'000 + i, ms::Currency::kIrr};
    o.created_at = o.updated_at = 1'700'000'000 + i;
    return o;
  };

  // Batched: transactions of 500 orders.
  constexpr int kBatch = 500;
  std::vector<std::int64_t> ids;
  auto start = Clock::now();
  for (int done = 0; done < flags.orders; done += kBatch) {
    const int n = std::min(kBatch, flags.orders - done);
    must(shop->transaction([&](Session& s) -> ms::Result<void> {
      for (int i = 0; i < n; ++i) {
        auto id = OrderRepository::insert(s, make_order(done + i));
        if (!id) return ms::fail(std::move(id.error()));
        ids.push_back(*id);
      }
      return ms::ok();
    }),
         "batched insert");
  }
  const double batched_rate = flags.orders / seconds_since(start);

  // Autocommit: one order per statement (each a transaction of its own).
  OrderRepository repo(*shop);
  const int singles = std::max(1, std::min(flags.orders, 5'000));
  start = Clock::now();
  for (int i = 0; i < singles; ++i) ids.push_back(must(repo.insert(make_order(i)), "single insert"));
  const double single_rate = singles / seconds_since(start);

  // Reads by id in random order, one borrowed session each, as a request would.
  std::mt19937_64 rng(42);
  std::shuffle(ids.begin(), ids.end(), rng);
  const int reads = std::min<int>(static_cast<int>(ids.size()), flags.orders);
  start = Clock::now();
  for (int i = 0; i < reads; ++i) {
    auto o = must(repo.get(ids[static_cast<std::size_t>(i)]), "read by id");
    if (!o) die("order vanished");
  }
  const double read_rate = reads / seconds_since(start);

  start = Clock::now();
  std::size_t listed = 0;
  for (int round = 0; round < 5; ++round) {
    for (std::int64_t u : users) listed += must(repo.list_by_user(u, 20), "list by user").size();
  }
  const double list_rate = (5.0 * kUsers) / seconds_since(start);

  std::printf("backend            %s\n", flags.backend.c_str());
  std::printf("order inserts      %10.0f /s  (transactions of %d, %d orders)\n", batched_rate, kBatch, flags.orders);
  std::printf("order inserts      %10.0f /s  (autocommit, %d orders)\n", single_rate, singles);
  std::printf("order reads by id  %10.0f /s  (%d random reads)\n", read_rate, reads);
  std::printf("order lists        %10.0f /s  (20 newest of a user, %zu rows)\n", list_rate, listed);

  // Tenants: create + first query, each timed.
  std::vector<double> open_ms;
  open_ms.reserve(static_cast<std::size_t>(flags.tenants));
  for (int i = 1; i <= flags.tenants; ++i) {
    auto t0 = Clock::now();
    auto db = must(storage->create_tenant(base + i), "create tenant");
    must(db->with_session([](Session& s) { return s.query_one("SELECT COUNT(*) AS n FROM users"); }), "first query");
    open_ms.push_back(seconds_since(t0) * 1000.0);
  }
  const double p50 = percentile(open_ms, 0.50);
  const double p99 = percentile(open_ms, 0.99);
  const double max = open_ms.empty() ? 0 : *std::max_element(open_ms.begin(), open_ms.end());
  std::printf("tenant open        p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d tenants: create + migrate + query)\n", p50,
              p99, max, flags.tenants);

  // Re-open: a fresh process opening existing tenants (cold: file or schema not yet open).
  shop.reset();
  storage.reset();
  storage = must(ms::storage::Storage::open(options), "reopen");
  std::vector<double> reopen_ms;
  reopen_ms.reserve(static_cast<std::size_t>(flags.tenants));
  for (int i = 1; i <= flags.tenants; ++i) {
    auto t0 = Clock::now();
    auto db = must(storage->tenant(base + i), "open tenant");
    must(db->with_session([](Session& s) { return s.query_one("SELECT COUNT(*) AS n FROM users"); }), "first query");
    reopen_ms.push_back(seconds_since(t0) * 1000.0);
  }
  const double reopen_p50 = percentile(reopen_ms, 0.50);
  const double reopen_p99 = percentile(reopen_ms, 0.99);
  std::printf("tenant reopen      p50 %.2f ms  p99 %.2f ms  (%d existing tenants, fresh process: open + query)\n",
              reopen_p50, reopen_p99, flags.tenants);

  for (int i = 0; i <= flags.tenants; ++i) must(storage->erase_tenant(base + i), "erase tenant");
  storage.reset();
  if (temp_dir) std::filesystem::remove_all(flags.dir);

  nlohmann::json out = {{"bench", "storage"},
                        {"backend", flags.backend},
                        {"orders", flags.orders},
                        {"order_inserts_per_s", batched_rate},
                        {"order_single_inserts_per_s", single_rate},
                        {"order_reads_per_s", read_rate},
                        {"tenant_reopen_p50_ms", reopen_p50},
                        {"tenant_reopen_p99_ms", reopen_p99},
                        {"order_lists_per_s", list_rate},
                        {"tenants", flags.tenants},
                        {"tenant_open_p50_ms", p50},
                        {"tenant_open_p99_ms", p99},
                        {"tenant_open_max_ms", max}};
  std::cout << out.dump() << std::endl;
  return 0;
}
