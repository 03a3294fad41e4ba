// The durable job queue on SQLite and PostgreSQL, time moved by hand (ManualClock), jobs run
// by explicit run_due() calls: idempotent enqueue, leases that run out, backoff, dead jobs,
// multi-step jobs that resume at the first step not done.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>

#include "jobs/jobs.hpp"
#include "storage/storage_test_support.hpp"

namespace ms::jobs {
namespace {

using namespace std::chrono_literals;
using storage::Backend;

NewJob nj(std::string kind, std::string key = "", int max_attempts = 8, std::chrono::milliseconds delay = 0s,
          nlohmann::json payload = nlohmann::json::object()) {
  NewJob j;
  j.kind = std::move(kind);
  j.idempotency_key = std::move(key);
  j.max_attempts = max_attempts;
  j.delay = delay;
  j.payload = std::move(payload);
  return j;
}

class JobsTest : public storage::testing::StorageTest {
 protected:
  RunnerOptions options(std::string worker) {
    RunnerOptions o;
    o.worker_id = std::move(worker);
    o.lease = 30s;
    o.backoff_base = 1s;
    o.backoff_cap = 60s;
    o.jitter = 0.2;
    o.seed = 7;
    return o;
  }
  JobRunner make(std::string worker) { return JobRunner(storage_->master(), clock_, options(std::move(worker))); }
  ManualClock clock_{1'800'000'000};
};

TEST_P(JobsTest, EnqueueWithTheSameKeyReturnsTheSameJob) {
  JobRunner runner(storage_->master(), clock_, options("a"));
  auto first = runner.enqueue(nj("mail", "mail:1", 8, 0s, nlohmann::json{{"to", 1}}));
  ASSERT_TRUE(first) << first.error().to_string();
  auto second = runner.enqueue(nj("mail", "mail:1", 8, 0s, nlohmann::json{{"to", 2}}));
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  auto job = runner.get(*first);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->payload["to"], 1);  // the first one's payload: nothing was replaced
  auto other = runner.enqueue(nj("mail", "mail:2"));
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *first);
  EXPECT_FALSE(runner.enqueue(nj("")));
}

TEST_P(JobsTest, RunsDueJobsOnceAndRecordsTheAttempt) {
  JobRunner runner(storage_->master(), clock_, options("a"));
  int calls = 0;
  runner.handle("mail", [&](const Job& job) {
    ++calls;
    EXPECT_EQ(job.attempts, 1);
    EXPECT_EQ(job.locked_by, "a");
    return Outcome::done();
  });
  auto later = runner.enqueue(nj("mail", "", 8, 5s));
  auto now = runner.enqueue(nj("mail"));
  ASSERT_TRUE(later && now);
  auto ran = runner.run_due();
  ASSERT_TRUE(ran) << ran.error().to_string();
  EXPECT_EQ(*ran, 1);
  EXPECT_EQ(runner.get(*now)->status, JobStatus::kDone);
  EXPECT_EQ(runner.get(*later)->status, JobStatus::kQueued);
  EXPECT_EQ(*runner.run_due(), 0);
  clock_.advance(5s);
  EXPECT_EQ(*runner.run_due(), 1);
  EXPECT_EQ(calls, 2);
  auto attempts = runner.attempts(*now);
  ASSERT_TRUE(attempts);
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].outcome, "done");
  EXPECT_EQ((*attempts)[0].worker, "a");
  // Kinds without a handler here are left for a runner that has one.
  ASSERT_TRUE(runner.enqueue(nj("unknown")));
  EXPECT_EQ(*runner.run_due(), 0);
}

TEST_P(JobsTest, RetriesWithExponentialBackoffThenDies) {
  JobRunner runner(storage_->master(), clock_, options("a"));
  int calls = 0;
  runner.handle("flaky", [&](const Job&) {
    ++calls;
    return Outcome::retry("panel down");
  });
  auto id = runner.enqueue(nj("flaky", "", 4));
  ASSERT_TRUE(id);
  std::int64_t last_run_at = 0;
  for (int attempt = 1; attempt <= 4; ++attempt) {
    ASSERT_EQ(*runner.run_due(), 1) << "attempt " << attempt;
    auto job = runner.get(*id);
    ASSERT_TRUE(job);
    EXPECT_EQ(job->attempts, attempt);
    EXPECT_EQ(job->last_error, "panel down");
    if (attempt == 4) {
      EXPECT_EQ(job->status, JobStatus::kDead);
      break;
    }
    EXPECT_EQ(job->status, JobStatus::kQueued);
    // base 1 s doubling: 1, 2, 4 s, each within +-20% jitter.
    const std::int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch()).count();
    const std::int64_t wait = job->run_at_ms - now_ms;
    const std::int64_t nominal = 1000LL << (attempt - 1);
    EXPECT_GE(wait, nominal * 8 / 10) << "attempt " << attempt;
    EXPECT_LE(wait, nominal * 12 / 10) << "attempt " << attempt;
    EXPECT_GT(job->run_at_ms, last_run_at);
    last_run_at = job->run_at_ms;
    // Not before it is due.
    clock_.advance(std::chrono::milliseconds(wait - 1));
    EXPECT_EQ(*runner.run_due(), 0);
    clock_.advance(1ms);
  }
  EXPECT_EQ(calls, 4);
  clock_.advance(1h);
  EXPECT_EQ(*runner.run_due(), 0);  // dead is final
  auto attempts = runner.attempts(*id);
  ASSERT_EQ(attempts->size(), 4u);
  EXPECT_EQ((*attempts)[0].outcome, "retry");
  EXPECT_EQ((*attempts)[3].outcome, "dead");
}

TEST_P(JobsTest, FailIsDeadAtOnceAndAThrowingHandlerIsRetried) {
  JobRunner runner(storage_->master(), clock_, options("a"));
  runner.handle("bad", [](const Job&) { return Outcome::fail("token revoked"); });
  runner.handle("throws", [](const Job&) -> Outcome { throw std::runtime_error("boom"); });
  auto bad = runner.enqueue(nj("bad"));
  auto throws = runner.enqueue(nj("throws"));
  ASSERT_EQ(*runner.run_due(), 2);
  EXPECT_EQ(runner.get(*bad)->status, JobStatus::kDead);
  EXPECT_EQ(runner.get(*bad)->last_error, "token revoked");
  EXPECT_EQ(runner.get(*throws)->status, JobStatus::kQueued);
  EXPECT_NE(runner.get(*throws)->last_error.find("boom"), std::string::npos);
}

TEST_P(JobsTest, ALeaseThatRunsOutIsTakenOverAndTheDeadRunnersWritesAreRefused) {
  // Runner a claims the job and "dies" inside the handler (abandon: nothing is written).
  JobRunner a(storage_->master(), clock_, options("a"));
  std::latch entered(1);
  std::latch release(1);
  a.handle("long", [&](const Job&) {
    entered.count_down();
    release.wait();
    return Outcome::done();
  });
  auto id = a.enqueue(nj("long", "", 3));
  ASSERT_TRUE(id);
  std::thread t([&] { (void)a.run_due(); });
  entered.wait();
  auto held = a.get(*id);
  EXPECT_EQ(held->status, JobStatus::kRunning);
  EXPECT_EQ(held->locked_by, "a");

  JobRunner b(storage_->master(), clock_, options("b"));
  int b_calls = 0;
  b.handle("long", [&](const Job& job) {
    ++b_calls;
    EXPECT_EQ(job.attempts, 2);
    return Outcome::done();
  });
  EXPECT_EQ(*b.run_due(), 0);  // a's lease holds
  clock_.advance(31s);
  a.abandon();
  EXPECT_EQ(*b.run_due(), 1);  // a's lease ran out: b takes over
  release.count_down();
  t.join();
  auto job = b.get(*id);
  EXPECT_EQ(job->status, JobStatus::kDone);
  EXPECT_EQ(b_calls, 1);
  auto attempts = b.attempts(*id);
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].worker, "a");
  EXPECT_EQ((*attempts)[0].outcome, "lost");
  EXPECT_EQ((*attempts)[1].worker, "b");
  EXPECT_EQ((*attempts)[1].outcome, "done");
}

TEST_P(JobsTest, JobsOfARunnerThatDiedOnThisMachineAreTakenBackAtOnce) {
  // A runner with the default id (host, pid namespace, pid) of this machine; the job's
  // holder is then named as a process that exited, and as one that lives (this one's parent).
  RunnerOptions o = options("");
  JobRunner me(storage_->master(), clock_, o);
  const std::string id_of_me = me.worker_id();
  const auto pid_at = id_of_me.rfind(':', id_of_me.rfind(':') - 1) + 1;
  const std::string prefix = id_of_me.substr(0, pid_at);
  ASSERT_EQ(id_of_me.substr(pid_at, std::to_string(::getpid()).size()), std::to_string(::getpid()));
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // gone: its pid names nobody now

  auto hold = [&](const std::string& key, const std::string& by) {
    auto id = me.enqueue(nj("work", key));
    EXPECT_TRUE(id);
    auto held = storage_->master().with_session([&](storage::Session& s) {
      return s.exec(
          "UPDATE jobs SET status = 'running', locked_by = :by, locked_until_ms = :until, attempts = 1 WHERE id = :id",
          {{"by", by}, {"until", std::int64_t{1'800'000'000'000 + 60'000}}, {"id", *id}});
    });
    EXPECT_TRUE(held);
    return *id;
  };
  const auto dead = hold("dead", prefix + std::to_string(child) + ":1");
  const auto alive = hold("alive", prefix + std::to_string(::getppid()) + ":2");
  const auto elsewhere = hold("elsewhere", "other-host:pid:[1]:" + std::to_string(child) + ":3");
  auto reclaimed = me.reclaim_orphans();
  ASSERT_TRUE(reclaimed) << reclaimed.error().to_string();
  EXPECT_EQ(*reclaimed, 1);
  int ran = 0;
  me.handle("work", [&](const Job& job) {
    EXPECT_EQ(job.id, dead);
    ++ran;
    return Outcome::done();
  });
  EXPECT_EQ(*me.run_due(), 1);  // no lease to wait out
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(me.get(dead)->status, JobStatus::kDone);
  EXPECT_EQ(me.get(alive)->status, JobStatus::kRunning);
  EXPECT_EQ(me.get(elsewhere)->status, JobStatus::kRunning);
}

TEST_P(JobsTest, ALateRunnerCannotOverwriteTheOneThatTookOver) {
  JobRunner a(storage_->master(), clock_, options("a"));
  std::latch entered(1);
  std::latch release(1);
  a.handle("long", [&](const Job&) {
    entered.count_down();
    release.wait();
    return Outcome::fail("a's late verdict");
  });
  auto id = a.enqueue(nj("long"));
  std::thread t([&] { (void)a.run_due(); });
  entered.wait();
  clock_.advance(31s);
  JobRunner b(storage_->master(), clock_, options("b"));
  b.handle("long", [&](const Job&) { return Outcome::done(); });
  EXPECT_EQ(*b.run_due(), 1);
  release.count_down();  // a wakes up and reports: its writes need its lease, which it lost
  t.join();
  EXPECT_EQ(b.get(*id)->status, JobStatus::kDone);
  EXPECT_EQ(b.get(*id)->last_error, "");
}

TEST_P(JobsTest, AMultiStepJobResumesAtTheFirstStepNotDone) {
  const std::vector<std::string> steps = {"verify", "prepare", "configure", "start"};
  std::map<std::string, int> runs;
  bool configure_fails = true;
  auto handler = [&](const Job& job) -> Outcome {
    for (const auto& step : steps) {
      if (job.step_done(step)) continue;
      ++runs[step];
      if (step == "configure" && configure_fails) return Outcome::retry("Telegram unreachable");
      return Outcome::step_done(step);
    }
    return Outcome::done();
  };
  JobRunner runner(storage_->master(), clock_, options("a"));
  runner.handle("deploy", handler);
  auto id = runner.enqueue(nj("deploy", "deploy:1"));
  ASSERT_EQ(*runner.run_due(), 1);
  auto job = runner.get(*id);
  EXPECT_EQ(job->status, JobStatus::kQueued);
  EXPECT_EQ(job->steps_done, (std::vector<std::string>{"verify", "prepare"}));
  configure_fails = false;
  clock_.advance(2s);
  ASSERT_EQ(*runner.run_due(), 1);
  job = runner.get(*id);
  EXPECT_EQ(job->status, JobStatus::kDone);
  EXPECT_EQ(job->steps_done, steps);
  EXPECT_EQ(runs["verify"], 1);
  EXPECT_EQ(runs["prepare"], 1);
  EXPECT_EQ(runs["configure"], 2);
  EXPECT_EQ(runs["start"], 1);
  auto attempts = runner.attempts(*id);
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].steps, (std::vector<std::string>{"verify", "prepare"}));
  EXPECT_EQ((*attempts)[1].steps, (std::vector<std::string>{"configure", "start"}));

  // A runner that dies after a step: the next one starts after the recorded steps.
  runs.clear();
  JobRunner dying(storage_->master(), clock_, options("dying"));
  std::latch in_start(1);
  std::latch release(1);
  dying.handle("deploy", [&](const Job& job) -> Outcome {
    if (job.step_done("prepare")) {
      in_start.count_down();
      release.wait();
    }
    return handler(job);
  });
  auto second = dying.enqueue(nj("deploy", "deploy:2"));
  std::thread t([&] { (void)dying.run_due(); });
  in_start.wait();
  dying.abandon();
  release.count_down();
  t.join();
  EXPECT_EQ(runner.get(*second)->steps_done, (std::vector<std::string>{"verify", "prepare"}));
  clock_.advance(31s);
  ASSERT_EQ(*runner.run_due(), 1);
  EXPECT_EQ(runner.get(*second)->status, JobStatus::kDone);
  EXPECT_EQ(runs["verify"], 1);  // not again after the crash
  EXPECT_EQ(runs["prepare"], 1);
  EXPECT_EQ(runs["configure"], 2);  // once by the dying runner (dropped), once after
}

TEST_P(JobsTest, CancelOnlyQueuedJobs) {
  JobRunner runner(storage_->master(), clock_, options("a"));
  runner.handle("x", [](const Job&) { return Outcome::done(); });
  auto queued = runner.enqueue(nj("x", "", 8, 10s));
  auto done = runner.enqueue(nj("x"));
  ASSERT_EQ(*runner.run_due(), 1);
  EXPECT_TRUE(runner.cancel(*queued));
  EXPECT_EQ(runner.get(*queued)->status, JobStatus::kCancelled);
  EXPECT_EQ(runner.cancel(*done).error().code, ErrorCode::kConflict);
  EXPECT_EQ(runner.cancel(9999).error().code, ErrorCode::kNotFound);
  clock_.advance(1min);
  EXPECT_EQ(*runner.run_due(), 0);
}

TEST_P(JobsTest, BackgroundRunnerRunsJobsInParallelOnThePool) {
  // Real time here (the pool and timer queue), but no sleeping: the test waits on a latch.
  SystemClock& clock = SystemClock::instance();
  RunnerOptions o = options("bg");
  o.max_parallel = 3;
  o.poll_every = 20ms;
  JobRunner runner(storage_->master(), clock, o);
  std::latch all_three(3);
  std::atomic<int> done{0};
  runner.handle("p", [&](const Job&) {
    all_three.count_down();
    all_three.wait();  // only returns when three handlers run at once
    ++done;
    return Outcome::done();
  });
  WorkerPool pool(4, 100);
  TimerQueue timers;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(runner.enqueue(nj("p")));
  runner.start(pool, timers);
  all_three.wait();
  runner.stop();
  EXPECT_EQ(done.load(), 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, JobsTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::jobs
