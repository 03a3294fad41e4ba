// ProcessDeployer: the `process` backend. Each instance is one supervised OS process,
// `<binary> runner --instance ID`, that runs that one shop bot (app/runner.cpp).
//
// - The token never leaves this process: the runner reads the instance from the master
//   database and opens its token with the keyring, as the app does. A child's argv holds
//   only the instance id and flags, its environment only `environment` (configuration:
//   database URL, data dir, key file, Bot API URL), never this process's own environment.
// - stdout and stderr of a runner go to <data_dir>/logs/instance-ID.log, copied to
//   instance-ID.log.1 and truncated when over `log_max_bytes` (one rotation; the child keeps
//   writing to its O_APPEND descriptor across the rotation).
// - A runner that exits on its own is restarted after a backoff that doubles up to
//   `max_backoff` and goes back to `initial_backoff` after a run of `stable_after`.
// - stop() sends SIGTERM, waits `stop_grace`, then SIGKILL, and reaps: no process is left.
//   The destructor stops every runner.
// - <data_dir>/run/instance-ID.pid records the pid, its kernel start time and a fingerprint
//   of the spec. A deployer made after its predecessor crashed finds the runners still
//   alive (same pid AND start time AND command line, so a reused pid is never mistaken),
//   lists them in running(), and adopts one when start() brings the same spec, or replaces
//   it (stopped first) when the spec differs; stop() ends it. The runner itself also holds
//   an exclusive lock per instance, so two runners of one bot never run on one machine.
// - health() reads the runner's heartbeat row (instance_heartbeats) in the master database.
//
// Threads: every method is thread-safe. One supervisor thread of its own watches the
// children (a short tick); start/stop of instances are serialised (a stop waits up to
// `stop_grace`).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "deploy/deploy.hpp"
#include "storage/storage.hpp"

namespace ms::deploy {

// The exit code of a runner whose token Telegram refused (401): the deployer does not restart
// it (the same token would be refused again) and reports it in health().token_refused.
inline constexpr int kRunnerTokenRefusedExit = 78;

struct ProcessDeployerOptions {
  std::string binary = "/proc/self/exe";  // the `mothership` binary that has `runner`
  std::string data_dir;                   // logs/ and run/ are made under it
  std::vector<std::string> environment;   // "NAME=value", the runners' whole environment
  std::vector<std::string> extra_args;    // appended to `runner --instance ID ...`
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{60'000};
  std::chrono::milliseconds stable_after{60'000};  // a run this long resets the backoff
  std::chrono::milliseconds stop_grace{10'000};    // SIGTERM -> SIGKILL
  std::chrono::milliseconds tick{100};             // how often the supervisor looks
  std::int64_t log_max_bytes = 10 << 20;
};

class ProcessDeployer final : public Deployer {
 public:
  // `master` (may be null: no heartbeats in health()) must outlive the deployer.
  // Throws std::runtime_error when the data directory cannot be made (a start-up error).
  ProcessDeployer(ProcessDeployerOptions options, storage::Database* master,
                  const Clock& clock = SystemClock::instance());
  ~ProcessDeployer() override;  // stops every runner it started or adopted
  ProcessDeployer(const ProcessDeployer&) = delete;
  ProcessDeployer& operator=(const ProcessDeployer&) = delete;

  Backend backend() const override { return Backend::kProcess; }
  // kUnavailable when the process could not be spawned (the supervisor does not retry a
  // spawn that start() reported; the pipeline does), kInvalidArgument for an id <= 0.
  Result<void> start(const InstanceSpec& spec) override;
  Result<void> stop(std::int64_t instance_id) override;
  Result<InstanceHealth> health(std::int64_t instance_id) override;
  std::vector<std::int64_t> running() const override;

  // The runner's pid now; nullopt while none runs (waiting to restart, or not here).
  std::optional<pid_t> pid(std::int64_t instance_id) const;
  std::string log_path(std::int64_t instance_id) const;

 private:
  struct Child {
    std::optional<InstanceSpec> spec;  // empty: adopted after a crash, spec not yet known
    std::string fingerprint;
    pid_t pid = 0;
    int pidfd = -1;
    bool own = false;  // our child (waitpid) or adopted (only watched)
    std::chrono::steady_clock::time_point run_began{};
    std::int64_t started_at = 0;  // unix seconds
    std::chrono::milliseconds backoff{0};
    std::chrono::steady_clock::time_point next_start{};
    int restarts = 0;
    std::string last_error;
    bool token_refused = false;  // exited with kRunnerTokenRefusedExit: not restarted
  };

  Result<void> spawn_locked(std::int64_t id, Child& child);
  void exited_locked(std::int64_t id, Child& child, const std::string& why);
  void terminate(std::int64_t id, pid_t pid, int pidfd, bool own);
  void adopt_survivors();
  void supervise();
  void rotate_log(std::int64_t id);
  std::string pid_path(std::int64_t id) const;

  ProcessDeployerOptions options_;
  storage::Database* master_;
  const Clock& clock_;
  std::mutex ops_mu_;  // one start/stop at a time
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<std::int64_t, Child> children_;
  std::thread supervisor_;
};

}  // namespace ms::deploy
