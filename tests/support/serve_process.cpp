#include "serve_process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include "http/client.hpp"
#include "storage/pool.hpp"

extern char** environ;

#ifndef MS_MOTHERSHIP_BIN
#error "MS_MOTHERSHIP_BIN (the path of the mothership binary) must be defined by the build"
#endif

namespace ms::test_support {
namespace {

using namespace std::chrono_literals;

std::string getenv_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `pred` every few milliseconds until it holds or `within` passes.
template <class Pred>
bool poll_until(Pred pred, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<ServeProcess>> ServeProcess::create(ServeSetup setup) {
  static std::atomic<int> counter{0};
  auto p = std::unique_ptr<ServeProcess>(new ServeProcess());
  p->setup_ = std::move(setup);
  const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::error_code ec;
  p->dir_ = std::filesystem::temp_directory_path() / ("ms_serve_" + tag);
  std::filesystem::remove_all(p->dir_, ec);
  if (!std::filesystem::create_directories(p->dir_ / "data", ec) || ec)
    return fail(ErrorCode::kInternal, "cannot make " + p->dir_.string() + ": " + ec.message());
  // serve wants a private data directory; the key file must be 0600.
  std::filesystem::permissions(p->dir_ / "data", std::filesystem::perms::owner_all, ec);
  p->keyring_ = std::make_unique<crypto::Keyring>(crypto::generate_key());
  if (auto saved = crypto::save_key_file((p->dir_ / "secret.key").string(), *p->keyring_); !saved)
    return fail(ErrorCode::kInternal, "key file: " + saved.error().message);

  if (p->setup_.backend == storage::Backend::kPostgres) {
    p->pg_admin_url_ = getenv_or_empty("MOTHERSHIP_TEST_PG_URL");
    if (p->pg_admin_url_.empty()) return fail(ErrorCode::kUnavailable, "MOTHERSHIP_TEST_PG_URL is not set");
    auto conninfo = storage::detail::pg_conninfo(p->pg_admin_url_);
    if (!conninfo) return fail(ErrorCode::kUnavailable, "MOTHERSHIP_TEST_PG_URL: " + conninfo.error().message);
    const std::string name = "ms_serve_" + tag;
    try {
      soci::session admin(*soci::factory_postgresql(), *conninfo);
      admin << "SET client_min_messages = warning";
      admin << "DROP DATABASE IF EXISTS " + name;
      admin << "CREATE DATABASE " + name;
    } catch (const std::exception& e) {
      return fail(ErrorCode::kUnavailable, std::string("PostgreSQL unreachable: ") + e.what());
    }
    p->pg_database_ = name;
  }
  return p;
}

ServeProcess::~ServeProcess() {
  (void)kill();
  const bool keep = ::testing::Test::HasFailure();
  if (!pg_database_.empty()) {
    if (keep) {
      std::cerr << "[serve] kept PostgreSQL database " << pg_database_ << "\n";
    } else {
      try {
        soci::session admin(*soci::factory_postgresql(), storage::detail::pg_conninfo(pg_admin_url_).value());
        admin << "SET client_min_messages = warning";
        admin << "DROP DATABASE IF EXISTS " + pg_database_ + " WITH (FORCE)";
      } catch (const std::exception&) {
        // a leftover database is harmless: the next run uses new names
      }
    }
  }
  if (keep) {
    std::cerr << "[serve] kept " << dir_.string() << " (logs: serve-*.log, command-*.log)\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string ServeProcess::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string ServeProcess::sandbox_url() const { return base_url() + "/sandbox"; }

storage::StorageOptions ServeProcess::storage_options() const {
  storage::StorageOptions o;
  o.pool_size = 4;
  o.workers = 2;
  if (setup_.backend == storage::Backend::kSqlite) {
    o.data_dir = (dir_ / "data").string();
    return o;
  }
  // The admin URL with its database name swapped for ours (query string kept).
  const auto slash = pg_admin_url_.rfind('/');
  std::string query;
  if (auto q = pg_admin_url_.find('?', slash); q != std::string::npos) query = pg_admin_url_.substr(q);
  o.url = pg_admin_url_.substr(0, slash) + "/" + pg_database_ + query;
  o.data_dir = "";
  return o;
}

std::filesystem::path ServeProcess::log_path() const {
  return dir_ / ("serve-" + std::to_string(std::max(starts_, 1)) + ".log");
}

std::string ServeProcess::log() const { return read_file(log_path()); }

std::string ServeProcess::log_tail(std::size_t bytes) const {
  auto text = log();
  return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
}

std::map<std::string, std::string> ServeProcess::environment() const {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string key = kv.substr(0, eq);
    if (key.rfind("MOTHERSHIP_", 0) == 0) continue;  // the developer's own settings stay out
    env[key] = kv.substr(eq + 1);
  }
  env["MOTHERSHIP_DATA_DIR"] = (dir_ / "data").string();
  env["MOTHERSHIP_SECRET_KEY_FILE"] = (dir_ / "secret.key").string();
  env["MOTHERSHIP_HTTP_LISTEN"] = "127.0.0.1:" + std::to_string(port_);
  env["MOTHERSHIP_LOG_LEVEL"] = setup_.log_level;
  env["MOTHERSHIP_DB_POOL_SIZE"] = "4";
  env["MOTHERSHIP_DB_WORKERS"] = "2";
  if (setup_.backend == storage::Backend::kPostgres) env["MOTHERSHIP_DATABASE_URL"] = storage_options().url;
  if (!setup_.telegram_api_url.empty()) {
    env["MOTHERSHIP_TELEGRAM_API_URL"] = setup_.telegram_api_url;
    env["MOTHERSHIP_MASTER_BOT_TOKEN"] = setup_.master_bot_token;
  }
  // The Marzban test panels live on 127.0.0.1 (a test may set it back to false in setup_.env).
  env["MOTHERSHIP_PANELS_ALLOW_PRIVATE_ADDRESSES"] = "true";
  for (const auto& [k, v] : setup_.env) env[k] = v;
  return env;
}

Result<pid_t> ServeProcess::spawn(const std::vector<std::string>& args, const std::filesystem::path& output) const {
  // Everything the child needs is built before fork(): between fork() and exec() a child of a
  // threaded process may only make async-signal-safe calls.
  std::vector<std::string> argv_s{MS_MOTHERSHIP_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (const auto& [k, v] : environment()) env_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string out = output.string();
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) return fail(ErrorCode::kInternal, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // A test that dies (crash, timeout) takes its serve with it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) ::_exit(126);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

Result<std::optional<int>> ServeProcess::reap(pid_t pid, std::chrono::milliseconds within) const {
  std::optional<int> code;
  bool gone = poll_until(
      [&] {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
          code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        }
        if (r < 0 && errno == ECHILD) return true;  // reaped elsewhere
        return false;
      },
      within);
  if (!gone) return fail(ErrorCode::kTimeout, "process " + std::to_string(pid) + " did not end");
  return code;
}

Result<void> ServeProcess::start(std::chrono::milliseconds within) {
  if (running()) return fail(ErrorCode::kConflict, "serve is already running");
  ++starts_;
  const auto port_file = dir_ / "serve.port";
  std::error_code ec;
  std::filesystem::remove(port_file, ec);
  auto pid = spawn({"serve", "--port-file", port_file.string()}, log_path());
  if (!pid) return fail(std::move(pid.error()));
  pid_ = *pid;

  const auto until = std::chrono::steady_clock::now() + within;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
  };
  auto exited = [&] {
    int status = 0;
    return ::waitpid(*pid, &status, WNOHANG) == *pid;
  };
  bool died = false;
  const bool listening = poll_until(
      [&] {
        if (exited()) return died = true;
        return std::filesystem::exists(port_file) && !read_file(port_file).empty();
      },
      left());
  if (died || !listening) {
    if (died) pid_ = 0;
    (void)kill();
    return fail(ErrorCode::kUnavailable, std::string(died ? "serve exited early" : "serve did not listen in time") +
                                             "; log " + log_path().string() + ":\n" + log_tail());
  }
  port_ = static_cast<std::uint16_t>(std::stoi(read_file(port_file)));

  http::CurlClient client;
  int last_status = 0;
  const bool ready = poll_until(
      [&] {
        if (exited()) return died = true;
        http::ClientRequest req;
        req.url = base_url() + "/readyz";
        req.timeout = 2s;
        auto res = client.send_sync(req);
        last_status = res ? res->status : 0;
        return last_status == 200;
      },
      left());
  if (died || !ready) {
    if (died) pid_ = 0;
    (void)kill();
    return fail(ErrorCode::kUnavailable,
                std::string(died ? "serve exited before it was ready"
                                 : "/readyz was not 200 in time (last " + std::to_string(last_status) + ")") +
                    "; log " + log_path().string() + ":\n" + log_tail());
  }
  return ok();
}

Result<void> ServeProcess::kill() {
  const pid_t pid = pid_.exchange(0);
  if (pid <= 0) return fail(ErrorCode::kNotFound, "serve is not running");
  ::kill(pid, SIGKILL);
  auto reaped = reap(pid, 10s);
  if (!reaped) return fail(std::move(reaped.error()));
  return ok();
}

Result<int> ServeProcess::stop(std::chrono::milliseconds within) {
  const pid_t pid = pid_.exchange(0);
  if (pid <= 0) return fail(ErrorCode::kNotFound, "serve is not running");
  ::kill(pid, SIGTERM);
  auto code = reap(pid, within);
  if (!code) {
    ::kill(pid, SIGKILL);
    (void)reap(pid, 10s);
    return fail(ErrorCode::kTimeout, "serve did not stop within " + std::to_string(within.count()) +
                                         " ms of SIGTERM (killed); log:\n" + log_tail());
  }
  return code->value_or(-1);
}

Result<CommandOutput> ServeProcess::run(const std::vector<std::string>& args, std::chrono::milliseconds within) {
  const auto output = dir_ / ("command-" + std::to_string(++commands_) + ".log");
  auto pid = spawn(args, output);
  if (!pid) return fail(std::move(pid.error()));
  auto code = reap(*pid, within);
  if (!code) {
    ::kill(*pid, SIGKILL);
    (void)reap(*pid, 10s);
    return fail(ErrorCode::kTimeout, "mothership " + (args.empty() ? std::string() : args[0]) + " did not end in time");
  }
  return CommandOutput{code->value_or(-1), read_file(output)};
}

}  // namespace ms::test_support
