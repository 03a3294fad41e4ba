// Telegram layer benchmarks against the sandbox emulator over real loopback HTTP.
//
//   telegram_bench bots [--bots 1000] [--people 10] [--rate 3000] [--seconds 20]
//     Two processes: this one is Telegram (the emulator behind an HTTP server) and drives
//     the load; a child process is Mothership (one BotRuntime hosting every bot, each
//     polling). People write to the bots at `rate` messages/s in total; every bot answers
//     every message. Each message carries the monotonic time it was written, and the child
//     measures, when Telegram accepted the reply, the time from intake to sent reply.
//     Memory is the child's: VmRSS with every bot polling and idle, and VmHWM at the end.
//   telegram_bench broadcast [--users 10000]
//     One bot in one process sends a bulk message to every user (all of whom started it)
//     through the runtime's outgoing queue, against the emulator's 30/s limit: achieved
//     messages/s and the 429s Telegram answered.
//
// Prints human lines, then one JSON object on the last line.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/timer_queue.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"
#include "telegram/runtime.hpp"

namespace {

using namespace std::chrono_literals;
using ms::telegram::BotContext;
using ms::telegram::Update;
using nlohmann::json;

std::int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// kB from /proc/<pid>/status, e.g. field "VmRSS:".
long proc_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return fallback;
}

void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

class FnHandler : public ms::telegram::UpdateHandler {
 public:
  explicit FnHandler(std::function<void(BotContext&, const Update&)> fn) : fn_(std::move(fn)) {}
  void handle(BotContext& bot, const Update& update) override { fn_(bot, update); }

 private:
  std::function<void(BotContext&, const Update&)> fn_;
};

// Long polls hold one connection per bot: no per-host cap.
ms::http::CurlClientOptions telegram_client_options() {
  ms::http::CurlClientOptions o;
  o.max_host_connections = 0;
  o.max_idle_connections = 8192;
  o.max_in_flight = 16384;
  return o;
}

// ---- bots: the child (Mothership) ----

std::atomic<bool> g_stop{false};

int run_runtime_child(const std::string& api, const std::string& tokens_file, const std::string& out_file) {
  raise_fd_limit();
  signal(SIGTERM, [](int) { g_stop = true; });
  std::vector<std::string> tokens;
  {
    std::ifstream in(tokens_file);
    std::string t;
    while (std::getline(in, t))
      if (!t.empty()) tokens.push_back(t);
  }
  ms::http::CurlClient http(telegram_client_options());
  ms::TimerQueue timers;
  ms::telegram::RuntimeOptions options;
  options.handler_threads = 4;
  options.max_sends_in_flight = 1024;
  std::mutex mutex;
  std::vector<double> latencies_ms;
  latencies_ms.reserve(1 << 20);
  std::atomic<std::int64_t> replies{0}, failures{0}, last_reply_ns{0};
  auto handler = std::make_shared<FnHandler>([&](BotContext& bot, const Update& u) {
    if (!u.message || !u.message->text) return;
    const std::int64_t sent_at = std::stoll(*u.message->text);
    ms::telegram::SendMessage reply;
    reply.chat_id = u.message->chat.id;
    reply.text = "ok " + *u.message->text;
    bot.send(reply, ms::telegram::Priority::kInteractive,
             [&, sent_at](ms::telegram::Reply<ms::telegram::SendMessage> r) {
               const std::int64_t now = monotonic_ns();
               if (!r) {
                 ++failures;
                 return;
               }
               ++replies;
               last_reply_ns = now;
               std::lock_guard lock(mutex);
               latencies_ms.push_back(static_cast<double>(now - sent_at) / 1e6);
             });
  });
  {
    ms::telegram::BotRuntime runtime(http, timers, api, options);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      auto added = runtime.add(
          {static_cast<ms::telegram::BotKey>(i + 1), tokens[i], ms::telegram::Intake::kPolling, "", handler});
      if (!added) {
        std::cerr << "runtime: " << added.error().to_string() << "\n";
        return 1;
      }
    }
    while (!g_stop) std::this_thread::sleep_for(50ms);
    std::uint64_t rate_limited = 0;
    for (const auto& s : runtime.list()) rate_limited += s.rate_limited;
    std::lock_guard lock(mutex);
    json out = {{"replies", replies.load()},
                {"failures", failures.load()},
                {"rate_limited", rate_limited},
                {"last_reply_ns", last_reply_ns.load()},
                {"p50_ms", percentile(latencies_ms, 0.50)},
                {"p99_ms", percentile(latencies_ms, 0.99)},
                {"max_ms", percentile(latencies_ms, 1.0)},
                {"vm_hwm_kb", proc_kb(getpid(), "VmHWM:")},
                {"vm_rss_kb", proc_kb(getpid(), "VmRSS:")}};
    std::ofstream(out_file) << out.dump();
  }
  return 0;
}

// ---- bots: the parent (Telegram and the people) ----

int run_bots(int argc, char** argv, const char* self) {
  raise_fd_limit();
  const int bots = std::stoi(arg(argc, argv, "--bots", "1000"));
  const int people = std::stoi(arg(argc, argv, "--people", "10"));
  const int rate = std::stoi(arg(argc, argv, "--rate", "3000"));
  const int seconds = std::stoi(arg(argc, argv, "--seconds", "20"));

  ms::sandbox::EmulatorOptions eo;
  eo.max_long_poll = 30s;
  ms::sandbox::Emulator emulator(eo);
  ms::http::ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.handler_timeout = 60s;
  so.threads = 1;
  ms::http::Server server(so);
  ms::sandbox::add_sandbox_routes(server.router(), emulator);
  if (auto s = server.start(); !s) {
    std::cerr << s.error().to_string() << "\n";
    return 1;
  }
  const std::string api = "http://127.0.0.1:" + std::to_string(server.bound_port()) + "/sandbox";
  char dir_template[] = "/tmp/ms-telegram-bench-XXXXXX";  // mkdtemp needs the X's
  const std::string dir = mkdtemp(dir_template);
  std::vector<std::string> usernames;
  {
    std::ofstream tokens(dir + "/tokens");
    for (int b = 0; b < bots; ++b) {
      auto bot = emulator.create_bot("load" + std::to_string(b) + "_bot", "Load " + std::to_string(b));
      if (!bot) return 1;
      tokens << bot->token << "\n";
      usernames.push_back(bot->username);
    }
  }
  std::vector<std::int64_t> ids;
  for (int p = 0; p < people; ++p)
    ids.push_back((*emulator.create_user({0, "p" + std::to_string(p), "", "", "fa"}))["id"]);

  const pid_t child = fork();
  if (child == 0) {
    execl(self, self, "runtime-child", "--api", api.c_str(), "--tokens", (dir + "/tokens").c_str(), "--out",
          (dir + "/result.json").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto started = std::chrono::steady_clock::now();
  for (const auto& u : usernames) {
    if (!emulator.wait_for_poller(u, 60s)) {
      std::cerr << "bot " << u << " never polled\n";
      kill(child, SIGKILL);
      return 1;
    }
  }
  const double ready_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::this_thread::sleep_for(1s);
  const long idle_rss_kb = proc_kb(child, "VmRSS:");
  std::cout << bots << " bots polling after " << ready_s << " s; runtime RSS idle " << idle_rss_kb / 1024 << " MB\n";

  // Open loop at `rate`: person p writes to bot b in turn; each chat gets rate/(bots*people)
  // messages per second, far below Telegram's 1/s per chat at the default sizes.
  const std::int64_t total = static_cast<std::int64_t>(rate) * seconds;
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t t0_ns = monotonic_ns();
  std::int64_t sent = 0, refused = 0;
  for (std::int64_t i = 0; i < total; ++i) {
    const auto due = t0 + std::chrono::nanoseconds(i * 1'000'000'000LL / rate);
    if (due > std::chrono::steady_clock::now()) std::this_thread::sleep_until(due);
    const auto& bot = usernames[static_cast<std::size_t>(i % bots)];
    const auto person = ids[static_cast<std::size_t>((i / bots) % people)];
    if (emulator.send_text(person, bot, std::to_string(monotonic_ns())))
      ++sent;
    else
      ++refused;
  }
  const double send_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::this_thread::sleep_for(3s);  // let the tail drain
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  std::ifstream in(dir + "/result.json");
  json r = json::parse(in, nullptr, false);
  std::filesystem::remove_all(dir);
  server.stop(200ms);
  if (r.is_discarded()) {
    std::cerr << "the runtime child wrote no result\n";
    return 1;
  }
  const double window_s = static_cast<double>(r["last_reply_ns"].get<std::int64_t>() - t0_ns) / 1e9;
  const double achieved = r["replies"].get<double>() / window_s;
  std::cout << "offered " << sent << " messages in " << send_s << " s (" << sent / send_s << "/s), " << refused
            << " refused by the emulator\n"
            << "replied " << r["replies"] << " (" << achieved << "/s end to end), failures " << r["failures"]
            << ", 429s " << r["rate_limited"] << "\n"
            << "intake -> reply latency p50 " << r["p50_ms"] << " ms, p99 " << r["p99_ms"] << " ms, max " << r["max_ms"]
            << " ms\n"
            << "runtime memory: idle " << idle_rss_kb / 1024 << " MB, peak " << r["vm_hwm_kb"].get<long>() / 1024
            << " MB\n";
  json out = {{"bench", "telegram_bots"},
              {"bots", bots},
              {"people", people},
              {"offered_per_s", sent / send_s},
              {"replies", r["replies"]},
              {"replies_per_s", achieved},
              {"failures", r["failures"]},
              {"rate_limited", r["rate_limited"]},
              {"p50_ms", r["p50_ms"]},
              {"p99_ms", r["p99_ms"]},
              {"idle_rss_mb", idle_rss_kb / 1024.0},
              {"peak_rss_mb", r["vm_hwm_kb"].get<double>() / 1024.0}};
  std::cout << out.dump() << "\n";
  return 0;
}

// ---- broadcast ----

int run_broadcast(int argc, char** argv) {
  raise_fd_limit();
  const int users = std::stoi(arg(argc, argv, "--users", "10000"));
  ms::sandbox::Emulator emulator;
  ms::http::ServerOptions so;
  so.listen = "127.0.0.1:0";
  ms::http::Server server(so);
  ms::sandbox::add_sandbox_routes(server.router(), emulator);
  if (!server.start()) return 1;
  const std::string api = "http://127.0.0.1:" + std::to_string(server.bound_port()) + "/sandbox";
  auto bot = emulator.create_bot("broadcast_bot", "Broadcast");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < users; ++i) {
    ids.push_back((*emulator.create_user({0, "u" + std::to_string(i), "", "", "fa"}))["id"]);
    emulator.send_text(ids.back(), bot->username, "/start");
  }
  ms::http::CurlClient http(telegram_client_options());
  ms::TimerQueue timers;
  ms::telegram::BotRuntime runtime(http, timers, api);
  std::atomic<int> ok{0}, failed{0};
  std::promise<void> queued;
  auto handler = std::make_shared<FnHandler>([&](BotContext& ctx, const Update&) {
    for (auto id : ids) {
      ms::telegram::SendMessage m;
      m.chat_id = id;
      m.text = "📢 تخفیف ویژه امروز";
      ctx.send(m, ms::telegram::Priority::kBulk,
               [&](ms::telegram::Reply<ms::telegram::SendMessage> r) { (r ? ok : failed)++; });
    }
    queued.set_value();
  });
  if (!runtime.add({1, bot->token, ms::telegram::Intake::kManual, "", handler})) return 1;
  Update go;
  go.update_id = 1;
  const auto t0 = std::chrono::steady_clock::now();
  if (!runtime.deliver(1, go)) return 1;
  queued.get_future().wait();
  int last_report = 0;
  while (ok + failed < users) {
    std::this_thread::sleep_for(100ms);
    const int done = ok + failed;
    if (done - last_report >= 1000) {
      last_report = done;
      std::cout << "  " << done << " sent after "
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n"
                << std::flush;
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto status = runtime.status(1);
  const double per_s = ok / s;
  std::cout << users << " users: " << ok << " delivered, " << failed << " failed in " << s << " s = " << per_s
            << " msg/s (" << per_s / 30.0 * 100 << "% of 30/s); 429s received: " << status->rate_limited << "\n";
  runtime.shutdown();
  server.stop(200ms);
  json out = {{"bench", "telegram_broadcast"},
              {"users", users},
              {"delivered", ok.load()},
              {"failed", failed.load()},
              {"seconds", s},
              {"per_s", per_s},
              {"share_of_limit", per_s / 30.0},
              {"rate_limited", status->rate_limited}};
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "runtime-child")
    return run_runtime_child(arg(argc, argv, "--api", ""), arg(argc, argv, "--tokens", ""),
                             arg(argc, argv, "--out", ""));
  if (mode == "bots") return run_bots(argc, argv, "/proc/self/exe");
  if (mode == "broadcast") return run_broadcast(argc, argv);
  std::cerr << "usage: telegram_bench bots [--bots N --people N --rate N --seconds N] | broadcast [--users N]\n";
  return 2;
}
