#include "deploy/process/process_deployer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/crypto/primitives.hpp"

namespace ms::deploy {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

// The kernel's start time of a process (clock ticks since boot, /proc/<pid>/stat field 22):
// with the pid it names one process for good, so a reused pid is never mistaken for it.
std::optional<std::uint64_t> start_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  // Fields after the command name start at 3 (state); the start time is 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return std::nullopt;
  }
  try {
    return std::stoull(field);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// True when pid runs `... runner --instance <id> ...`.
bool is_runner_of(pid_t pid, std::int64_t id) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string arg;
  for (char c : raw) {
    if (c == '\0') {
      args.push_back(std::move(arg));
      arg.clear();
    } else {
      arg.push_back(c);
    }
  }
  bool runner = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "runner") runner = true;
    if (runner && args[i] == "--instance" && i + 1 < args.size() && args[i + 1] == std::to_string(id)) return true;
  }
  return false;
}

// A descriptor that becomes readable when the process ends (children or not); -1 on kernels
// without pidfds. (glibc 2.36's <sys/pidfd.h> lacks C linkage in C++, hence the syscall.)
int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::string fingerprint(const InstanceSpec& spec) {
  std::string text = spec.token;
  text += '\n' + spec.template_version + '\n' + (spec.suspended ? "suspended" : "selling") + '\n' +
          (spec.webhook ? "webhook" : "polling");
  return crypto::sha256_hex(text);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "ended";
}

// Appends one line of the deployer's own to an instance's log.
void note(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << "[process deployer] " << line << "\n";
}

// Waits up to `within` for the process behind pidfd to end. True when it did.
bool wait_gone(pid_t pid, int pidfd, std::chrono::milliseconds within) {
  const auto until = Steady::now() + within;
  if (pidfd >= 0) {
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Steady::now());
      pollfd p{pidfd, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
      if (r > 0) return true;
      if (r == 0) return false;
      if (errno != EINTR) return false;
    }
  }
  // No pidfd (an old kernel): look every few milliseconds.
  while (Steady::now() < until) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

ProcessDeployer::ProcessDeployer(ProcessDeployerOptions options, storage::Database* master, const Clock& clock)
    : options_(std::move(options)), master_(master), clock_(clock) {
  if (options_.data_dir.empty()) throw std::runtime_error("ProcessDeployer: data_dir is empty");
  std::error_code ec;
  for (const char* sub : {"logs", "run"}) {
    fs::create_directories(fs::path(options_.data_dir) / sub, ec);
    if (ec)
      throw std::runtime_error("ProcessDeployer: cannot make " + (fs::path(options_.data_dir) / sub).string() + ": " +
                               ec.message());
  }
  adopt_survivors();
  supervisor_ = std::thread([this] { supervise(); });
}

ProcessDeployer::~ProcessDeployer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  supervisor_.join();
  std::lock_guard ops(ops_mu_);
  std::map<std::int64_t, Child> children;
  {
    std::lock_guard lock(mu_);
    children.swap(children_);
  }
  // All at once first, so they wind down in parallel; then each is waited for.
  for (auto& [id, child] : children) {
    if (child.pid > 0) ::kill(child.pid, SIGTERM);
  }
  for (auto& [id, child] : children) {
    if (child.pid > 0) terminate(id, child.pid, child.pidfd, child.own);
  }
}

std::string ProcessDeployer::log_path(std::int64_t id) const {
  return (fs::path(options_.data_dir) / "logs" / ("instance-" + std::to_string(id) + ".log")).string();
}

std::string ProcessDeployer::pid_path(std::int64_t id) const {
  return (fs::path(options_.data_dir) / "run" / ("instance-" + std::to_string(id) + ".pid")).string();
}

// Runners a crashed predecessor left: adopted (watched, listed in running()) until start()
// gives their spec or stop() ends them.
void ProcessDeployer::adopt_survivors() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(options_.data_dir) / "run", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("instance-", 0) != 0 || entry.path().extension() != ".pid") continue;
    std::int64_t id = 0;
    try {
      id = std::stoll(name.substr(9));
    } catch (const std::exception&) {
      continue;
    }
    std::ifstream in(entry.path());
    long long pid = 0;
    std::uint64_t started = 0;
    std::string print;
    if (!(in >> pid >> started >> print) || pid <= 0) {
      fs::remove(entry.path(), ec);
      continue;
    }
    auto now_started = start_time(static_cast<pid_t>(pid));
    if (!now_started || *now_started != started || !is_runner_of(static_cast<pid_t>(pid), id)) {
      fs::remove(entry.path(), ec);  // that runner is gone (and the pid may be someone else's now)
      continue;
    }
    Child child;
    child.pid = static_cast<pid_t>(pid);
    child.pidfd = open_pidfd(child.pid);
    child.fingerprint = print;
    child.own = false;
    child.run_began = Steady::now();
    child.started_at = clock_.unix_seconds();
    spdlog::info("process deployer: instance {}: found its runner (pid {}) still running; adopted", id, pid);
    note(log_path(id), "a restarted deployer adopted this runner (pid " + std::to_string(pid) + ")");
    children_[id] = std::move(child);
  }
}

Result<void> ProcessDeployer::spawn_locked(std::int64_t id, Child& child) {
  const std::string log = log_path(id);
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return fail(ErrorCode::kUnavailable, "cannot open " + log + ": " + std::strerror(errno));

  std::vector<std::string> args = {"mothership",       "runner",     "--instance",
                                   std::to_string(id), "--restarts", std::to_string(child.restarts)};
  if (child.spec->suspended) args.push_back("--suspended");
  for (const auto& a : options_.extra_args) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = options_.environment;
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
  // Nothing else of ours goes along (listening sockets, database connections): a runner that
  // outlives a crashed parent must not hold its port.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  // A server blocks SIGTERM in its threads to wait for it; the runner must get it. Its own
  // session keeps a terminal's Ctrl-C for the parent, which then stops its runners.
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, options_.binary.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(log_fd);
  if (rc != 0) return fail(ErrorCode::kUnavailable, "cannot run " + options_.binary + ": " + std::strerror(rc));

  child.pid = pid;
  child.pidfd = open_pidfd(pid);
  child.own = true;
  child.run_began = Steady::now();
  child.started_at = clock_.unix_seconds();
  auto started = start_time(pid);
  {
    const std::string path = pid_path(id);
    std::ofstream out(path + ".tmp", std::ios::trunc);
    out << pid << " " << started.value_or(0) << " " << child.fingerprint << "\n";
    out.close();
    std::error_code ec;
    fs::rename(path + ".tmp", path, ec);
  }
  note(log, "runner started (pid " + std::to_string(pid) + ", restarts " + std::to_string(child.restarts) + ")");
  spdlog::info("process deployer: instance {}: runner started (pid {})", id, pid);
  return ok();
}

void ProcessDeployer::exited_locked(std::int64_t id, Child& child, const std::string& why) {
  if (child.pidfd >= 0) ::close(child.pidfd);
  child.pidfd = -1;
  child.pid = 0;
  std::error_code ec;
  fs::remove(pid_path(id), ec);
  child.last_error = "the runner " + why;
  note(log_path(id), child.last_error);
  if (!child.spec) return;
  if (child.token_refused) {
    spdlog::warn("process deployer: instance {}: Telegram refused the bot token; not restarted", id);
    return;
  }
  const auto ran = Steady::now() - child.run_began;
  if (ran >= options_.stable_after || child.backoff.count() == 0) {
    child.backoff = options_.initial_backoff;
  } else {
    child.backoff = std::min(child.backoff * 2, options_.max_backoff);
  }
  child.next_start = Steady::now() + child.backoff;
  ++child.restarts;
  spdlog::warn("process deployer: instance {}: the runner {}; restarting in {} ms", id, why, child.backoff.count());
}

void ProcessDeployer::supervise() {
  std::unique_lock lock(mu_);
  auto next_log_check = Steady::now();
  while (!stopping_) {
    wake_.wait_for(lock, options_.tick, [&] { return stopping_; });
    if (stopping_) break;
    for (auto it = children_.begin(); it != children_.end();) {
      auto& [id, child] = *it;
      if (child.pid > 0) {
        std::optional<std::string> why;
        if (child.own) {
          int status = 0;
          pid_t r = ::waitpid(child.pid, &status, WNOHANG);
          if (r == child.pid) {
            why = describe_status(status);
            child.token_refused = WIFEXITED(status) && WEXITSTATUS(status) == kRunnerTokenRefusedExit;
          }
          if (r < 0 && errno == ECHILD) why = "vanished";
        } else {
          pollfd p{child.pidfd, POLLIN, 0};
          bool gone = child.pidfd >= 0 ? ::poll(&p, 1, 0) > 0 : (::kill(child.pid, 0) != 0 && errno == ESRCH);
          if (gone) {
            int status = 0;
            (void)::waitpid(child.pid, &status, WNOHANG);  // ours after all, when it is a leftover child
            why = "(adopted) ended";
          }
        }
        if (why) {
          exited_locked(id, child, *why);
          if (!child.spec) {
            it = children_.erase(it);
            continue;
          }
        }
      }
      if (child.pid == 0 && child.spec && !child.token_refused && Steady::now() >= child.next_start) {
        if (auto spawned = spawn_locked(id, child); !spawned) {
          child.last_error = spawned.error().message;
          child.backoff = std::min(std::max(child.backoff * 2, options_.initial_backoff), options_.max_backoff);
          child.next_start = Steady::now() + child.backoff;
          spdlog::error("process deployer: instance {}: {}", id, child.last_error);
        }
      }
      ++it;
    }
    if (Steady::now() >= next_log_check) {
      next_log_check = Steady::now() + std::chrono::seconds(1);
      lock.unlock();
      // Not while a start/stop runs: its last line in the log must not be truncated away.
      if (std::unique_lock ops(ops_mu_, std::try_to_lock); ops) {
        std::vector<std::int64_t> ids;
        {
          std::lock_guard again(mu_);
          for (const auto& [id, child] : children_) ids.push_back(id);
        }
        for (auto id : ids) rotate_log(id);
      }
      lock.lock();
    }
  }
}

// Copy-and-truncate: the runner writes through an O_APPEND descriptor, which goes on at the
// new end of the emptied file (a line written between the copy and the truncate is lost).
void ProcessDeployer::rotate_log(std::int64_t id) {
  const std::string path = log_path(id);
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec || static_cast<std::int64_t>(size) <= options_.log_max_bytes) return;
  fs::copy_file(path, path + ".1", fs::copy_options::overwrite_existing, ec);
  if (ec) {
    spdlog::warn("process deployer: cannot rotate {}: {}", path, ec.message());
    return;
  }
  if (::truncate(path.c_str(), 0) != 0) spdlog::warn("process deployer: cannot truncate {}", path);
}

void ProcessDeployer::terminate(std::int64_t id, pid_t pid, int pidfd, bool own) {
  ::kill(pid, SIGTERM);
  bool gone = wait_gone(pid, pidfd, options_.stop_grace);
  if (!gone) {
    spdlog::warn("process deployer: instance {}: the runner (pid {}) ignored SIGTERM for {} ms; killing it", id, pid,
                 options_.stop_grace.count());
    ::kill(pid, SIGKILL);
    gone = wait_gone(pid, pidfd, std::chrono::seconds(30));
  }
  int status = 0;
  std::string how = "stopped";
  if (own && ::waitpid(pid, &status, 0) == pid) how = "stopped (" + describe_status(status) + ")";
  if (!own) (void)::waitpid(pid, &status, WNOHANG);
  if (pidfd >= 0) ::close(pidfd);
  std::error_code ec;
  fs::remove(pid_path(id), ec);
  note(log_path(id), "runner " + how);
}

Result<void> ProcessDeployer::start(const InstanceSpec& spec) {
  if (spec.instance_id <= 0) return fail(ErrorCode::kInvalidArgument, "an instance id must be positive");
  if (spec.webhook)
    return fail(ErrorCode::kInvalidArgument, "the process backend runs bots with long polling, not webhooks");
  std::lock_guard ops(ops_mu_);
  const std::string print = fingerprint(spec);
  pid_t old_pid = 0;
  int old_pidfd = -1;
  bool old_own = false;
  {
    std::lock_guard lock(mu_);
    auto it = children_.find(spec.instance_id);
    if (it != children_.end()) {
      auto& child = it->second;
      if (child.fingerprint == print) {
        // The same spec again, or the spec of a runner adopted after a crash: keep it.
        if (!child.spec) spdlog::info("process deployer: instance {}: keeps its adopted runner", spec.instance_id);
        child.spec = spec;
        return ok();
      }
      // Changed (token, template version, suspended): the old runner goes first.
      old_pid = child.pid;
      old_pidfd = child.pidfd;
      old_own = child.own;
      child.pid = 0;
      child.pidfd = -1;
      child.spec.reset();  // the supervisor leaves it alone meanwhile
    }
  }
  if (old_pid > 0) terminate(spec.instance_id, old_pid, old_pidfd, old_own);
  std::lock_guard lock(mu_);
  auto& child = children_[spec.instance_id];
  child.spec = spec;
  child.fingerprint = print;
  child.backoff = std::chrono::milliseconds(0);
  child.last_error.clear();
  child.token_refused = false;
  if (auto spawned = spawn_locked(spec.instance_id, child); !spawned) {
    children_.erase(spec.instance_id);
    return spawned;
  }
  return ok();
}

Result<void> ProcessDeployer::stop(std::int64_t instance_id) {
  std::lock_guard ops(ops_mu_);
  Child child;
  {
    std::lock_guard lock(mu_);
    auto it = children_.find(instance_id);
    if (it == children_.end()) return ok();
    child = std::move(it->second);
    children_.erase(it);
  }
  if (child.pid > 0) terminate(instance_id, child.pid, child.pidfd, child.own);
  return ok();
}

Result<InstanceHealth> ProcessDeployer::health(std::int64_t instance_id) {
  InstanceHealth h;
  pid_t pid = 0;
  {
    std::lock_guard lock(mu_);
    auto it = children_.find(instance_id);
    if (it == children_.end())
      return fail(ErrorCode::kNotFound, "instance " + std::to_string(instance_id) + " is not run by this deployer");
    const auto& child = it->second;
    h.running = child.pid > 0;
    pid = child.pid;
    if (h.running) h.started_at = child.started_at;
    h.restarts = child.restarts;
    h.last_error = child.last_error;
    h.token_refused = child.token_refused;
  }
  if (master_ != nullptr) {
    auto beat = master_->with_session([&](storage::Session& s) {
      return s.query_one("SELECT pid, started_at, heartbeat_at FROM instance_heartbeats WHERE instance_id = :id",
                         {{"id", instance_id}});
    });
    if (beat && *beat) {
      h.heartbeat_at = (*beat)->get_int("heartbeat_at");
      // The runner's own start time (also right for a runner adopted after a crash).
      if ((*beat)->get_int("pid") == pid) h.started_at = (*beat)->get_int("started_at");
    }
    if (!beat)
      spdlog::warn("process deployer: instance {}: heartbeat unreadable: {}", instance_id, beat.error().message);
  }
  return h;
}

std::vector<std::int64_t> ProcessDeployer::running() const {
  std::lock_guard lock(mu_);
  std::vector<std::int64_t> ids;
  for (const auto& [id, child] : children_) ids.push_back(id);
  return ids;
}

std::optional<pid_t> ProcessDeployer::pid(std::int64_t instance_id) const {
  std::lock_guard lock(mu_);
  auto it = children_.find(instance_id);
  if (it == children_.end() || it->second.pid <= 0) return std::nullopt;
  return it->second.pid;
}

}  // namespace ms::deploy
