// deploy_bench: how long from a verified payment until the customer's new shop bot answers
// an end user's /start, per deployment backend.
//
//   deploy_bench --backend sqlite|postgres [--pg-url URL] [--dir DIR] [--n 50]
//                [--deployers inprocess,process] [--mothership PATH]
//
// One process on loopback builds what `serve` builds (app::DeployStack: the durable job
// runner, the in-process shop host, with the process backend `mothership runner` children,
// and the real DeployPipeline over them, all with the product's options), once per
// deployer. Telegram is the sandbox emulator behind our HTTP server, reached over real HTTP
// by the pipeline, the in-process bots and the runners alike; the bench watches each answer
// the moment the emulator gives it.
//
// Each deployment: a sandbox bot and its token, an owner and an end user; a customer whose
// package payment was verified (a current subscription, what fulfilment makes of a paid
// order). The clock starts when the deployment is requested the way the master bot does it
// once the package is paid (Deployments::create, the wizard's last step; a bot that waited
// for its package gets Deployments::deploy, which queues the same job). The end user sends
// /start to the new bot at once (it waits in Telegram like a real person's would), and the
// clock stops when the emulator accepts the bot's first sendMessage to that user. Then the
// bot is stopped, so each deployment meets the same quiet machine.
//
// Prints a line per deployment, then per deployer p50/p99/max and the median of each step
// from deployment_steps (plus "queued", the wait before the first step, and "answer", from
// the healthy step's Progress to the answer: negative when the bot, polling already,
// answered before the health check was recorded), and one JSON object on the last line. Targets: < 2 s inprocess, < 5 s
// process. SQLite uses DIR (default: a fresh temp directory, removed afterwards). PostgreSQL needs a scratch database
// in URL; the bench's tenants are erased at the end.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "app/deploy_stack.hpp"
#include "app/runtime.hpp"
#include "bench_util.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/timer_queue.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "observed_bot_api.hpp"
#include "payments/registry.hpp"
#include "sandbox/emulator.hpp"
#include "storage/storage.hpp"
#include "telegram/runtime.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using ms::bench::die;
using ms::bench::must;
using ms::bench::percentile;

struct Flags : ms::bench::DatabaseFlags {
  int n = 50;
  std::vector<std::string> deployers = {"inprocess", "process"};
  std::string mothership = MS_MOTHERSHIP_BIN;
};

Flags parse(int argc, char** argv) {
  Flags f;
  ms::bench::Flags flags("deploy_bench");
  f.add_to(flags);
  flags.number("--n", f.n).texts("--deployers", f.deployers).text("--mothership", f.mothership).parse(argc, argv);
  f.check();
  if (f.n < 1) die("--n must be >= 1");
  for (const auto& d : f.deployers)
    if (d != "inprocess" && d != "process") die("--deployers takes inprocess and/or process, not '" + d + "'");
  return f;
}

// The first sendMessage each chat received, as the emulator accepted it.
class Answers {
 public:
  void on_reply(const std::string& method, std::int64_t chat, const ms::sandbox::ApiReply& reply) {
    if (method != "sendmessage" || reply.status != 200 || chat == 0) return;
    const auto now = SteadyClock::now();
    std::lock_guard lock(mu_);
    if (first_.emplace(chat, now).second) cv_.notify_all();
  }
  std::optional<SteadyClock::time_point> wait_first(std::int64_t chat, std::chrono::milliseconds within) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, within, [&] { return first_.count(chat) > 0; })) return std::nullopt;
    return first_.at(chat);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::int64_t, SteadyClock::time_point> first_;
};

// When each instance passed its health check (from the pipeline's Progress).
class Healthy {
 public:
  void on_progress(const ms::deploy::Progress& p) {
    if (p.step != ms::deploy::Step::kHealthy || p.status != ms::deploy::StepStatus::kDone) return;
    std::lock_guard lock(mu_);
    at_.emplace(p.instance_id, SteadyClock::now());
  }
  std::optional<SteadyClock::time_point> at(std::int64_t id) {
    std::lock_guard lock(mu_);
    auto it = at_.find(id);
    return it == at_.end() ? std::nullopt : std::optional(it->second);
  }

 private:
  std::mutex mu_;
  std::map<std::int64_t, SteadyClock::time_point> at_;
};

double ms_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

constexpr const char* kStepNames[] = {"token_verified", "tenant_ready", "configured", "started", "healthy"};

struct Deployment {
  double latency_ms = 0;
  std::optional<double> healthy_ms;
  std::map<std::string, double> parts;  // "queued", each step, "answer" (healthy -> answer)
  int retries = 0;
};

// What deployment_steps recorded for the instance: the wait before the first step, each
// step's time, and the retries.
void read_steps(ms::storage::Database& master, std::int64_t instance, Deployment& d) {
  auto rows = master.with_session([&](ms::storage::Session& s) {
    return s.query(
        "SELECT d.step, d.attempts, d.started_at_ms, d.finished_at_ms, i.deploy_requested_at_ms FROM deployment_steps "
        "d JOIN bot_instances i ON i.id = d.instance_id WHERE d.instance_id = :i ORDER BY d.started_at_ms",
        {{"i", instance}});
  });
  if (!rows) die("reading deployment_steps: " + rows.error().to_string());
  std::optional<std::int64_t> first_start, requested;
  for (const auto& r : *rows) {
    const auto start = r.get_int("started_at_ms");
    const auto end = r.opt_int("finished_at_ms");
    if (!first_start || start < *first_start) first_start = start;
    requested = r.opt_int("deploy_requested_at_ms");
    if (end) d.parts[r.get_string("step")] = static_cast<double>(*end - start);
    d.retries += static_cast<int>(r.get_int("attempts")) - 1;
  }
  if (first_start && requested) d.parts["queued"] = static_cast<double>(*first_start - *requested);
}

std::int64_t add_paid_customer(ms::storage::Database& master, std::int64_t telegram_id, std::int64_t now) {
  return must(master.transaction([&](ms::storage::Session& s) -> ms::Result<std::int64_t> {
    auto c = s.query_one(
        "INSERT INTO customers (telegram_id, name, created_at, updated_at) VALUES (:tg, 'Bench owner', :now, :now) "
        "RETURNING id",
        {{"tg", telegram_id}, {"now", now}});
    if (!c) return ms::fail(std::move(c.error()));
    const std::int64_t id = (*c)->get_int("id");
    // What fulfilment of a paid package order leaves behind: a current subscription.
    auto sub = s.exec(
        "INSERT INTO subscriptions (customer_id, package_id, state, cycle, period_start, period_end, created_at, "
        "updated_at) SELECT :c, id, 'active', 'monthly', :now, :end, :now, :now FROM packages ORDER BY id LIMIT 1",
        {{"c", id}, {"now", now}, {"end", now + 30 * 86'400}});
    if (!sub) return ms::fail(std::move(sub.error()));
    if (*sub != 1) return ms::fail(ms::ErrorCode::kNotFound, "no package to subscribe to");
    return id;
  }),
              "add a customer");
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  Flags f = parse(argc, argv);
  namespace fs = std::filesystem;
  bool temp_dir = false;
  if (f.dir.empty()) {
    f.dir = (fs::temp_directory_path() / ("ms_deploy_bench_" + std::to_string(::getpid()))).string();
    temp_dir = true;
  }
  fs::create_directories(f.dir);

  // The configuration serve and its runners share: the data directory (SQLite files, the
  // key file, the runners' logs) and, for PostgreSQL, the database URL.
  ms::Config config;
  config.data_dir = f.dir;
  if (f.backend == "postgres") config.database_url = f.pg_url;
  config.log_level = ms::LogLevel::kWarn;

  // Telegram: the emulator (its limits off) behind our HTTP server, watched.
  ms::sandbox::EmulatorOptions eo;
  eo.limits.enabled = false;
  eo.max_long_poll = 5s;
  ms::sandbox::Emulator emulator(eo);
  Answers answers;
  ms::http::ServerOptions hso;
  hso.listen = "127.0.0.1:0";
  hso.handler_timeout = 30s;
  ms::http::Server server(hso);
  ms::bench::add_observed_bot_api(
      server.router(), emulator,
      [&answers](const std::string& method, std::int64_t chat, const ms::sandbox::ApiReply& reply) {
        answers.on_reply(method, chat, reply);
      });
  must(server.start(), "start the emulator's server");
  const std::string api = "http://127.0.0.1:" + std::to_string(server.bound_port()) + "/sandbox";
  config.telegram_api_url = api;

  auto runtime_or = ms::app::open_runtime(config);
  if (!runtime_or) die("open the storage and the key: " + runtime_or.error().error.to_string());
  auto& storage = *runtime_or->storage;
  auto& keyring = *runtime_or->keyring;
  auto& master = storage.master();

  // As serve has them: one Telegram client without a per-host cap, one runtime.
  ms::http::CurlClientOptions tco;
  tco.max_host_connections = 0;
  tco.max_idle_connections = 4096;
  ms::http::CurlClient telegram_http(tco);
  ms::http::CurlClient panels_http;
  ms::http::CurlClient payments_http;
  ms::TimerQueue timers;
  ms::payments::PaymentRegistry payments(
      storage, payments_http, ms::SystemClock::instance(), ms::payments::GatewayUrls{},
      [&keyring](const std::string& envelope) { return ms::crypto::decrypt(keyring, envelope); });
  ms::telegram::BotRuntime runtime(telegram_http, timers, api);

  json results = json::object();
  std::vector<std::string> misses;
  int serial = 0;
  for (const auto& deployer : f.deployers) {
    config.deploy_backend = deployer == "process" ? ms::DeployBackend::kProcess : ms::DeployBackend::kInprocess;
    const auto backend = deployer == "process" ? ms::deploy::Backend::kProcess : ms::deploy::Backend::kInProcess;
    ms::app::DeployStack stack(config, storage, keyring, payments, runtime, telegram_http, panels_http, timers, api,
                               f.mothership);
    Healthy healthy;
    auto subscription =
        stack.pipeline().subscribe([&healthy](const ms::deploy::Progress& p) { healthy.on_progress(p); });
    must(stack.start(), "start the deployment stack");

    std::vector<Deployment> done;
    std::cout << deployer << " on " << f.backend << ": " << f.n << " deployments\n";
    for (int k = 0; k < f.n; ++k) {
      ++serial;
      const std::string username = "deploy_bench_" + std::to_string(serial) + "_bot";
      auto bot = must(emulator.create_bot(username, "Bench shop " + std::to_string(serial)), "create a bot");
      const auto owner = must(emulator.create_user({0, "Owner", "", "", "fa"}), "owner")["id"].get<std::int64_t>();
      const auto person = must(emulator.create_user({0, "Alice", "", "", "en"}), "person")["id"].get<std::int64_t>();
      const auto customer = add_paid_customer(master, owner, ms::SystemClock::instance().unix_seconds());

      ms::deploy::NewInstance ni;
      ni.customer_id = customer;
      ni.token = bot.token;
      ni.owner_telegram_id = owner;
      ni.backend = backend;
      const auto t0 = SteadyClock::now();
      const auto id = must(stack.pipeline().create(ni), "request the deployment");
      must(emulator.send_command(person, username, "start"), "send /start");
      auto answered = answers.wait_first(person, 60s);
      if (!answered) {
        auto st = stack.pipeline().status(id);
        die(deployer + " deployment " + std::to_string(k + 1) + " (instance " + std::to_string(id) +
            "): no answer to /start within 60 s; state " +
            (st ? std::string(ms::domain::to_string(st->state)) + ", last error: " + st->last_error : "unknown"));
      }
      Deployment d;
      d.latency_ms = ms_between(t0, *answered);
      // The healthy step may be recorded a moment after the answer; wait a little for it.
      for (int i = 0; i < 500 && !healthy.at(id); ++i) std::this_thread::sleep_for(10ms);
      if (auto h = healthy.at(id)) {
        d.healthy_ms = ms_between(t0, *h);
        d.parts["answer"] = ms_between(*h, *answered);
      }
      read_steps(master, id, d);
      std::cout << "  " << deployer << " #" << (k + 1) << ": " << static_cast<long>(d.latency_ms) << " ms"
                << (d.healthy_ms ? " (healthy at " + std::to_string(static_cast<long>(*d.healthy_ms)) + " ms)" : "")
                << "  queued " << static_cast<long>(d.parts["queued"]);
      for (const char* step : kStepNames) std::cout << ", " << step << " " << static_cast<long>(d.parts[step]);
      if (d.healthy_ms) std::cout << ", answer " << static_cast<long>(d.parts["answer"]);
      std::cout << (d.retries ? "  [" + std::to_string(d.retries) + " retries]" : "") << "\n";
      done.push_back(std::move(d));
      must(stack.pipeline().stop(id), "stop the bot");
    }
    subscription.reset();

    std::vector<double> latency, to_healthy;
    int retries = 0;
    for (const auto& d : done) {
      latency.push_back(d.latency_ms);
      if (d.healthy_ms) to_healthy.push_back(*d.healthy_ms);
      retries += d.retries;
    }
    json steps = json::object();
    std::vector<std::string> parts = {"queued"};
    parts.insert(parts.end(), std::begin(kStepNames), std::end(kStepNames));
    parts.push_back("answer");
    std::cout << deployer << " on " << f.backend << ": p50 " << static_cast<long>(percentile(latency, 0.5))
              << " ms, p99 " << static_cast<long>(percentile(latency, 0.99)) << " ms, max "
              << static_cast<long>(percentile(latency, 1.0)) << " ms; healthy p50 "
              << static_cast<long>(percentile(to_healthy, 0.5)) << " ms; retries " << retries << "\n  median per step:";
    for (const auto& part : parts) {
      std::vector<double> v;
      for (const auto& d : done) {
        if (auto it = d.parts.find(part); it != d.parts.end()) v.push_back(it->second);
      }
      steps[part] = percentile(v, 0.5);
      std::cout << " " << part << " " << static_cast<long>(percentile(v, 0.5));
    }
    std::cout << " (ms)\n";
    const double target = deployer == "process" ? 5'000 : 2'000;
    const bool within = percentile(latency, 0.99) < target;
    if (!within) misses.push_back(deployer);
    results[deployer] = {{"n", done.size()},
                         {"p50_ms", percentile(latency, 0.5)},
                         {"p99_ms", percentile(latency, 0.99)},
                         {"max_ms", percentile(latency, 1.0)},
                         {"healthy_p50_ms", percentile(to_healthy, 0.5)},
                         {"retries", retries},
                         {"steps_p50_ms", steps},
                         {"target_ms", target},
                         {"within_target", within}};
  }

  runtime.shutdown();
  server.stop(200ms);
  if (f.backend == "postgres") {
    auto tenants = master.with_session([](ms::storage::Session& s) {
      return s.query("SELECT tenant_id FROM customers WHERE name = 'Bench owner' AND tenant_id IS NOT NULL");
    });
    if (tenants)
      for (const auto& r : *tenants) (void)storage.erase_tenant(r.get_int("tenant_id"));
  }
  runtime_or->storage.reset();
  if (temp_dir) fs::remove_all(f.dir);

  json out = {{"bench", "deploy"}, {"backend", f.backend}, {"n", f.n}, {"deployers", results}};
  std::cout << out.dump() << "\n";
  return 0;
}
