#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <algorithm>
#include <array>

#include "jobs/jobs.hpp"

namespace ms::jobs {

using storage::Params;
using storage::Row;
using storage::Session;
using storage::Value;

namespace {

constexpr auto kStatusNames = std::to_array<std::pair<JobStatus, std::string_view>>({
    {JobStatus::kQueued, "queued"},
    {JobStatus::kRunning, "running"},
    {JobStatus::kDone, "done"},
    {JobStatus::kDead, "dead"},
    {JobStatus::kCancelled, "cancelled"},
});

JobStatus parse_status(std::string_view text) {
  for (const auto& [status, name] : kStatusNames) {
    if (name == text) return status;
  }
  throw std::logic_error("unknown job status in the database: " + std::string(text));
}

std::int64_t now_ms(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch()).count();
}

std::vector<std::string> parse_steps(const std::string& text) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& s : j) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

std::string steps_text(const std::vector<std::string>& steps) { return nlohmann::json(steps).dump(); }

Job job_of(const Row& r) {
  Job j;
  j.id = r.get_int("id");
  j.kind = r.get_string("kind");
  j.payload = nlohmann::json::parse(r.get_string("payload"), nullptr, false);
  if (j.payload.is_discarded()) j.payload = nlohmann::json::object();
  j.status = parse_status(r.get_string("status"));
  j.attempts = static_cast<int>(r.get_int("attempts"));
  j.max_attempts = static_cast<int>(r.get_int("max_attempts"));
  j.steps_done = parse_steps(r.get_string("steps_done"));
  j.last_error = r.opt_string("last_error").value_or("");
  j.idempotency_key = r.opt_string("idempotency_key").value_or("");
  j.run_at_ms = r.get_int("run_at_ms");
  j.locked_by = r.opt_string("locked_by");
  j.locked_until_ms = r.opt_int("locked_until_ms");
  j.created_at = r.get_int("created_at");
  j.finished_at = r.opt_int("finished_at");
  return j;
}

constexpr std::string_view kColumns =
    "id, kind, payload, status, attempts, max_attempts, steps_done, last_error, idempotency_key, run_at_ms, "
    "locked_by, locked_until_ms, created_at, finished_at";

Result<std::optional<Job>> read_job(Session& s, std::int64_t id) {
  auto row = s.query_one("SELECT " + std::string(kColumns) + " FROM jobs WHERE id = :id", {{"id", id}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return std::optional<Job>();
  return std::optional<Job>(job_of(**row));
}

// "host:pid-namespace:": the processes whose pids this process can check with kill(pid, 0).
// A container sharing the host's name (host networking) has its own pid namespace.
std::string local_prefix() {
  char host[128] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  char ns[64] = {0};
  const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
  return std::string(host) + ":" + (n > 0 ? std::string(ns, static_cast<std::size_t>(n)) : std::string("?")) + ":";
}

std::string default_worker_id() {
  std::random_device rd;
  return local_prefix() + std::to_string(::getpid()) + ":" + std::to_string(rd() % 100000);
}

}  // namespace

std::string_view to_string(JobStatus status) {
  for (const auto& [s, name] : kStatusNames) {
    if (s == status) return name;
  }
  return "unknown";
}

bool Job::step_done(std::string_view step) const {
  return std::find(steps_done.begin(), steps_done.end(), step) != steps_done.end();
}

JobRunner::JobRunner(storage::Database& master, const Clock& clock, RunnerOptions options)
    : db_(master), clock_(clock), options_(std::move(options)) {
  if (options_.worker_id.empty()) options_.worker_id = default_worker_id();
  rng_.seed(options_.seed != 0 ? options_.seed : std::random_device{}());
  options_.max_parallel = std::max(options_.max_parallel, 1);
}

JobRunner::~JobRunner() { stop(); }

void JobRunner::handle(std::string kind, Handler handler) {
  std::lock_guard lock(mu_);
  handlers_[std::move(kind)] = std::move(handler);
}

std::chrono::milliseconds JobRunner::backoff_after(int attempt) {
  const int shift = std::clamp(attempt - 1, 0, 30);
  const double base = static_cast<double>(options_.backoff_base.count()) * static_cast<double>(1LL << shift);
  const double capped = std::min(base, static_cast<double>(options_.backoff_cap.count()));
  double factor = 1.0;
  if (options_.jitter > 0) {
    std::lock_guard lock(mu_);
    std::uniform_real_distribution<double> spread(1.0 - options_.jitter, 1.0 + options_.jitter);
    factor = spread(rng_);
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(capped * factor));
}

Result<std::int64_t> JobRunner::enqueue(const NewJob& job) {
  if (job.kind.empty()) return fail(ErrorCode::kInvalidArgument, "a job needs a kind");
  if (job.max_attempts < 1) return fail(ErrorCode::kInvalidArgument, "max_attempts must be at least 1");
  const std::int64_t now = clock_.unix_seconds();
  const std::int64_t run_at = now_ms(clock_) + job.delay.count();
  auto id = db_.transaction([&](Session& s) -> Result<std::int64_t> {
    if (!job.idempotency_key.empty()) {
      auto found = s.query_one("SELECT id FROM jobs WHERE idempotency_key = :k", {{"k", job.idempotency_key}});
      if (!found) return fail(std::move(found.error()));
      if (*found) return (*found)->get_int("id");
    }
    auto row = s.query_one(
        "INSERT INTO jobs (kind, payload, status, priority, tenant_id, run_at_ms, max_attempts, steps_done, "
        "idempotency_key, created_at, updated_at) VALUES (:kind, :payload, 'queued', :prio, :tenant, :run_at, :max, "
        ":steps, :key, :now, :now) RETURNING id",
        {{"kind", job.kind},
         {"payload", job.payload.dump()},
         {"prio", std::int64_t{job.priority}},
         {"tenant", job.tenant_id ? Value{*job.tenant_id} : Value{}},
         {"run_at", run_at},
         {"max", std::int64_t{job.max_attempts}},
         {"steps", steps_text(job.steps_done)},
         {"key", job.idempotency_key.empty() ? Value{} : Value{job.idempotency_key}},
         {"now", now}});
    if (!row) return fail(std::move(row.error()));
    return (*row)->get_int("id");
  });
  if (!id && id.error().code == ErrorCode::kAlreadyExists && !job.idempotency_key.empty()) {
    // Two enqueues with the same key raced: the other one's job is the job.
    auto found = this->find(job.idempotency_key);
    if (found && *found) return (*found)->id;
  }
  if (id) wake();
  return id;
}

Result<Job> JobRunner::get(std::int64_t id) {
  auto job = db_.with_session([&](Session& s) { return read_job(s, id); });
  if (!job) return fail(std::move(job.error()));
  if (!*job) return fail(ErrorCode::kNotFound, "job " + std::to_string(id) + " does not exist");
  return std::move(**job);
}

Result<std::optional<Job>> JobRunner::find(std::string_view idempotency_key) {
  return db_.with_session([&](Session& s) -> Result<std::optional<Job>> {
    auto row = s.query_one("SELECT " + std::string(kColumns) + " FROM jobs WHERE idempotency_key = :k",
                           {{"k", std::string(idempotency_key)}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<Job>();
    return std::optional<Job>(job_of(**row));
  });
}

Result<std::vector<Attempt>> JobRunner::attempts(std::int64_t id) {
  return db_.with_session([&](Session& s) -> Result<std::vector<Attempt>> {
    auto rows = s.query(
        "SELECT attempt, worker, started_at_ms, finished_at_ms, outcome, steps, error FROM job_attempts WHERE job_id = "
        ":id ORDER BY attempt",
        {{"id", id}});
    if (!rows) return fail(std::move(rows.error()));
    std::vector<Attempt> out;
    for (const auto& r : *rows) {
      Attempt a;
      a.attempt = static_cast<int>(r.get_int("attempt"));
      a.worker = r.get_string("worker");
      a.started_at_ms = r.get_int("started_at_ms");
      a.finished_at_ms = r.opt_int("finished_at_ms");
      a.outcome = r.opt_string("outcome").value_or("");
      a.steps = parse_steps(r.get_string("steps"));
      a.error = r.opt_string("error").value_or("");
      out.push_back(std::move(a));
    }
    return out;
  });
}

Result<void> JobRunner::cancel(std::int64_t id) {
  return db_.transaction([&](Session& s) -> Result<void> {
    auto changed = s.exec(
        "UPDATE jobs SET status = 'cancelled', finished_at = :now, updated_at = :now WHERE id = :id AND status = "
        "'queued'",
        {{"id", id}, {"now", clock_.unix_seconds()}});
    if (!changed) return fail(std::move(changed.error()));
    if (*changed == 1) return ok();
    auto job = read_job(s, id);
    if (!job) return fail(std::move(job.error()));
    if (!*job) return fail(ErrorCode::kNotFound, "job " + std::to_string(id) + " does not exist");
    return fail(ErrorCode::kConflict, "job " + std::to_string(id) + " is " + std::string(to_string((*job)->status)));
  });
}

Result<std::vector<Job>> JobRunner::claim(int limit, const std::vector<std::int64_t>& skip) {
  std::vector<std::string> kinds;
  {
    std::lock_guard lock(mu_);
    for (const auto& [kind, handler] : handlers_) kinds.push_back(kind);
  }
  if (kinds.empty() || limit <= 0) return std::vector<Job>();
  const std::int64_t now = now_ms(clock_);
  Params params{{"now", now}, {"n", std::int64_t{limit + static_cast<int>(skip.size())}}};
  std::string in;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    in += (i ? ", :k" : ":k") + std::to_string(i);
    params.push_back({"k" + std::to_string(i), kinds[i]});
  }
  const std::string due =
      "((status = 'queued' AND run_at_ms <= :now) OR (status = 'running' AND locked_until_ms < :now))";
  auto candidates = db_.with_session([&](Session& s) {
    return s.query(
        "SELECT id FROM jobs WHERE kind IN (" + in + ") AND " + due + " ORDER BY priority DESC, run_at_ms, id LIMIT :n",
        params);
  });
  if (!candidates) return fail(std::move(candidates.error()));
  std::vector<Job> out;
  for (const auto& c : *candidates) {
    if (static_cast<int>(out.size()) >= limit) break;
    const std::int64_t id = c.get_int("id");
    if (std::find(skip.begin(), skip.end(), id) != skip.end()) continue;
    auto claimed = db_.transaction([&](Session& s) -> Result<std::optional<Job>> {
      const std::int64_t at = now_ms(clock_);
      auto changed = s.exec(
          "UPDATE jobs SET status = 'running', locked_by = :me, locked_until_ms = :until, attempts = "
          "attempts + 1, updated_at = :t WHERE id = :id AND " +
              due,
          {{"me", options_.worker_id},
           {"until", at + options_.lease.count()},
           {"t", clock_.unix_seconds()},
           {"id", id},
           {"now", at}});
      if (!changed) return fail(std::move(changed.error()));
      if (*changed != 1) return std::optional<Job>();  // another runner took it
      // An attempt still open belonged to a runner whose lease ran out.
      auto lost = s.exec(
          "UPDATE job_attempts SET outcome = 'lost', finished_at_ms = :at, error = 'the runner lost its lease' WHERE "
          "job_id = :id AND outcome IS NULL",
          {{"id", id}, {"at", at}});
      if (!lost) return fail(std::move(lost.error()));
      auto job = read_job(s, id);
      if (!job) return fail(std::move(job.error()));
      auto attempt =
          s.exec("INSERT INTO job_attempts (job_id, attempt, worker, started_at_ms) VALUES (:id, :n, :me, :at)",
                 {{"id", id}, {"n", std::int64_t{(*job)->attempts}}, {"me", options_.worker_id}, {"at", at}});
      if (!attempt) return fail(std::move(attempt.error()));
      return job;
    });
    if (!claimed) {
      spdlog::warn("jobs: claiming job {}: {}", id, claimed.error().to_string());
      continue;
    }
    if (*claimed) out.push_back(std::move(**claimed));
  }
  return out;
}

void JobRunner::execute(Job job) {
  Handler handler;
  {
    std::lock_guard lock(mu_);
    auto it = handlers_.find(job.kind);
    if (it != handlers_.end()) handler = it->second;
  }
  const Params mine{{"id", job.id}, {"me", options_.worker_id}};
  auto with = [&mine](Params extra) {
    Params p = mine;
    for (auto& e : extra) p.push_back(std::move(e));
    return p;
  };
  std::vector<std::string> steps_now;
  auto finish_attempt = [&](Session& s, std::string_view outcome, const std::string& error) -> Result<void> {
    auto r = s.exec(
        "UPDATE job_attempts SET outcome = :o, finished_at_ms = :at, steps = :steps, error = :err WHERE job_id = :id "
        "AND attempt = :n",
        {{"o", std::string(outcome)},
         {"at", now_ms(clock_)},
         {"steps", steps_text(steps_now)},
         {"err", error.empty() ? Value{} : Value{error}},
         {"id", job.id},
         {"n", std::int64_t{job.attempts}}});
    if (!r) return fail(std::move(r.error()));
    return ok();
  };

  // The attempt ran out of attempts already (its previous runner died on the last one).
  if (job.attempts > job.max_attempts) handler = nullptr;
  while (true) {
    Outcome outcome;
    if (!handler) {
      outcome = Outcome::fail(job.attempts > job.max_attempts
                                  ? "no attempts left (the last runner lost its lease): " + job.last_error
                                  : "no handler for job kind " + job.kind);
    } else {
      try {
        outcome = handler(job);
      } catch (const std::exception& e) {
        outcome = Outcome::retry(std::string("the handler threw: ") + e.what());
      }
    }
    if (abandoned_) return;  // the "crash": nothing of this attempt is written
    const std::int64_t now = clock_.unix_seconds();
    Result<std::int64_t> written = 0;
    if (outcome.kind == Outcome::Kind::kStepDone) {
      if (!job.step_done(outcome.step)) job.steps_done.push_back(outcome.step);
      steps_now.push_back(outcome.step);
      written = db_.transaction([&](Session& s) -> Result<std::int64_t> {
        auto r = s.exec(
            "UPDATE jobs SET steps_done = :steps, locked_until_ms = :until, updated_at = :t WHERE id = :id AND "
            "locked_by = :me AND status = 'running'",
            with({{"steps", steps_text(job.steps_done)},
                  {"until", now_ms(clock_) + options_.lease.count()},
                  {"t", now}}));
        if (!r || *r != 1) return r;
        if (auto a = s.exec("UPDATE job_attempts SET steps = :steps WHERE job_id = :id AND attempt = :n",
                            {{"steps", steps_text(steps_now)}, {"id", job.id}, {"n", std::int64_t{job.attempts}}});
            !a)
          return fail(std::move(a.error()));
        return r;
      });
      if (written && *written == 1) continue;
    } else if (outcome.kind == Outcome::Kind::kDone) {
      written = db_.transaction([&](Session& s) -> Result<std::int64_t> {
        auto r = s.exec(
            "UPDATE jobs SET status = 'done', locked_by = NULL, locked_until_ms = NULL, last_error = NULL, finished_at "
            "= :t, updated_at = :t WHERE id = :id AND locked_by = :me AND status = 'running'",
            with({{"t", now}}));
        if (!r || *r != 1) return r;
        if (auto a = finish_attempt(s, "done", ""); !a) return fail(std::move(a.error()));
        return r;
      });
    } else {
      const bool dead = outcome.kind == Outcome::Kind::kFail || job.attempts >= job.max_attempts;
      const auto wait = outcome.retry_in ? *outcome.retry_in : backoff_after(job.attempts);
      written = db_.transaction([&](Session& s) -> Result<std::int64_t> {
        auto r = dead ? s.exec(
                            "UPDATE jobs SET status = 'dead', locked_by = NULL, locked_until_ms = NULL, last_error = "
                            ":err, finished_at = :t, updated_at = :t WHERE id = :id AND locked_by = :me AND status = "
                            "'running'",
                            with({{"err", outcome.error}, {"t", now}}))
                      : s.exec(
                            "UPDATE jobs SET status = 'queued', locked_by = NULL, locked_until_ms = NULL, last_error = "
                            ":err, run_at_ms = :run_at, updated_at = :t WHERE id = :id AND locked_by = :me AND status "
                            "= 'running'",
                            with({{"err", outcome.error}, {"run_at", now_ms(clock_) + wait.count()}, {"t", now}}));
        if (!r || *r != 1) return r;
        if (auto a = finish_attempt(s, dead ? "dead" : "retry", outcome.error); !a) return fail(std::move(a.error()));
        return r;
      });
      if (written && *written == 1) {
        if (dead) {
          spdlog::error("job {} ({}) is dead after {} attempt(s): {}", job.id, job.kind, job.attempts, outcome.error);
        } else {
          spdlog::warn("job {} ({}) attempt {} failed, again in {} ms: {}", job.id, job.kind, job.attempts,
                       wait.count(), outcome.error);
        }
      }
    }
    if (!written) {
      // The database failed under us: the lease runs out and the job is claimed again.
      spdlog::error("job {} ({}): recording the outcome failed: {}", job.id, job.kind, written.error().to_string());
    } else if (*written != 1) {
      spdlog::warn("job {} ({}): lease lost; another runner has it now", job.id, job.kind);
    }
    return;
  }
}

Result<int> JobRunner::run_due() {
  int ran = 0;
  std::vector<std::int64_t> seen;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return ran;
    }
    auto jobs = claim(options_.max_parallel, seen);
    if (!jobs) return fail(std::move(jobs.error()));
    if (jobs->empty()) return ran;
    for (auto& job : *jobs) {
      seen.push_back(job.id);
      {
        std::lock_guard lock(mu_);
        ++in_flight_;
      }
      execute(std::move(job));
      {
        std::lock_guard lock(mu_);
        --in_flight_;
        idle_.notify_all();
      }
      ++ran;
    }
  }
}

Result<int> JobRunner::reclaim_orphans() {
  const std::string prefix = local_prefix();
  auto rows = db_.with_session([](Session& s) {
    return s.query("SELECT id, locked_by FROM jobs WHERE status = 'running' AND locked_by IS NOT NULL");
  });
  if (!rows) return fail(std::move(rows.error()));
  int reclaimed = 0;
  for (const auto& r : *rows) {
    const std::string by = r.get_string("locked_by");
    if (by.rfind(prefix, 0) != 0) continue;  // another machine's (or an older id): its lease decides
    const pid_t pid = static_cast<pid_t>(std::atoll(by.c_str() + prefix.size()));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to tell
    // Its lease counts as run out: the next claim takes the job and marks the attempt lost.
    auto ended = db_.with_session([&](Session& s) {
      return s.exec("UPDATE jobs SET locked_until_ms = :past WHERE id = :id AND locked_by = :by AND status = 'running'",
                    {{"past", now_ms(clock_) - 1}, {"id", r.get_int("id")}, {"by", by}});
    });
    if (!ended) return fail(std::move(ended.error()));
    reclaimed += static_cast<int>(*ended);
  }
  return reclaimed;
}

void JobRunner::start(WorkerPool& pool, TimerQueue& timers) {
  if (auto r = reclaim_orphans(); !r) {
    spdlog::warn("jobs: taking back the jobs of runners that died here: {}", r.error().to_string());
  } else if (*r > 0) {
    spdlog::info("jobs: {} job(s) of a runner that died on this machine taken back", *r);
  }
  {
    std::lock_guard lock(mu_);
    pool_ = &pool;
    timers_ = &timers;
  }
  wake();
}

void JobRunner::schedule_tick() {
  // mu_ held by the caller.
  if (!timers_ || stopping_) return;
  if (tick_) timers_->cancel(*tick_);
  // The guard keeps a tick that fires while stop() runs from touching a runner that is gone.
  tick_ = timers_->schedule(options_.poll_every, [this, guard = tick_guard_] {
    std::lock_guard alive(guard->mu);
    if (!guard->alive) return;
    {
      std::lock_guard lock(mu_);
      tick_.reset();
    }
    wake();
  });
}

void JobRunner::wake() {
  std::lock_guard lock(mu_);
  wake_locked();
}

void JobRunner::wake_locked() {
  if (!pool_ || stopping_) return;
  if (pumping_) {
    pump_again_ = true;
    return;
  }
  pumping_ = true;
  if (!pool_->post([this] { pump(); })) {
    pumping_ = false;
    schedule_tick();
  }
}

void JobRunner::renew_leases() {
  std::vector<std::int64_t> ids;
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (running_ids_.empty() || now - last_renewal_ < options_.lease / 3) return;
    last_renewal_ = now;
    ids.assign(running_ids_.begin(), running_ids_.end());
  }
  for (auto id : ids) {
    auto r = db_.with_session([&](Session& s) {
      return s.exec(
          "UPDATE jobs SET locked_until_ms = :until WHERE id = :id AND locked_by = :me AND status = 'running'",
          {{"until", now_ms(clock_) + options_.lease.count()}, {"id", id}, {"me", options_.worker_id}});
    });
    if (!r) spdlog::warn("jobs: renewing the lease of job {}: {}", id, r.error().to_string());
  }
}

void JobRunner::pump() {
  while (true) {
    int room = 0;
    std::vector<std::int64_t> mine;
    {
      std::lock_guard lock(mu_);
      pump_again_ = false;
      if (stopping_) break;
      room = options_.max_parallel - in_flight_;
      mine.assign(running_ids_.begin(), running_ids_.end());
    }
    // Long steps (a health check) keep their jobs: the lease is renewed while they run.
    renew_leases();
    auto jobs = claim(room, mine);
    if (!jobs) spdlog::warn("jobs: claiming: {}", jobs.error().to_string());
    if (jobs) {
      for (auto& job : *jobs) {
        std::lock_guard lock(mu_);
        ++in_flight_;
        const std::int64_t id = job.id;
        running_ids_.insert(id);
        auto posted = pool_->post([this, id, job = std::move(job)]() mutable {
          execute(std::move(job));
          {
            std::lock_guard done(mu_);
            running_ids_.erase(id);
          }
          finished_one();
        });
        if (!posted) {  // the lease runs out and the job is claimed again
          --in_flight_;
          running_ids_.erase(id);
        }
      }
    }
    std::lock_guard lock(mu_);
    if (!pump_again_ || stopping_) break;
  }
  std::lock_guard lock(mu_);
  pumping_ = false;
  schedule_tick();
  idle_.notify_all();
}

void JobRunner::finished_one() {
  // All under the lock: once in_flight_ drops, stop() may return and the runner go.
  std::lock_guard lock(mu_);
  --in_flight_;
  wake_locked();  // a job finished: room for another, and its follow-ups may be due
  idle_.notify_all();
}

void JobRunner::stop() {
  {
    std::lock_guard alive(tick_guard_->mu);
    tick_guard_->alive = false;
  }
  std::unique_lock lock(mu_);
  stopping_ = true;
  if (tick_ && timers_) {
    timers_->cancel(*tick_);
    tick_.reset();
  }
  idle_.wait(lock, [this] { return in_flight_ == 0 && !pumping_; });
}

void JobRunner::abandon() {
  abandoned_ = true;
  std::lock_guard lock(mu_);
  stopping_ = true;
}

}  // namespace ms::jobs
