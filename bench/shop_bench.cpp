// shop_bench: the VPN shop bot (issue 6) on a small and a big tenant — does it stay fast as
// the tenant grows?
//
//   shop_bench --backend sqlite|postgres [--pg-url URL] [--dir DIR] [--sizes 1000,100000]
//              [--people 1000] [--rate 200] [--seconds 6] [--rounds 5] [--service-share 30]
//              [--saturate [--max-rate 6400]]
//
// One process on loopback, with one tenant per size (so that both share every condition of
// the machine):
//   * each tenant database seeded fast (shop_bench_seed.cpp; multi-row INSERTs in big
//     transactions, not through the bot): N end users, 10 orders per user spread over them in
//     time order, and services for `service-share`% of the users (1-3 each, each from one of
//     the user's completed orders);
//   * Telegram: the sandbox emulator behind our HTTP server (its limits off), reached by the
//     bots over real HTTP; the Bot API route is wrapped so the bench sees each answer the
//     moment the emulator accepted it;
//   * per tenant, the strict Marzban test panel (the shop's one location), with an account
//     for each service the bench opens, and the shop bot, all bots in one BotRuntime (our
//     limits off) with Intake::kManual.
// `people` distinct end users of each tenant (drawn from its whole table) act through the
// emulator's person side (a real /start, a real press of a button that is on their screen,
// its callback data built with telegram::encode_callback and the shop's callback key); the
// bench reads the update back with getUpdates and hands it to the bot with deliver(), at a
// fixed offered rate. Latency: from deliver() to the emulator accepting the bot's answer (the
// menu sent, or the screen edited). Scenarios: `start` (/start), `menu` (buy -> location ->
// back -> menu), `services` (my services -> one service, with its live usage from the panel ->
// back -> menu; people who own services), and `referral` (the referral screen -> menu).
// Each scenario runs `rounds` times per tenant, the tenants taking turns in an order that
// alternates (small, big, big, small, ...), so a change in the machine's load falls on both.
// With --saturate, the offered rate then doubles per step until a tenant's bot falls behind.
// Memory: VmHWM of the process from the end of seeding.
//
// SQLite uses DIR (default: a fresh temp directory, removed afterwards). PostgreSQL needs a
// scratch database in URL; the bench's tenants are erased at the end.
// Prints human lines, then one JSON object on the last line.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "core/crypto/keyring.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/timer_queue.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "marzban_server.hpp"
#include "observed_bot_api.hpp"
#include "panels/marzban/marzban.hpp"
#include "panels/panel_repository.hpp"
#include "payments/card/card_to_card.hpp"
#include "payments/service.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/params.hpp"
#include "sandbox/routes.hpp"
#include "bots/shop/settings.hpp"
#include "bots/shop/shop.hpp"
#include "shop_bench_seed.hpp"
#include "storage/storage.hpp"
#include "telegram/callback_data.hpp"
#include "telegram/runtime.hpp"
#include "telegram/types.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using ms::bench::die;
using ms::bench::must;
using ms::bench::percentile;
using ms::bench::seconds_since;

struct Flags : ms::bench::DatabaseFlags {
  std::vector<int> sizes = {1'000, 100'000};  // users per tenant; orders are 10 per user
  int people = 1'000;
  int rate = 200;
  int seconds = 6;         // per round
  int rounds = 5;          // each scenario alternates between the tenants this many times
  int service_share = 30;  // % of users with 1-3 services
  bool saturate = false;   // then: raise the rate until the bot falls behind
  int max_rate = 6'400;
};

Flags parse(int argc, char** argv) {
  Flags f;
  ms::bench::Flags flags("shop_bench");
  f.add_to(flags);
  flags.numbers("--sizes", f.sizes)
      .number("--people", f.people)
      .number("--rate", f.rate)
      .number("--seconds", f.seconds)
      .number("--rounds", f.rounds)
      .number("--service-share", f.service_share)
      .toggle("--saturate", f.saturate)
      .number("--max-rate", f.max_rate)
      .parse(argc, argv);
  f.check();
  if (f.sizes.empty() || f.sizes.size() > 4) die("--sizes takes one to four tenant sizes");
  for (int s : f.sizes)
    if (s < 1) die("sizes must be >= 1");
  if (f.people < 1 || f.rate < 1 || f.seconds < 1 || f.rounds < 1) die("people, rates and times must be >= 1");
  return f;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

long proc_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

// Lets VmHWM measure from now on (Linux: "5" resets the peak RSS). False when refused.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

constexpr std::int64_t kTelegramBase = 700'000'000;  // tenant k's end user i: + k * 10^8 + i

// ---- the people and what the bench sees of the bot's answers ------------------------------

enum class Screen { kNone, kMenu, kLocations, kPlans, kServices, kService, kReferral };

struct Person {
  std::int64_t telegram_id = 0;
  std::int64_t service_id = 0;  // the service they open (their newest), 0 = none
  std::int64_t message_id = 0;  // the bot's message their screen is on
  Screen screen = Screen::kNone;
  int step = 0;  // where they are in their scenario's cycle
  bool busy = false;
  bool broken = false;  // an answer failed: they leave the run
  Screen next = Screen::kNone;
  std::string action;
  std::int64_t t0_ns = 0;
};

struct ActionStats {
  std::vector<double> ms;
};

class Observer {
 public:
  std::mutex mutex;
  std::vector<Person> people;
  std::unordered_map<std::int64_t, std::size_t> by_chat;
  bool recording = false;
  std::map<std::string, ActionStats> actions;
  std::vector<double> latencies_ms;
  std::int64_t last_answer_ns = 0;
  std::int64_t answered = 0;
  std::int64_t errors = 0;
  std::vector<std::string> error_samples;

  // Runs on the HTTP server's thread when the emulator answered a Bot API call.
  void on_reply(const std::string& method, std::int64_t chat, const ms::sandbox::ApiReply& reply) {
    const bool screen = method == "sendmessage" || method == "editmessagetext";
    if (!screen && method != "answercallbackquery") return;
    const std::int64_t t = now_ns();
    std::lock_guard lock(mutex);
    if (reply.status != 200) {
      ++errors;
      if (error_samples.size() < 5)
        error_samples.push_back(method + ": " + reply.body.value("description", std::string("?")));
    }
    if (!screen) return;
    auto it = by_chat.find(chat);
    if (it == by_chat.end()) return;
    Person& p = people[it->second];
    if (!p.busy) return;
    p.busy = false;
    if (reply.status != 200) {
      p.broken = true;
      return;
    }
    if (method == "sendmessage") p.message_id = reply.body["result"].value("message_id", std::int64_t{0});
    p.screen = p.next;
    ++p.step;
    if (recording) {
      const double ms = static_cast<double>(t - p.t0_ns) / 1e6;
      latencies_ms.push_back(ms);
      actions[p.action].ms.push_back(ms);
      ++answered;
      last_answer_ns = t;
    }
  }
};

// ---- the load -----------------------------------------------------------------------------

struct Scenario {
  std::string name;
  int cycle = 1;  // actions that bring a person back to the menu
  // The action a person on `screen` at `step` takes: (action, args, next screen); "start" is /start.
  std::function<std::tuple<std::string, std::vector<ms::telegram::CallbackArg>, Screen>(const Person&)> act;
};

struct Driver {
  ms::sandbox::Emulator& emu;
  ms::telegram::BotRuntime& runtime;
  Observer& obs;
  std::string token;
  std::string bot;
  std::string callback_key;
  ms::telegram::BotKey key = 1;
  std::int64_t offset = 0;
  std::int64_t not_idle = 0;  // ticks that found nobody free to act

  // One person's action, read back from the emulator as the update the bot gets, delivered.
  bool act(std::size_t who, const Scenario& s) {
    std::int64_t tg = 0, message = 0;
    std::string action;
    std::vector<ms::telegram::CallbackArg> args;
    {
      std::lock_guard lock(obs.mutex);
      Person& p = obs.people[who];
      auto [a, as, next] = s.act(p);
      action = a;
      args = as;
      p.next = next;
      p.action = a;
      p.busy = true;
      tg = p.telegram_id;
      message = p.message_id;
    }
    bool done = false;
    if (action == "start") {
      done = static_cast<bool>(emu.send_command(tg, bot, "start"));
    } else {
      auto data = ms::telegram::encode_callback(action, args, callback_key);
      done = data && static_cast<bool>(emu.press_button(tg, bot, message, *data));
    }
    if (!done) return give_up(who, "the person could not act (" + action + ")");
    ms::sandbox::Params params;
    params.add("offset", std::to_string(offset));
    params.add("timeout", "0");
    auto reply = emu.call_sync(token, "getUpdates", std::move(params));
    auto updates = ms::telegram::from_json<std::vector<ms::telegram::Update>>(reply.body["result"]);
    if (!updates || updates->size() != 1) return give_up(who, "getUpdates did not give the one update");
    offset = (*updates)[0].update_id + 1;
    {
      std::lock_guard lock(obs.mutex);
      obs.people[who].t0_ns = now_ns();
    }
    if (auto d = runtime.deliver(key, std::move((*updates)[0])); !d) return give_up(who, d.error().to_string());
    return true;
  }

  bool give_up(std::size_t who, const std::string& why) {
    std::lock_guard lock(obs.mutex);
    obs.people[who].busy = false;
    obs.people[who].broken = true;
    ++obs.errors;
    if (obs.error_samples.size() < 5) obs.error_samples.push_back(why);
    return false;
  }

  // Who acts at tick i: a window of kWindow people takes turns until each went once round
  // the scenario's cycle, then the next window; so every action of the cycle is in the mix
  // and one person acts every kWindow/rate seconds. nullopt when they still wait for the bot.
  static constexpr std::size_t kWindow = 50;
  std::optional<std::size_t> person_at(const std::vector<std::size_t>& pool, const Scenario& s, std::int64_t i) {
    const std::size_t window = std::min(kWindow, pool.size());
    const auto k = static_cast<std::size_t>(i);
    const std::size_t who =
        pool[((k / (window * static_cast<std::size_t>(s.cycle))) * window + k % window) % pool.size()];
    std::lock_guard lock(obs.mutex);
    if (obs.people[who].busy || obs.people[who].broken) return std::nullopt;
    return who;
  }

  bool wait_idle(std::chrono::seconds within) {
    const auto until = SteadyClock::now() + within;
    while (SteadyClock::now() < until) {
      {
        std::lock_guard lock(obs.mutex);
        if (std::none_of(obs.people.begin(), obs.people.end(), [](const Person& p) { return p.busy; })) return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  // Open loop: `count` actions at `rate` per second over the pool.
  std::int64_t run(const std::vector<std::size_t>& pool, const Scenario& s, std::int64_t count, int rate) {
    std::int64_t delivered = 0;
    const auto t0 = SteadyClock::now();
    for (std::int64_t i = 0; i < count; ++i) {
      const auto due = t0 + std::chrono::nanoseconds(i * 1'000'000'000LL / rate);
      if (due > SteadyClock::now()) std::this_thread::sleep_until(due);
      auto who = person_at(pool, s, i);
      if (!who) {
        ++not_idle;
        continue;
      }
      if (act(*who, s)) ++delivered;
    }
    return delivered;
  }
};

// One timed run of a scenario over a pool: what was offered and answered, and every latency.
struct Measured {
  std::int64_t delivered = 0, answered = 0, unanswered = 0, errors = 0, no_free_person = 0;
  double offered_per_s = 0, answered_per_s = 0;
  std::vector<double> latencies_ms;
  std::map<std::string, std::vector<double>> actions;
};

Measured measure(Driver& d, const std::vector<std::size_t>& pool, const Scenario& s, int rate, int seconds) {
  {
    std::lock_guard lock(d.obs.mutex);
    d.obs.recording = true;
    d.obs.latencies_ms.clear();
    d.obs.actions.clear();
    d.obs.answered = 0;
  }
  const std::int64_t errors_before = d.obs.errors, not_idle_before = d.not_idle;
  const std::int64_t t0 = now_ns();
  const auto started = SteadyClock::now();
  Measured m;
  m.delivered = d.run(pool, s, static_cast<std::int64_t>(rate) * seconds, rate);
  const double offered_s = seconds_since(started);
  d.wait_idle(10s);
  std::lock_guard lock(d.obs.mutex);
  d.obs.recording = false;
  for (const auto& p : d.obs.people) m.unanswered += p.busy ? 1 : 0;
  const double window_s = d.obs.answered ? static_cast<double>(d.obs.last_answer_ns - t0) / 1e9 : offered_s;
  m.answered = d.obs.answered;
  m.offered_per_s = static_cast<double>(m.delivered) / offered_s;
  m.answered_per_s = static_cast<double>(d.obs.answered) / window_s;
  m.errors = d.obs.errors - errors_before;
  m.no_free_person = d.not_idle - not_idle_before;
  m.latencies_ms = std::move(d.obs.latencies_ms);
  for (auto& [name, st] : d.obs.actions) m.actions[name] = std::move(st.ms);
  return m;
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

// Every round of one scenario on one tenant, pooled.
struct Pooled {
  std::vector<Measured> rounds;

  json summary() const {
    std::vector<double> all, round_p50, round_p99;
    std::map<std::string, std::vector<double>> actions;
    std::int64_t delivered = 0, answered = 0, unanswered = 0, errors = 0;
    double answered_per_s = 0;
    for (const auto& m : rounds) {
      all.insert(all.end(), m.latencies_ms.begin(), m.latencies_ms.end());
      round_p50.push_back(percentile(m.latencies_ms, 0.5));
      round_p99.push_back(percentile(m.latencies_ms, 0.99));
      for (const auto& [name, v] : m.actions) actions[name].insert(actions[name].end(), v.begin(), v.end());
      delivered += m.delivered;
      answered += m.answered;
      unanswered += m.unanswered;
      errors += m.errors;
      answered_per_s += m.answered_per_s / static_cast<double>(rounds.size());
    }
    json acts = json::object();
    for (const auto& [name, v] : actions)
      acts[name] = {{"n", v.size()}, {"p50_ms", percentile(v, 0.5)}, {"p99_ms", percentile(v, 0.99)}};
    return {{"rounds", rounds.size()},          {"delivered", delivered},          {"answered", answered},
            {"answered_per_s", answered_per_s}, {"unanswered", unanswered},        {"errors", errors},
            {"p50_ms", percentile(all, 0.5)},   {"p99_ms", percentile(all, 0.99)}, {"max_ms", percentile(all, 1.0)},
            {"round_p50_ms", round_p50},        {"round_p99_ms", round_p99},       {"actions", acts}};
  }
};

}  // namespace

// One tenant of the run: its database, its panel, its bot in the shared runtime, its people.
struct Tenant {
  int users = 0;
  std::int64_t id = 0;
  std::shared_ptr<ms::storage::Database> db;
  std::unique_ptr<ms::marzban_test::MarzbanTestServer> marzban;
  std::int64_t panel_id = 0;
  shop_bench::Seeded seeded;
  ms::sandbox::BotCredentials bot;
  std::shared_ptr<ms::payments::PaymentService> payments;
  std::shared_ptr<ms::shop::ShopBot> shop;
  std::unique_ptr<Driver> driver;
  std::vector<std::size_t> everyone, owners;  // indexes into the observer's people
  std::vector<std::string> accounts;          // the panel accounts the owners open
  std::map<std::string, Pooled> results;      // per scenario
};

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  Flags f = parse(argc, argv);
  {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
      r.rlim_cur = r.rlim_max;
      setrlimit(RLIMIT_NOFILE, &r);
    }
  }
  bool temp_dir = false;
  ms::storage::StorageOptions so;
  if (f.backend == "sqlite") {
    if (f.dir.empty()) {
      f.dir = (std::filesystem::temp_directory_path() / ("ms_shop_bench_" + std::to_string(::getpid()))).string();
      temp_dir = true;
    }
    so.data_dir = f.dir;
  } else {
    so.url = f.pg_url;
    so.data_dir = "";
  }
  auto storage = must(ms::storage::Storage::open(so), "open storage");
  must(storage->migrate(), "migrate");
  const std::int64_t now = ms::SystemClock::instance().unix_seconds();

  // Telegram (the emulator, its limits off) behind our HTTP server, watched.
  ms::sandbox::EmulatorOptions eo;
  eo.limits.enabled = false;
  eo.max_long_poll = 5s;
  ms::sandbox::Emulator emulator(eo);
  Observer observer;
  ms::http::ServerOptions hso;
  hso.listen = "127.0.0.1:0";
  ms::http::Server server(hso);
  ms::bench::add_observed_bot_api(
      server.router(), emulator,
      [&observer](const std::string& method, std::int64_t chat, const ms::sandbox::ApiReply& reply) {
        observer.on_reply(method, chat, reply);
      });
  must(server.start(), "start the emulator's server");
  const std::string api = "http://127.0.0.1:" + std::to_string(server.bound_port()) + "/sandbox";
  auto owner = must(emulator.create_user({0, "Owner", "", "", "fa"}), "owner")["id"].get<std::int64_t>();

  ms::crypto::SecretBox box{ms::crypto::Keyring(ms::crypto::generate_key())};
  ms::http::CurlClient http;
  ms::TimerQueue timers;
  ms::telegram::RuntimeOptions ro;
  ro.limits.enabled = false;
  ms::telegram::BotRuntime runtime(http, timers, api, ro);

  // The tenants, each a shop of its own (a database, a Marzban test panel, a bot), all
  // in this one process, so that they share every other condition of the machine.
  std::vector<Tenant> tenants(f.sizes.size());
  for (std::size_t k = 0; k < tenants.size(); ++k) {
    Tenant& t = tenants[k];
    t.users = f.sizes[k];
    t.id = 920'000 + (::getpid() % 10'000) * 10 + static_cast<std::int64_t>(k);
    t.db = must(storage->create_tenant(t.id), "create tenant");
    t.marzban = std::make_unique<ms::marzban_test::MarzbanTestServer>();
    must(t.marzban->start(), "start the Marzban test panel");
    t.bot = must(emulator.create_bot("shop_bench_" + std::to_string(k) + "_bot", "Shop bench"), "create bot");

    ms::panels::PanelRepository panels(*t.db, box);
    ms::panels::PanelRecord pr;
    pr.name = "Germany";
    pr.base_url = t.marzban->base_url();
    pr.username = "admin";
    pr.password = ms::crypto::Secret("admin");
    t.panel_id = must(panels.insert(pr, now), "panel");
    std::vector<std::int64_t> plans;
    must(t.db->with_session([&](ms::storage::Session& s) -> ms::Result<void> {
      const std::vector<std::tuple<std::string, int, std::int64_t, std::string>> list = {
          {"1 Month 50GB", 30, 1'500'000, "service"},
          {"3 Months 150GB", 90, 4'000'000, "service"},
          {"1 Month Unlimited", 30, 2'500'000, "service"},
          {"+10GB", 1, 300'000, "traffic"}};
      for (const auto& [name, days, price, kind] : list) {
        auto row = s.query_one(
            "INSERT INTO plans (name, panel_id, duration_days, traffic_bytes, price_minor, currency, kind, created_at, "
            "updated_at) VALUES (:n, :p, :d, :t, :price, 'IRR', :kind, :now, :now) RETURNING id",
            {{"n", name},
             {"p", t.panel_id},
             {"d", std::int64_t{days}},
             {"t", std::int64_t{50LL << 30}},
             {"price", price},
             {"kind", kind},
             {"now", now}});
        if (!row) return ms::fail(std::move(row.error()));
        if (kind == "service") plans.push_back((*row)->get_int("id"));
      }
      return ms::ok();
    }),
         "plans");
    ms::shop::ShopSettings settings;
    settings.admins = {{owner, ms::shop::AdminRole::kOwner}};
    settings.trial.enabled = true;
    settings.referral_percent = 10;
    settings.antispam.max_updates = 1'000'000;  // the bench's people act faster than people do
    must(ms::shop::save_settings(*t.db, settings, now), "settings");

    shop_bench::SeedSpec spec;
    spec.users = t.users;
    spec.orders = 10LL * t.users;
    spec.service_share = f.service_share;
    spec.telegram_base = kTelegramBase + static_cast<std::int64_t>(k) * 100'000'000;
    spec.panel_id = t.panel_id;
    spec.plans = plans;
    spec.now = now;
    std::cout << "seeding " << f.backend << " tenant " << k << ": " << spec.users << " users, " << spec.orders
              << " orders, services for " << f.service_share << "% of the users\n"
              << std::flush;
    t.seeded = must(t.db->with_session([&](ms::storage::Session& s) -> ms::Result<shop_bench::Seeded> {
      return shop_bench::seed(s, spec);
    }),
                    "seed");
    malloc_trim(0);  // what seeding freed goes back to the system before memory is measured
    std::cout << "seeded in " << t.seeded.seconds << " s (" << t.seeded.services << " services; "
              << static_cast<double>(spec.users + spec.orders + t.seeded.services) / t.seeded.seconds << " rows/s)\n"
              << std::flush;

    // The people: `people` distinct end users drawn from the whole table.
    std::mt19937_64 rng(7);
    std::vector<std::size_t> indexes(static_cast<std::size_t>(t.users));
    for (std::size_t i = 0; i < indexes.size(); ++i) indexes[i] = i;
    std::shuffle(indexes.begin(), indexes.end(), rng);
    indexes.resize(std::min(indexes.size(), static_cast<std::size_t>(f.people)));
    ms::panels::MarzbanPanel panel(
        http, ms::panels::marzban_options(*must(panels.get(t.panel_id), "panel"), panels, ms::SystemClock::instance()));
    for (std::size_t u : indexes) {
      Person p;
      p.telegram_id = spec.telegram_base + static_cast<std::int64_t>(u);
      p.service_id = t.seeded.newest_service[u];
      must(emulator.create_user({p.telegram_id, "User " + std::to_string(u), "",
                                 "t" + std::to_string(k) + "_user_" + std::to_string(u),
                                 shop_bench::language_of(static_cast<int>(u))}),
           "person");
      std::lock_guard lock(observer.mutex);
      if (p.service_id) {
        // The account behind the service they open; its name is the seeded one.
        auto name = must(t.db->with_session([&](ms::storage::Session& s) -> ms::Result<std::string> {
          auto row = s.query_one("SELECT panel_username FROM services WHERE id = :id", {{"id", p.service_id}});
          if (!row) return ms::fail(std::move(row.error()));
          return (*row)->get_string("panel_username");
        }),
                         "service name");
        ms::panels::NewAccount acc;
        acc.username = name;
        acc.inbounds = {{ms::panels::Protocol::kVless, {}}};
        acc.data_limit_bytes = 50LL << 30;
        acc.expire_at = now + 20 * 86'400;
        if (auto made = panel.create(acc); !made) die("panel account " + name + ": " + made.error().describe());
        t.marzban->set_used_traffic(name, static_cast<std::int64_t>(rng() % (40LL << 30)));
        t.accounts.push_back(name);
        t.owners.push_back(observer.people.size());
      }
      observer.by_chat[p.telegram_id] = observer.people.size();
      t.everyone.push_back(observer.people.size());
      observer.people.push_back(p);
    }
    std::cout << t.everyone.size() << " people (" << t.owners.size() << " with services)\n" << std::flush;

    // The shop bot in the runtime, updates handed in with deliver().
    std::vector<std::shared_ptr<ms::payments::PaymentProvider>> providers;
    providers.push_back(std::make_shared<ms::payments::CardToCardProvider>(
        ms::payments::CardToCardSettings{"6037990000001234", "Owner"}));
    ms::payments::ServiceOptions pso;
    pso.account = "t" + std::to_string(t.id);
    t.payments =
        std::make_shared<ms::payments::PaymentService>(*t.db, std::move(providers), ms::SystemClock::instance(), pso);
    ms::shop::ShopDeps deps;
    deps.tenant_id = t.id;
    deps.db = t.db;
    deps.payments = t.payments;
    deps.secrets = &box;
    deps.http = &http;
    deps.runtime = &runtime;
    deps.bot_key = static_cast<ms::telegram::BotKey>(k + 1);
    deps.bot_username = t.bot.username;
    deps.callback_key = "shop-bench-callback-key-" + std::to_string(k);
    t.shop = must(ms::shop::ShopBot::create(deps), "shop bot");
    must(runtime.add({deps.bot_key, t.bot.token, ms::telegram::Intake::kManual, "", t.shop}), "add the bot");
    t.driver = std::make_unique<Driver>(
        Driver{emulator, runtime, observer, t.bot.token, t.bot.username, deps.callback_key, deps.bot_key});
  }

  const Scenario start{
      "start", 1, [](const Person&) {
        return std::tuple{std::string("start"), std::vector<ms::telegram::CallbackArg>{}, Screen::kMenu};
      }};
  // Each tenant has one location; its id is the same in every tenant (the first panel).
  const std::int64_t location = tenants[0].panel_id;
  const Scenario menu{
      "menu", 4, [location](const Person& p) {
        using R = std::tuple<std::string, std::vector<ms::telegram::CallbackArg>, Screen>;
        switch (p.screen) {
          case Screen::kMenu: return R{"buy", {}, Screen::kLocations};
          case Screen::kLocations:
            // Into a location, or back to the menu, in turn.
            return p.step % 4 == 1 ? R{"loc", {location}, Screen::kPlans} : R{"menu", {}, Screen::kMenu};
          default: return R{"buy", {}, Screen::kLocations};  // back from the plans
        }
      }};
  const Scenario services{
      "services", 4, [](const Person& p) {
        using R = std::tuple<std::string, std::vector<ms::telegram::CallbackArg>, Screen>;
        switch (p.screen) {
          case Screen::kMenu: return R{"svcs", {}, Screen::kServices};
          case Screen::kServices:
            return p.step % 4 == 1 ? R{"svc", {p.service_id}, Screen::kService} : R{"menu", {}, Screen::kMenu};
          default: return R{"svcs", {}, Screen::kServices};  // back from the service
        }
      }};
  // Not one of issue 6's three: the referral screen (counts the person's referrals) and back.
  const Scenario referral{
      "referral", 2, [](const Person& p) {
        using R = std::tuple<std::string, std::vector<ms::telegram::CallbackArg>, Screen>;
        return p.screen == Screen::kMenu ? R{"ref", {}, Screen::kReferral} : R{"menu", {}, Screen::kMenu};
      }};
  // Everyone of a pool on a fresh menu, at step 0 (not measured).
  auto reset = [&](Tenant& t, const std::vector<std::size_t>& pool) {
    t.driver->run(pool, start, static_cast<std::int64_t>(pool.size()), std::max(f.rate, 500));
    if (!t.driver->wait_idle(30s)) die("people still waiting for the menu after 30 s");
    std::lock_guard lock(observer.mutex);
    for (auto who : pool) observer.people[who].step = 0;
  };

  const long rss_ready_kb = proc_kb("VmRSS:");
  const bool hwm_reset = reset_peak_rss();
  std::cout << "ready: RSS " << rss_ready_kb / 1024 << " MB" << (hwm_reset ? "" : " (peak RSS could not be reset)")
            << "; " << f.rate << " updates/s, " << f.rounds << " rounds of " << f.seconds
            << " s per scenario and tenant, the tenants taking turns\n"
            << std::flush;

  // Round r runs a scenario on every tenant, in an order that alternates, so that a change
  // in the machine's load (other processes, page cache, autovacuum) falls on both alike.
  for (const Scenario* s : {&start, &menu, &services, &referral}) {
    for (int r = 0; r < f.rounds; ++r) {
      for (std::size_t i = 0; i < tenants.size(); ++i) {
        Tenant& t = tenants[r % 2 == 0 ? i : tenants.size() - 1 - i];
        const auto& pool = s == &services ? t.owners : t.everyone;
        if (pool.empty()) continue;
        reset(t, pool);
        Measured m = measure(*t.driver, pool, *s, f.rate, f.seconds);
        std::cout << "  " << s->name << " round " << r + 1 << ", " << t.users << " users: " << m.answered
                  << " answered (" << m.answered_per_s << "/s), p50 " << percentile(m.latencies_ms, 0.5) << " ms, p99 "
                  << percentile(m.latencies_ms, 0.99) << " ms; errors " << m.errors << ", unanswered " << m.unanswered
                  << "\n"
                  << std::flush;
        t.results[s->name].rounds.push_back(std::move(m));
      }
    }
  }

  // The figures: per tenant, and each bigger tenant against the smallest (pooled p50 and
  // p99, and the median of the per-round p50 ratios, rounds paired in time).
  json scenarios = json::object();
  for (const Scenario* s : {&start, &menu, &services, &referral}) {
    json per = json::object();
    for (auto& t : tenants) {
      if (t.results.count(s->name)) per[std::to_string(t.users)] = t.results[s->name].summary();
    }
    if (tenants.size() > 1 && tenants[0].results.count(s->name)) {
      const json base = per[std::to_string(tenants[0].users)];
      for (std::size_t k = 1; k < tenants.size(); ++k) {
        const std::string key = std::to_string(tenants[k].users);
        if (!per.contains(key)) continue;
        std::vector<double> paired;
        const auto& a = tenants[0].results[s->name].rounds;
        const auto& b = tenants[k].results[s->name].rounds;
        for (std::size_t r = 0; r < std::min(a.size(), b.size()); ++r) {
          const double pa = percentile(a[r].latencies_ms, 0.5);
          if (pa > 0) paired.push_back(percentile(b[r].latencies_ms, 0.5) / pa);
        }
        per["vs_" + key] = {
            {"p50_ratio", per[key]["p50_ms"].get<double>() / base["p50_ms"].get<double>()},
            {"p99_ratio", per[key]["p99_ms"].get<double>() / base["p99_ms"].get<double>()},
            {"throughput_ratio", per[key]["answered_per_s"].get<double>() / base["answered_per_s"].get<double>()},
            {"median_round_p50_ratio", median(paired)}};
        std::cout << s->name << ": " << key << " users vs " << tenants[0].users << ": p50 "
                  << per[key]["p50_ms"].get<double>() << " vs " << base["p50_ms"].get<double>() << " ms (x"
                  << per["vs_" + key]["p50_ratio"].get<double>() << ", rounds' median x" << median(paired) << "), p99 "
                  << per[key]["p99_ms"].get<double>() << " vs " << base["p99_ms"].get<double>() << " ms (x"
                  << per["vs_" + key]["p99_ratio"].get<double>() << "), answered/s "
                  << per[key]["answered_per_s"].get<double>() << " vs " << base["answered_per_s"].get<double>() << "\n";
      }
    }
    scenarios[s->name] = per;
  }

  // Saturation: the offered rate doubles while the bot keeps up: it answers at least 95% of
  // the rate asked for (so both the offer and the answers held), leaves nothing unanswered
  // and keeps p99 under a second. The figure is the last answered rate that kept up. The
  // offer itself falls short when a person's previous answer is still awaited (the bench's
  // people act in windows of 50), which only happens once the bot is slow.
  // The panel alone: the get() that "open one service" makes, at the same rate, without the
  // bot and the database (the test panel's own cost with each tenant's accounts). Tenants
  // take turns, 2 s each per round.
  json panel_alone = json::object();
  {
    std::map<int, std::vector<double>> by_size;
    for (int round = 0; round < f.rounds; ++round) {
      for (std::size_t i = 0; i < tenants.size(); ++i) {
        auto& t = tenants[round % 2 == 0 ? i : tenants.size() - 1 - i];
        if (t.accounts.empty()) continue;
        ms::panels::PanelRepository repo(*t.db, box);
        ms::panels::MarzbanPanel panel(
            http, ms::panels::marzban_options(*must(repo.get(t.panel_id), "panel"), repo, ms::SystemClock::instance()));
        const auto gap = std::chrono::nanoseconds(1'000'000'000LL / f.rate);
        const auto start = SteadyClock::now();
        for (int n = 0; n < 2 * f.rate; ++n) {
          std::this_thread::sleep_until(start + n * gap);
          const auto t0 = SteadyClock::now();
          if (!panel.get(t.accounts[static_cast<std::size_t>(n) % t.accounts.size()])) die("panel get failed");
          by_size[t.users].push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
        }
      }
    }
    for (const auto& [users, v] : by_size) {
      std::cout << "panel alone, " << users << " users: get p50 " << percentile(v, 0.5) << " ms, p99 "
                << percentile(v, 0.99) << " ms (" << v.size() << " calls)\n";
      panel_alone[std::to_string(users)] = {
          {"n", v.size()}, {"p50_ms", percentile(v, 0.5)}, {"p99_ms", percentile(v, 0.99)}};
    }
  }

  json saturation = json::object();
  if (f.saturate) {
    for (const Scenario* s : {&start, &services}) {
      for (auto& t : tenants) {
        const auto& pool = s == &services ? t.owners : t.everyone;
        if (pool.empty()) continue;
        json steps = json::array();
        double kept_up = 0;
        for (int rate = f.rate; rate <= f.max_rate; rate *= 2) {
          reset(t, pool);
          Measured m = measure(*t.driver, pool, *s, rate, f.seconds);
          const double p99 = percentile(m.latencies_ms, 0.99);
          const bool ok = m.answered_per_s >= 0.95 * rate && m.unanswered == 0 && p99 < 1000;
          std::cout << "  saturate " << s->name << ", " << t.users << " users, offered " << m.offered_per_s
                    << "/s: answered " << m.answered_per_s << "/s, p99 " << p99 << " ms, no free person "
                    << m.no_free_person << (ok ? "" : "  <- fell behind") << "\n"
                    << std::flush;
          steps.push_back({{"offered_per_s", m.offered_per_s},
                           {"answered_per_s", m.answered_per_s},
                           {"p50_ms", percentile(m.latencies_ms, 0.5)},
                           {"p99_ms", p99},
                           {"unanswered", m.unanswered}});
          if (!ok) break;
          kept_up = m.answered_per_s;
        }
        saturation[s->name][std::to_string(t.users)] = {{"kept_up_per_s", kept_up}, {"steps", steps}};
      }
    }
  }

  std::uint64_t handler_errors = 0;
  for (std::size_t k = 0; k < tenants.size(); ++k) {
    if (auto st = runtime.status(static_cast<ms::telegram::BotKey>(k + 1))) handler_errors += st->handler_errors;
  }
  const long hwm_kb = proc_kb("VmHWM:");
  std::cout << "memory: RSS when ready " << rss_ready_kb / 1024 << " MB, peak from then on " << hwm_kb / 1024
            << " MB; handler errors " << handler_errors << "\n";
  if (!observer.error_samples.empty()) {
    std::cout << "first errors:\n";
    for (const auto& e : observer.error_samples) std::cout << "  " << e << "\n";
  }

  json sizes = json::array();
  for (auto& t : tenants) {
    sizes.push_back({{"users", t.users},
                     {"orders", 10LL * t.users},
                     {"services", t.seeded.services},
                     {"seed_s", t.seeded.seconds}});
  }
  runtime.shutdown();
  for (auto& t : tenants) {
    t.shop.reset();
    t.marzban->stop();
    t.payments.reset();
    t.db.reset();
    if (f.backend == "postgres") (void)storage->erase_tenant(t.id);
  }
  server.stop(200ms);
  storage.reset();
  if (temp_dir) std::filesystem::remove_all(f.dir);

  json out = {{"bench", "shop"},
              {"backend", f.backend},
              {"tenants", sizes},
              {"people", f.people},
              {"rate", f.rate},
              {"rounds", f.rounds},
              {"seconds_per_round", f.seconds},
              {"rss_ready_mb", rss_ready_kb / 1024.0},
              {"peak_rss_mb", hwm_kb / 1024.0},
              {"peak_rss_includes_seeding", !hwm_reset},
              {"handler_errors", handler_errors},
              {"scenarios", scenarios},
              {"panel_alone", panel_alone},
              {"saturation", saturation}};
  std::cout << out.dump() << "\n";
  return 0;
}
