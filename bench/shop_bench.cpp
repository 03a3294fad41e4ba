// shop_bench: the VPN shop bot (issue 6) on a small and a big tenant — does it stay fast as
// the tenant grows?
//
//   shop_bench --backend sqlite|postgres [--pg-url URL] [--dir DIR] [--users 1000] [--orders N]
//              [--people 1000] [--rate 200] [--seconds 15] [--service-share 30]
//
// One process on loopback:
//   * a tenant database seeded fast (multi-row INSERTs in big transactions, not through the
//     bot): `users` end users, `orders` orders (default 10 per user) spread over them in time
//     order, and services for `service-share`% of the users (1-3 each, each from one of the
//     user's completed orders);
//   * Telegram: the sandbox emulator behind our HTTP server (its limits off), reached by the
//     bot over real HTTP; the Bot API route is wrapped so the bench sees each answer the
//     moment the emulator accepted it;
//   * the strict Marzban test panel (the shop's one location), with an account for each
//     service the bench opens;
//   * the shop bot in a BotRuntime (our limits off) with Intake::kManual.
// `people` distinct end users (drawn from the whole table) act through the emulator's person
// side (a real /start, a real press of a button that is on their screen, its callback data
// built with telegram::encode_callback and the shop's callback key); the bench reads the
// update back with getUpdates and hands it to the bot with deliver(), at a fixed offered
// rate. Latency: from deliver() to the emulator accepting the bot's answer (the menu sent,
// or the screen edited). Scenarios: `start` (/start), `menu` (buy -> location -> back ->
// menu), `services` (my services -> one service, with its live usage from the panel -> back
// -> menu; people who own services), and `referral` (the referral screen -> menu). Memory:
// VmHWM of the process from the end of seeding.
//
// SQLite uses DIR (default: a fresh temp directory, removed afterwards). PostgreSQL needs a
// scratch database in URL; the bench's tenant is erased at the end.
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

#include "core/crypto/keyring.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/timer_queue.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "marzban_server.hpp"
#include "panels/marzban.hpp"
#include "panels/panel_repository.hpp"
#include "payments/card/card_to_card.hpp"
#include "payments/service.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/params.hpp"
#include "sandbox/routes.hpp"
#include "shop/settings.hpp"
#include "shop/shop.hpp"
#include "storage/storage.hpp"
#include "telegram/callback_data.hpp"
#include "telegram/runtime.hpp"
#include "telegram/types.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Flags {
  std::string backend = "sqlite";
  std::string pg_url;
  std::string dir;
  int users = 1'000;
  std::int64_t orders = -1;  // default: 10 per user
  int people = 1'000;
  int rate = 200;
  int seconds = 15;
  int service_share = 30;  // % of users with 1-3 services
};

[[noreturn]] void die(const std::string& what) {
  std::cerr << "shop_bench: " << what << "\n";
  std::exit(1);
}

template <class T>
T must(ms::Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().to_string());
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

Flags parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--backend")
      f.backend = next();
    else if (a == "--pg-url")
      f.pg_url = next();
    else if (a == "--dir")
      f.dir = next();
    else if (a == "--users")
      f.users = std::stoi(next());
    else if (a == "--orders")
      f.orders = std::stoll(next());
    else if (a == "--people")
      f.people = std::stoi(next());
    else if (a == "--rate")
      f.rate = std::stoi(next());
    else if (a == "--seconds")
      f.seconds = std::stoi(next());
    else if (a == "--service-share")
      f.service_share = std::stoi(next());
    else
      die("unknown flag " + a);
  }
  if (f.backend != "sqlite" && f.backend != "postgres") die("--backend is sqlite or postgres");
  if (f.backend == "postgres" && f.pg_url.empty()) die("--backend postgres needs --pg-url");
  if (f.users < 1 || f.people < 1 || f.rate < 1 || f.seconds < 1) die("sizes and rates must be >= 1");
  if (f.orders < 0) f.orders = 10LL * f.users;
  f.people = std::min(f.people, f.users);
  return f;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
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

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// ---- seeding ------------------------------------------------------------------------------

constexpr std::int64_t kTelegramBase = 700'000'000;  // end user i has Telegram id kTelegramBase + i
constexpr std::int64_t kPlanPrice = 1'500'000;

struct Seeded {
  std::vector<std::int64_t> newest_service;  // per user index: the newest service id, 0 = none
  std::int64_t services = 0;
  double seconds = 0;
};

std::string language_of(int user_index) { return user_index % 5 == 4 ? "en" : "fa"; }

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

Seeded seed(ms::storage::Session& db, const Flags& f, std::int64_t panel_id, const std::vector<std::int64_t>& plans,
            std::int64_t now) {
  Seeded out;
  const bool sqlite = db.backend() == ms::storage::Backend::kSqlite;
  // SQLite's 2 MB page cache makes the random index inserts of a million rows crawl; the
  // seeding connection gets 64 MB, and the default back before the bot uses it.
  if (sqlite) must(db.exec("PRAGMA cache_size = -65536"), "cache size");
  const auto t0 = SteadyClock::now();
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
    users.add("(" + std::to_string(id) + "," + std::to_string(kTelegramBase + i) + ",'user_" + std::to_string(i) +
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
               "','" + status + "'," + std::to_string(kPlanPrice) + ",'IRR'," + std::to_string(created) + "," +
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

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The sandbox's Bot API route, with the bench watching each answer. Same paths as
// sandbox::add_sandbox_routes (which this server does not use).
void add_observed_bot_api(ms::http::Router& router, ms::sandbox::Emulator& emu, Observer& observer) {
  auto bot_api = [&emu, &observer](ms::http::Request& req, ms::http::Responder respond) {
    const std::string segment(req.path_param("bot").value_or(""));
    if (segment.size() <= 3 || segment.rfind("bot", 0) != 0) {
      return void(respond(ms::http::Response::json(404, {{"ok", false}, {"error_code", 404}})));
    }
    auto params = ms::sandbox::parse_params(req.target, req.header("content-type").value_or(""), req.body);
    if (!params) return void(respond(ms::http::Response::json(400, {{"ok", false}, {"error_code", 400}})));
    const std::string method = lower(std::string(req.path_param("method").value_or("")));
    const std::int64_t chat = params->integer("chat_id");
    emu.call(segment.substr(3), method, std::move(*params),
             [respond, method, chat, &observer](ms::sandbox::ApiReply reply) {
               observer.on_reply(method, chat, reply);
               ms::http::Response r = ms::http::Response::json(reply.status, reply.body);
               if (reply.retry_after > 0) r.headers.set("Retry-After", std::to_string(reply.retry_after));
               respond(std::move(r));
             });
  };
  router.add(ms::http::Method::kGet, "/sandbox/{bot}/{method}", bot_api);
  router.add(ms::http::Method::kPost, "/sandbox/{bot}/{method}", bot_api);
}

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

json measure(Driver& d, const std::vector<std::size_t>& pool, const Scenario& s, const Flags& f) {
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
  const std::int64_t delivered = d.run(pool, s, static_cast<std::int64_t>(f.rate) * f.seconds, f.rate);
  const double offered_s = seconds_since(started);
  d.wait_idle(10s);
  std::lock_guard lock(d.obs.mutex);
  d.obs.recording = false;
  std::int64_t unanswered = 0;
  for (const auto& p : d.obs.people) unanswered += p.busy ? 1 : 0;
  const double window_s = d.obs.answered ? static_cast<double>(d.obs.last_answer_ns - t0) / 1e9 : offered_s;
  json actions = json::object();
  for (const auto& [name, st] : d.obs.actions) {
    actions[name] = {{"n", st.ms.size()}, {"p50_ms", percentile(st.ms, 0.5)}, {"p99_ms", percentile(st.ms, 0.99)}};
  }
  json out = {{"people", pool.size()},
              {"delivered", delivered},
              {"offered_per_s", static_cast<double>(delivered) / offered_s},
              {"answered", d.obs.answered},
              {"answered_per_s", static_cast<double>(d.obs.answered) / window_s},
              {"unanswered", unanswered},
              {"errors", d.obs.errors - errors_before},
              {"no_free_person", d.not_idle - not_idle_before},
              {"p50_ms", percentile(d.obs.latencies_ms, 0.50)},
              {"p99_ms", percentile(d.obs.latencies_ms, 0.99)},
              {"max_ms", percentile(d.obs.latencies_ms, 1.0)},
              {"actions", actions}};
  std::cout << "  " << s.name << ": " << delivered << " delivered in " << offered_s << " s, " << d.obs.answered
            << " answered (" << out["answered_per_s"].get<double>() << "/s), p50 " << out["p50_ms"].get<double>()
            << " ms, p99 " << out["p99_ms"].get<double>() << " ms, max " << out["max_ms"].get<double>()
            << " ms; errors " << out["errors"] << ", unanswered " << unanswered << "\n";
  for (const auto& [name, a] : actions.items()) {
    std::cout << "    " << name << ": n " << a["n"] << ", p50 " << a["p50_ms"].get<double>() << " ms, p99 "
              << a["p99_ms"].get<double>() << " ms\n";
  }
  std::cout << std::flush;
  return out;
}

}  // namespace

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
  const std::int64_t tenant = 920'000 + ::getpid() % 10'000;
  auto db = must(storage->create_tenant(tenant), "create tenant");
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
  add_observed_bot_api(server.router(), emulator, observer);
  must(server.start(), "start the emulator's server");
  const std::string api = "http://127.0.0.1:" + std::to_string(server.bound_port()) + "/sandbox";
  auto bot = must(emulator.create_bot("shop_bench_bot", "Shop bench"), "create bot");
  auto owner = must(emulator.create_user({0, "Owner", "", "", "fa"}), "owner")["id"].get<std::int64_t>();

  // The panel, the plans, the settings: the owner's shop.
  ms::marzban_test::MarzbanTestServer marzban;
  must(marzban.start(), "start the Marzban test panel");
  ms::crypto::SecretBox box{ms::crypto::Keyring(ms::crypto::generate_key())};
  ms::panels::PanelRepository panels(*db, box);
  ms::panels::PanelRecord pr;
  pr.name = "Germany";
  pr.base_url = marzban.base_url();
  pr.username = "admin";
  pr.password = ms::crypto::Secret("admin");
  const std::int64_t panel_id = must(panels.insert(pr, now), "panel");
  std::vector<std::int64_t> plans;
  must(db->with_session([&](ms::storage::Session& s) -> ms::Result<void> {
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
           {"p", panel_id},
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
  must(ms::shop::save_settings(*db, settings, now), "settings");

  std::cout << "seeding " << f.backend << ": " << f.users << " users, " << f.orders << " orders, services for "
            << f.service_share << "% of the users\n"
            << std::flush;
  const Seeded seeded = must(
      db->with_session([&](ms::storage::Session& s) -> ms::Result<Seeded> { return seed(s, f, panel_id, plans, now); }),
      "seed");
  malloc_trim(0);  // what seeding freed goes back to the system before memory is measured
  std::cout << "seeded in " << seeded.seconds << " s (" << seeded.services << " services; "
            << static_cast<double>(f.users + f.orders + seeded.services) / seeded.seconds << " rows/s)\n"
            << std::flush;

  // The people: `people` distinct end users drawn from the whole table.
  std::mt19937_64 rng(7);
  std::vector<std::size_t> indexes(static_cast<std::size_t>(f.users));
  for (std::size_t i = 0; i < indexes.size(); ++i) indexes[i] = i;
  std::shuffle(indexes.begin(), indexes.end(), rng);
  indexes.resize(static_cast<std::size_t>(f.people));
  std::vector<std::size_t> everyone, owners;
  ms::http::CurlClient http;
  ms::panels::MarzbanPanel panel(
      http, ms::panels::marzban_options(*must(panels.get(panel_id), "panel"), panels, ms::SystemClock::instance()));
  const auto setup_started = SteadyClock::now();
  for (std::size_t u : indexes) {
    Person p;
    p.telegram_id = kTelegramBase + static_cast<std::int64_t>(u);
    p.service_id = seeded.newest_service[u];
    const std::string lang = language_of(static_cast<int>(u));
    must(emulator.create_user({p.telegram_id, "User " + std::to_string(u), "", "user_" + std::to_string(u), lang}),
         "person");
    if (p.service_id) {
      // The account behind the service they open; its name is the seeded one.
      auto name = must(db->with_session([&](ms::storage::Session& s) -> ms::Result<std::string> {
        auto row = s.query_one("SELECT panel_username FROM services WHERE id = :id", {{"id", p.service_id}});
        if (!row) return ms::fail(std::move(row.error()));
        return (*row)->get_string("panel_username");
      }),
                       "service name");
      ms::panels::NewAccount a;
      a.username = name;
      a.inbounds = {{ms::panels::Protocol::kVless, {}}};
      a.data_limit_bytes = 50LL << 30;
      a.expire_at = now + 20 * 86'400;
      if (auto made = panel.create(a); !made) die("panel account " + name + ": " + made.error().describe());
      marzban.set_used_traffic(name, static_cast<std::int64_t>(rng() % (40LL << 30)));
      owners.push_back(observer.people.size());
    }
    observer.by_chat[p.telegram_id] = observer.people.size();
    everyone.push_back(observer.people.size());
    observer.people.push_back(p);
  }
  std::cout << everyone.size() << " people (" << owners.size() << " with services, their panel accounts made) in "
            << seconds_since(setup_started) << " s\n"
            << std::flush;

  // The shop bot in a runtime, updates handed in with deliver().
  ms::TimerQueue timers;
  ms::telegram::RuntimeOptions ro;
  ro.limits.enabled = false;
  ms::telegram::BotRuntime runtime(http, timers, api, ro);
  std::vector<std::shared_ptr<ms::payments::PaymentProvider>> providers;
  providers.push_back(std::make_shared<ms::payments::CardToCardProvider>(
      ms::payments::CardToCardSettings{"6037990000001234", "Owner"}));
  ms::payments::ServiceOptions pso;
  pso.account = "t" + std::to_string(tenant);
  auto payments =
      std::make_shared<ms::payments::PaymentService>(*db, std::move(providers), ms::SystemClock::instance(), pso);
  ms::shop::ShopDeps deps;
  deps.tenant_id = tenant;
  deps.db = db;
  deps.payments = payments;
  deps.secrets = &box;
  deps.http = &http;
  deps.runtime = &runtime;
  deps.bot_key = 1;
  deps.bot_username = bot.username;
  deps.callback_key = "shop-bench-callback-key";
  auto shop = must(ms::shop::ShopBot::create(deps), "shop bot");
  must(runtime.add({1, bot.token, ms::telegram::Intake::kManual, "", shop}), "add the bot");

  Driver driver{emulator, runtime, observer, bot.token, bot.username, deps.callback_key};
  const Scenario start{
      "start", 1, [](const Person&) {
        return std::tuple{std::string("start"), std::vector<ms::telegram::CallbackArg>{}, Screen::kMenu};
      }};
  const Scenario menu{
      "menu", 4, [panel_id](const Person& p) {
        using R = std::tuple<std::string, std::vector<ms::telegram::CallbackArg>, Screen>;
        switch (p.screen) {
          case Screen::kMenu: return R{"buy", {}, Screen::kLocations};
          case Screen::kLocations:
            // Into a location, or back to the menu, in turn.
            return p.step % 4 == 1 ? R{"loc", {panel_id}, Screen::kPlans} : R{"menu", {}, Screen::kMenu};
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
  auto reset = [&](const std::vector<std::size_t>& pool) {
    driver.run(pool, start, static_cast<std::int64_t>(pool.size()), std::max(f.rate, 200));
    if (!driver.wait_idle(30s)) die("people still waiting for the menu after 30 s");
    std::lock_guard lock(observer.mutex);
    for (auto who : pool) observer.people[who].step = 0;
  };

  const long rss_ready_kb = proc_kb("VmRSS:");
  const bool hwm_reset = reset_peak_rss();
  std::cout << "ready: RSS " << rss_ready_kb / 1024 << " MB" << (hwm_reset ? "" : " (peak RSS could not be reset)")
            << "; " << f.rate << " updates/s for " << f.seconds << " s per scenario\n"
            << std::flush;

  json results = json::object();
  reset(everyone);
  results["start"] = measure(driver, everyone, start, f);
  reset(everyone);
  results["menu"] = measure(driver, everyone, menu, f);
  if (!owners.empty()) {
    reset(owners);
    results["services"] = measure(driver, owners, services, f);
  }
  reset(everyone);
  results["referral"] = measure(driver, everyone, referral, f);
  const auto status = runtime.status(1);
  const long hwm_kb = proc_kb("VmHWM:");
  std::cout << "memory: RSS when ready " << rss_ready_kb / 1024 << " MB, peak from then on " << hwm_kb / 1024
            << " MB; handler errors " << (status ? status->handler_errors : 0) << "\n";
  if (!observer.error_samples.empty()) {
    std::cout << "first errors:\n";
    for (const auto& e : observer.error_samples) std::cout << "  " << e << "\n";
  }

  runtime.shutdown();
  shop.reset();
  server.stop(200ms);
  marzban.stop();
  payments.reset();
  db.reset();
  if (f.backend == "postgres") (void)storage->erase_tenant(tenant);
  storage.reset();
  if (temp_dir) std::filesystem::remove_all(f.dir);

  json out = {{"bench", "shop"},
              {"backend", f.backend},
              {"users", f.users},
              {"orders", f.orders},
              {"services", seeded.services},
              {"seed_s", seeded.seconds},
              {"people", everyone.size()},
              {"rate", f.rate},
              {"seconds", f.seconds},
              {"rss_ready_mb", rss_ready_kb / 1024.0},
              {"peak_rss_mb", hwm_kb / 1024.0},
              {"peak_rss_includes_seeding", !hwm_reset},
              {"handler_errors", status ? status->handler_errors : 0},
              {"scenarios", results}};
  std::cout << out.dump() << "\n";
  return 0;
}
