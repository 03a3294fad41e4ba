// Durable jobs over the master database's `jobs` table: work that must happen even if the
// process dies half-way (deployments, rolling restarts).
//
// A job is enqueued with an optional idempotency key (a second enqueue with the same key
// returns the existing job). A runner claims due jobs with a lease (locked_by and
// locked_until_ms); a runner that died loses its lease when it runs out and another claims
// the job. Each claim is one attempt, recorded in job_attempts. The handler registered for
// the job's kind answers:
//   done       the job is finished;
//   step_done  one step is finished and recorded; the handler is called again at once, and a
//              later attempt (after a crash or a retry) starts at the first step not done;
//   retry      try again after an exponential backoff with jitter; after max_attempts the job
//              is `dead` with the last error;
//   fail       the job is `dead` now (a failure retrying cannot fix).
// Every write of a runner is conditional on still holding the lease, so a runner that lost
// its lease never overwrites the one that took the job over.
//
// Time: due times and leases follow the injected Clock (unix milliseconds). In production
// the runner claims on a WorkerPool, woken by a TimerQueue tick and by enqueue(); tests use
// a ManualClock and call run_due() themselves.
//
// Threads: every method is thread-safe. Handlers run on the WorkerPool (or on the thread that
// called run_due()), several jobs in parallel, each job on one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/timer_queue.hpp"
#include "core/worker_pool.hpp"
#include "storage/storage.hpp"

namespace ms::jobs {

enum class JobStatus { kQueued, kRunning, kDone, kDead, kCancelled };
std::string_view to_string(JobStatus status);  // queued, running, done, dead, cancelled

struct NewJob {
  std::string kind;
  nlohmann::json payload = nlohmann::json::object();
  std::string idempotency_key;  // empty: none
  int max_attempts = 8;
  int priority = 0;  // higher first among due jobs
  std::optional<std::int64_t> tenant_id;
  std::chrono::milliseconds delay{0};   // due this long after now
  std::vector<std::string> steps_done;  // steps to count as done from the start
};

struct Job {
  std::int64_t id = 0;
  std::string kind;
  nlohmann::json payload;
  JobStatus status = JobStatus::kQueued;
  int attempts = 0;  // claims so far, the running one included
  int max_attempts = 0;
  std::vector<std::string> steps_done;
  std::string last_error;
  std::string idempotency_key;
  std::int64_t run_at_ms = 0;
  std::optional<std::string> locked_by;
  std::optional<std::int64_t> locked_until_ms;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> finished_at;

  bool step_done(std::string_view step) const;
};

struct Attempt {
  int attempt = 0;
  std::string worker;
  std::int64_t started_at_ms = 0;
  std::optional<std::int64_t> finished_at_ms;
  std::string outcome;             // done, retry, dead, lost; empty while running
  std::vector<std::string> steps;  // steps finished in this attempt
  std::string error;
};

// What a handler says about one call.
struct Outcome {
  enum class Kind { kDone, kStepDone, kRetry, kFail };
  Kind kind = Kind::kDone;
  std::string step;                                   // kStepDone
  std::string error;                                  // kRetry, kFail
  std::optional<std::chrono::milliseconds> retry_in;  // kRetry: instead of the backoff

  static Outcome done() { return {}; }
  static Outcome step_done(std::string step) { return {Kind::kStepDone, std::move(step), {}, {}}; }
  static Outcome retry(std::string error, std::optional<std::chrono::milliseconds> in = std::nullopt) {
    return {Kind::kRetry, {}, std::move(error), in};
  }
  static Outcome fail(std::string error) { return {Kind::kFail, {}, std::move(error), {}}; }
};

// Runs on a worker; may block (database, Telegram). A handler that throws counts as a retry.
using Handler = std::function<Outcome(const Job& job)>;

struct RunnerOptions {
  std::string worker_id;  // empty: host:pid-namespace:pid:random
  std::chrono::milliseconds lease{60'000};
  std::chrono::milliseconds backoff_base{1'000};  // attempt n waits base * 2^(n-1), capped
  std::chrono::milliseconds backoff_cap{300'000};
  double jitter = 0.2;  // the backoff times a factor in [1 - jitter, 1 + jitter]
  int max_parallel = 8;
  std::chrono::milliseconds poll_every{250};  // background claims at least this often
  std::uint64_t seed = 0;                     // for the jitter; 0: random
};

class JobRunner {
 public:
  // `master` and `clock` must outlive the runner.
  JobRunner(storage::Database& master, const Clock& clock, RunnerOptions options = {});
  // stop()
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Jobs held by runners of this machine (same host name and pid namespace) whose process is
  // gone: their leases end now instead of after `lease` (a restarted serve resumes its
  // deployments at once). start() calls it. Success: how many.
  Result<int> reclaim_orphans();

  // The handler of one kind; register every kind before start()/run_due(). A runner claims
  // only jobs of kinds it has a handler for.
  void handle(std::string kind, Handler handler);

  // Success: the job's id (the existing job's, when the idempotency key was used before).
  // Failure: kInvalidArgument (no kind, max_attempts < 1), storage errors.
  Result<std::int64_t> enqueue(const NewJob& job);
  // kNotFound for an unknown id.
  Result<Job> get(std::int64_t id);
  Result<std::optional<Job>> find(std::string_view idempotency_key);
  Result<std::vector<Attempt>> attempts(std::int64_t id);
  // A queued job is cancelled. kConflict when it is running or finished; kNotFound.
  Result<void> cancel(std::int64_t id);

  // Claims and runs every job due now, on the calling thread, each at most once per call.
  // Success: how many attempts ran.
  Result<int> run_due();

  // Background: claims on `pool`, ticking on `timers`; both must outlive the runner.
  void start(WorkerPool& pool, TimerQueue& timers);
  // Claims soon (after an enqueue, or when a job may have become due).
  void wake();
  // No new claims; waits for the handlers running now to return. Idempotent.
  void stop();
  // As if the process died (crash tests): no new claims, and what running handlers return
  // from now on is dropped, so their jobs keep their leases until those run out. Returns at
  // once; stop() (or the destructor) waits for the handlers.
  void abandon();

  const std::string& worker_id() const { return options_.worker_id; }
  // The wait before attempt `attempt` + 1 (attempt >= 1), jitter included.
  std::chrono::milliseconds backoff_after(int attempt);

 private:
  Result<std::vector<Job>> claim(int limit, const std::vector<std::int64_t>& skip);
  void execute(Job job);
  void pump();
  void wake_locked();  // mu_ held
  void schedule_tick();
  void finished_one();
  void renew_leases();

  storage::Database& db_;
  const Clock& clock_;
  RunnerOptions options_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::map<std::string, Handler, std::less<>> handlers_;
  std::mt19937_64 rng_;
  WorkerPool* pool_ = nullptr;
  TimerQueue* timers_ = nullptr;
  std::optional<TimerQueue::Id> tick_;
  struct TickGuard {
    std::mutex mu;
    bool alive = true;
  };
  std::shared_ptr<TickGuard> tick_guard_ = std::make_shared<TickGuard>();
  bool stopping_ = false;
  std::atomic<bool> abandoned_{false};
  bool pumping_ = false;
  bool pump_again_ = false;
  int in_flight_ = 0;
  std::set<std::int64_t> running_ids_;  // claimed by this runner's pool, not finished
  std::chrono::steady_clock::time_point last_renewal_{};
};

}  // namespace ms::jobs
