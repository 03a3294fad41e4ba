// panels_bench: the Marzban client's per-call overhead and provisioning throughput, against
// the strict Marzban test panel in this process (loopback HTTP), at several concurrencies.
//
//   panels_bench [--concurrency 1,8] [--calls N] [--orders N] [--dir DIR]
//
// Per concurrency level:
//  - raw:   GET /api/system straight through CurlClient (HTTP + test panel only);
//  - panel: MarzbanPanel::system() (adds token, call cap, health bookkeeping, JSON parse);
//  - provision: Provisioner::provision() of fresh orders on a SQLite tenant (reserve row,
//    inbounds check, POST /api/user, mark active).
// Prints human lines, then one JSON object on the last line.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "core/crypto/keyring.hpp"
#include "marzban_server.hpp"
#include "panels/marzban/marzban.hpp"
#include "panels/panel_repository.hpp"
#include "panels/provision.hpp"
#include "storage/order_repository.hpp"

namespace {

using Steady = std::chrono::steady_clock;

using ms::bench::die;
using ms::bench::percentile;

struct Figures {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  nlohmann::json json() const { return {{"per_second", per_second}, {"p50_ms", p50_ms}, {"p99_ms", p99_ms}}; }
};

// Runs `total` calls of fn(i) on `threads` threads; fn returns false on failure.
Figures measure(int threads, int total, const std::function<bool(int)>& fn) {
  std::vector<double> latencies(static_cast<std::size_t>(total));
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  auto t0 = Steady::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < total; i = next++) {
        auto s = Steady::now();
        if (!fn(i)) ++failures;
        latencies[static_cast<std::size_t>(i)] = std::chrono::duration<double, std::milli>(Steady::now() - s).count();
      }
    });
  }
  for (auto& t : pool) t.join();
  double seconds = std::chrono::duration<double>(Steady::now() - t0).count();
  if (failures > 0) die(std::to_string(failures.load()) + " calls failed");
  Figures f;
  f.per_second = total / seconds;
  f.p50_ms = percentile(latencies, 0.5);
  f.p99_ms = percentile(latencies, 0.99);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> levels{1, 8};
  int calls = 4000;
  int orders = 1000;
  std::string dir;
  ms::bench::Flags("panels_bench")
      .numbers("--concurrency", levels)
      .number("--calls", calls)
      .number("--orders", orders)
      .text("--dir", dir)
      .parse(argc, argv);
  bool own_dir = dir.empty();
  if (own_dir) dir = (std::filesystem::temp_directory_path() / ("panels_bench_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);

  ms::marzban_test::MarzbanTestServer server;
  if (auto s = server.start(); !s) die(s.error().to_string());
  ms::http::CurlClient client;

  ms::storage::StorageOptions so;
  so.data_dir = dir;
  auto storage = ms::storage::Storage::open(so);
  if (!storage) die(storage.error().to_string());
  if (auto m = (*storage)->migrate(); !m) die(m.error().to_string());
  auto tenant = (*storage)->create_tenant(1);
  if (!tenant) die(tenant.error().to_string());
  ms::crypto::SecretBox box{ms::crypto::Keyring(ms::crypto::generate_key())};
  ms::panels::PanelRepository panels(**tenant, box);
  ms::panels::PanelRecord record;
  record.name = "bench";
  record.base_url = server.base_url();
  record.username = "admin";
  record.password = ms::crypto::Secret("admin");
  auto panel_id = panels.insert(record, 1);
  if (!panel_id) die(panel_id.error().to_string());
  auto user = (*tenant)->with_session([](ms::storage::Session& s) {
    return s.query_one("INSERT INTO users (telegram_id, created_at, updated_at) VALUES (1, 1, 1) RETURNING id");
  });
  if (!user || !*user) die("cannot add a user");
  const std::int64_t user_id = (**user).get_int("id");

  nlohmann::json out = {{"bench", "panels"}, {"calls", calls}, {"orders", orders}, {"levels", nlohmann::json::array()}};
  int order_base = 0;
  for (int level : levels) {
    ms::panels::MarzbanOptions mo;
    mo.base_url = server.base_url();
    mo.username = "admin";
    mo.password = ms::crypto::Secret("admin");
    mo.max_concurrent = level;  // the default cap is 4; here the cap follows the level measured
    ms::panels::MarzbanPanel panel(client, mo);
    if (!panel.system()) die("panel not reachable");

    std::string token;
    {
      ms::http::ClientRequest login;
      login.method = "POST";
      login.url = server.base_url() + "/api/admin/token";
      login.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
      login.body = "username=admin&password=admin";
      auto r = client.send_sync(login);
      if (!r || r->status != 200) die("login failed");
      token = nlohmann::json::parse(r->body)["access_token"];
    }
    Figures raw = measure(level, calls, [&](int) {
      ms::http::ClientRequest req;
      req.url = server.base_url() + "/api/system";
      req.headers.emplace_back("Authorization", "Bearer " + token);
      auto r = client.send_sync(std::move(req));
      return r && r->status == 200;
    });
    Figures via_panel = measure(level, calls, [&](int) { return panel.system().has_value(); });

    std::vector<std::int64_t> order_ids;
    ms::storage::OrderRepository repo(**tenant);
    for (int i = 0; i < orders; ++i) {
      ms::storage::Order o;
      o.user_id = user_id;
      o.status = "paid";
      o.amount = ms::Money{1000, ms::Currency::kIrr};
      auto id = repo.insert(o);
      if (!id) die(id.error().to_string());
      order_ids.push_back(*id);
    }
    ms::panels::Provisioner provisioner(**tenant, ms::SystemClock::instance());
    Figures prov = measure(level, orders, [&](int i) {
      ms::panels::ProvisionRequest r;
      r.tenant_id = 1;
      r.user_id = user_id;
      r.order_id = order_ids[static_cast<std::size_t>(i)];
      r.panel_id = *panel_id;
      r.account.inbounds = {{ms::panels::Protocol::kVless, {}}};
      r.account.data_limit_bytes = 10LL << 30;
      r.account.expire_at = 1'900'000'000;
      auto done = provisioner.provision(panel, r);
      if (!done) std::cerr << done.error().to_string() << "\n";
      return done.has_value();
    });
    order_base += orders;
    double overhead_us = (via_panel.p50_ms - raw.p50_ms) * 1000.0;
    std::cout << "concurrency " << level << ": raw GET " << raw.per_second << "/s (p50 " << raw.p50_ms
              << " ms), MarzbanPanel::system " << via_panel.per_second << "/s (p50 " << via_panel.p50_ms
              << " ms, overhead p50 " << overhead_us << " us), provision " << prov.per_second << "/s (p50 "
              << prov.p50_ms << " ms, p99 " << prov.p99_ms << " ms)\n";
    out["levels"].push_back({{"concurrency", level},
                             {"raw_get", raw.json()},
                             {"panel_call", via_panel.json()},
                             {"overhead_p50_us", overhead_us},
                             {"provision", prov.json()}});
  }
  if (server.user_count() != static_cast<std::size_t>(order_base)) die("account count does not match orders");
  server.stop();
  storage->reset();
  if (own_dir) std::filesystem::remove_all(dir);
  std::cout << out.dump() << std::endl;
  return 0;
}
