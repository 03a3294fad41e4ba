// What owners and the lifecycle do to a deployed bot (pipeline_test_fixture.hpp): suspend
// and resume, stop, start and remove, a stop while the deployment is starting the bot, and
// no webhook for a bot another process runs. A package that lapses while the bot is being
// set up (suspended mid-setup, or found lapsed by the deployment's last step) never leaves a
// running bot, and a renewal brings it up; recover() gives every instance on its way up whose
// job ended a new deployment.
#include <set>

#include "deploy/pipeline_test_fixture.hpp"

namespace ms::deploy {
namespace {

using namespace pipeline_testing;

class PipelineControlTest : public PipelineTest {
 protected:
  // The pipeline goes (before a backend the test made on its stack does).
  void drop_pipeline() {
    subscription_.reset();
    if (runner_) runner_->stop();
    pipeline_.reset();
    runner_.reset();
  }
  // The instance's state as stored (no backend asked).
  std::string stored_state(std::int64_t id) {
    auto row = storage_->master().with_session([&](Session& s) {
      return s.query_one("SELECT status FROM bot_instances WHERE id = :id", {{"id", id}});
    });
    return row && *row ? (*row)->get_string("status") : std::string("<none>");
  }
  bool job_is(std::int64_t id, std::int64_t generation, jobs::JobStatus status) {
    auto job = runner_->find("deploy:" + std::to_string(id) + ":" + std::to_string(generation));
    return job && *job && (*job)->status == status;
  }
  bool any_healthy(std::int64_t id) {
    for (const auto& p : progress_of(id))
      if (p.step == Step::kHealthy && p.status == StepStatus::kDone) return true;
    return false;
  }
};

// Every state the instance's row passes through while it lives (sampled every few ms).
class StateWatch {
 public:
  explicit StateWatch(std::function<std::string()> read)
      : thread_([this, read = std::move(read)] {
          while (!stop_.load()) {
            auto s = read();
            {
              std::lock_guard lock(mu_);
              seen_.insert(s);
            }
            std::this_thread::sleep_for(3ms);
          }
        }) {}
  ~StateWatch() { stop(); }
  std::set<std::string> stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::set<std::string> seen_;
  std::thread thread_;
};

TEST_P(PipelineControlTest, SuspendWhileTheDeploymentStartsTheBotEndsSuspendedAndResumeSetsItUp) {
  // The package lapses while the deployment is inside its `started` step (the backend is
  // bringing the bot up): suspend() waits for that step, supersedes the rest, stops what it
  // started and leaves the bot suspended; it never runs, nor answers. The renewal's resume()
  // sets it up (from the token: it never finished a deployment) and it sells.
  drop_pipeline();
  GatedDeployer gated(*inprocess_);
  build_pipeline(gated);
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  StateWatch watch([&] { return stored_state(*id); });
  gated.entered_.wait();
  EXPECT_EQ(stored_state(*id), "starting");
  auto suspending = std::async(std::launch::async, [&] { return pipeline_->suspend(*id); });
  EXPECT_EQ(suspending.wait_for(300ms), std::future_status::timeout) << "suspend() did not wait for the running step";
  gated.release_.count_down();
  auto suspended = suspending.get();
  ASSERT_TRUE(suspended) << suspended.error().to_string();
  EXPECT_EQ(stored_state(*id), "suspended");
  ASSERT_TRUE(eventually([&] { return job_is(*id, 1, jobs::JobStatus::kDead); }));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(stored_state(*id), "suspended");
  EXPECT_TRUE(inprocess_->running().empty());
  EXPECT_FALSE(runtime_->status(*id));
  EXPECT_FALSE(any_healthy(*id));
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(texts(alice_).empty()) << "a bot whose package lapsed answered";
  EXPECT_EQ(watch.stop().count("running"), 0u) << "the bot was running while its package had lapsed";
  // A second suspend (the next lifecycle tick) changes nothing.
  ASSERT_TRUE(pipeline_->suspend(*id));

  const int get_me = gateway_->calls("getMe");
  ASSERT_TRUE(pipeline_->resume(*id));
  ASSERT_TRUE(wait_state(*id, BotState::kRunning));
  EXPECT_TRUE(eventually([&] { return any_healthy(*id); }));
  EXPECT_EQ(gateway_->calls("getMe"), get_me + 1);  // set up from the token on
  const auto before = texts(alice_).size();
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  ASSERT_TRUE(eventually([&] { return texts(alice_).size() > before; }));
  EXPECT_EQ(texts(alice_).back().find("paused"), std::string::npos) << texts(alice_).back();
  drop_pipeline();
}

TEST_P(PipelineControlTest, ABotSuspendedBeforeItsTokenWasVerifiedStaysDownUntilResumed) {
  // Telegram does not answer getMe, so the deployment retries its first step with the bot
  // still `created` when the package lapses: the retries end, the bot waits suspended.
  gateway_->refuse_get_me(1000);
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(eventually([&] { return gateway_->calls("getMe") >= 1; }));
  EXPECT_EQ(stored_state(*id), "created");
  ASSERT_TRUE(pipeline_->suspend(*id));
  EXPECT_EQ(stored_state(*id), "suspended");
  gateway_->refuse_get_me(0);
  ASSERT_TRUE(eventually([&] {
    auto job = runner_->find("deploy:" + std::to_string(*id) + ":1");
    return job && *job && ((*job)->status == jobs::JobStatus::kDead || (*job)->status == jobs::JobStatus::kCancelled);
  }));
  const int get_me = gateway_->calls("getMe");
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(gateway_->calls("getMe"), get_me) << "the superseded deployment went on";
  EXPECT_EQ(stored_state(*id), "suspended");
  EXPECT_TRUE(inprocess_->running().empty());
  // A restart of the process changes nothing: recover() starts no bot that was never deployed.
  auto recovered = pipeline_->recover();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(*recovered, 0);
  EXPECT_EQ(stored_state(*id), "suspended");

  ASSERT_TRUE(pipeline_->resume(*id));
  ASSERT_TRUE(wait_state(*id, BotState::kRunning));
  EXPECT_EQ(gateway_->calls("getMe"), get_me + 1);
  EXPECT_EQ(steps_of(*id)["token_verified"].first, "done");
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
}

TEST_P(PipelineControlTest, APackageThatLapsedDuringTheDeploymentLandsSuspendedNeverRunning) {
  // Nobody called suspend(): the package lapses while the backend starts the bot, and the
  // deployment's last step, asking may_serve, lands the bot in suspended instead of running.
  std::atomic<bool> paid{true};
  may_serve_ = [&paid](std::int64_t) -> Result<bool> { return paid.load(); };
  drop_pipeline();
  GatedDeployer gated(*inprocess_);
  build_pipeline(gated);
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  StateWatch watch([&] { return stored_state(*id); });
  gated.entered_.wait();
  paid = false;
  gated.release_.count_down();
  ASSERT_TRUE(eventually([&] { return job_is(*id, 1, jobs::JobStatus::kDead); }));
  EXPECT_EQ(stored_state(*id), "suspended");
  EXPECT_EQ(steps_of(*id)["healthy"].first, "failed");
  EXPECT_FALSE(any_healthy(*id));
  EXPECT_NE(pipeline_->status(*id)->last_error.find("package lapsed"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return inprocess_->running().empty(); }));
  EXPECT_EQ(watch.stop().count("running"), 0u) << "the bot was running while its package had lapsed";
  // Unpaid, a resume (a redelivered payment notice) gets no further than suspended either.
  ASSERT_TRUE(pipeline_->resume(*id));
  ASSERT_TRUE(eventually([&] { return job_is(*id, 2, jobs::JobStatus::kDead); }));
  EXPECT_EQ(stored_state(*id), "suspended");

  paid = true;
  ASSERT_TRUE(pipeline_->resume(*id));
  ASSERT_TRUE(wait_state(*id, BotState::kRunning));
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
  EXPECT_EQ(texts(alice_).back().find("paused"), std::string::npos) << texts(alice_).back();
  drop_pipeline();
}

TEST_P(PipelineControlTest, RecoverDeploysAgainWhatAnEndedJobLeftOnItsWayUp) {
  // The process died while a deployment was restarting, starting or setting up the bot, and
  // its job ended (dead) without bringing it up: recover() queues a new deployment (a new
  // generation), so each comes back to running instead of staying stuck.
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  std::int64_t generation = 1;
  for (const char* left : {"restarting", "starting", "tenant_ready"}) {
    SCOPED_TRACE(left);
    auto wrote = storage_->master().with_session([&](Session& s) -> Result<void> {
      auto j = s.exec("UPDATE jobs SET status = 'dead', last_error = 'lost' WHERE idempotency_key = :k",
                      {{"k", "deploy:" + std::to_string(*id) + ":" + std::to_string(generation)}});
      if (!j) return fail(std::move(j.error()));
      if (*j != 1) return fail(ErrorCode::kInternal, "no job row");
      auto i = s.exec("UPDATE bot_instances SET status = :s WHERE id = :id", {{"s", std::string(left)}, {"id", *id}});
      if (!i) return fail(std::move(i.error()));
      return ok();
    });
    ASSERT_TRUE(wrote) << wrote.error().to_string();
    ASSERT_TRUE(inprocess_->stop(*id));  // the process that ran it is gone
    auto recovered = pipeline_->recover();
    ASSERT_TRUE(recovered) << recovered.error().to_string();
    ++generation;
    ASSERT_TRUE(eventually([&] { return job_is(*id, generation, jobs::JobStatus::kDone); })) << stored_state(*id);
    EXPECT_EQ(stored_state(*id), "running");
    EXPECT_TRUE(runtime_->status(*id));
  }
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
}

TEST_P(PipelineControlTest, SuspendedBotsAnswerPausedAndResumeSells) {
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  ASSERT_TRUE(pipeline_->suspend(*id));
  EXPECT_EQ(state_of(*id), BotState::kSuspended);
  ASSERT_TRUE(emulator_->wait_for_poller("vpn_shop_bot", 10s));
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(wait_text(alice_, "paused for now"));
  const std::int64_t fa_person = person("Sara", "fa");
  ASSERT_TRUE(emulator_->send_text(fa_person, "vpn_shop_bot", "سلام"));
  EXPECT_TRUE(wait_text(fa_person, "متوقف"));
  EXPECT_EQ(pipeline_->start(*id).error().code, ErrorCode::kConflict);

  ASSERT_TRUE(pipeline_->resume(*id));
  ASSERT_TRUE(wait_deployed(*id, 2));
  const auto before = texts(alice_).size();
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  ASSERT_TRUE(eventually([&] { return texts(alice_).size() > before; }));
  EXPECT_EQ(texts(alice_).back().find("paused"), std::string::npos) << texts(alice_).back();
}

TEST_P(PipelineControlTest, StopStartAndRemove) {
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  ASSERT_TRUE(pipeline_->stop(*id));
  EXPECT_EQ(state_of(*id), BotState::kStopped);
  EXPECT_TRUE(inprocess_->running().empty());
  EXPECT_FALSE(runtime_->status(*id));
  ASSERT_TRUE(pipeline_->start(*id));
  ASSERT_TRUE(wait_deployed(*id, 2));
  EXPECT_EQ(gateway_->calls("getMe"), 1);  // a start repeats no setup step

  ASSERT_TRUE(pipeline_->remove(*id));
  auto status = pipeline_->status(*id);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, BotState::kDeleted);
  EXPECT_TRUE(inprocess_->running().empty());
  EXPECT_FALSE(runtime_->status(*id));
  auto row = storage_->master().with_session([&](Session& s) {
    return s.query_one("SELECT deleted_at, purge_after FROM bot_instances WHERE id = :id", {{"id", *id}});
  });
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((**row).get_int("purge_after") - (**row).get_int("deleted_at"), 30 * 86'400);
  EXPECT_TRUE(pipeline_->list(customer_)->empty());
  // The tenant's data is kept; the token is free for a new shop.
  auto again = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(again) << again.error().to_string();
  ASSERT_TRUE(wait_state(*again, BotState::kRunning));
}

TEST_P(PipelineControlTest, StopWhileTheDeploymentStartsTheBotWaitsForTheStepThenEndsStopped) {
  // The deployment is inside its `started` step (the backend is starting the bot) when the
  // owner stops the bot: stop() waits for that step, then supersedes the rest of the
  // deployment; the bot ends stopped and stays so, nothing of it runs, and a start works.
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
  GatedDeployer gated(*inprocess_);
  build_pipeline(gated);
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  gated.entered_.wait();
  EXPECT_EQ(state_of(*id), BotState::kStarting);
  auto stopping = std::async(std::launch::async, [&] { return pipeline_->stop(*id); });
  EXPECT_EQ(stopping.wait_for(300ms), std::future_status::timeout) << "stop() did not wait for the running step";
  gated.release_.count_down();
  auto stopped = stopping.get();
  ASSERT_TRUE(stopped) << stopped.error().to_string();
  EXPECT_EQ(state_of(*id), BotState::kStopped);
  // The superseded deployment ends without bringing the bot up again.
  ASSERT_TRUE(eventually([&] {
    auto job = runner_->find("deploy:" + std::to_string(*id) + ":1");
    return job && *job && (*job)->status == jobs::JobStatus::kDead;
  }));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(state_of(*id), BotState::kStopped);
  EXPECT_TRUE(inprocess_->running().empty());
  EXPECT_FALSE(runtime_->status(*id));
  EXPECT_EQ(steps_of(*id)["healthy"].first, "");
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(texts(alice_).empty()) << "a stopped bot answered";

  // Started again, it runs (no setup step repeated).
  const int get_me = gateway_->calls("getMe");
  ASSERT_TRUE(pipeline_->start(*id));
  ASSERT_TRUE(wait_state(*id, BotState::kRunning));
  EXPECT_EQ(gateway_->calls("getMe"), get_me);
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
}

TEST_P(PipelineControlTest, AProcessBotNeverGetsAWebhookEvenWhenServeTakesWebhooks) {
  // This process takes webhooks (an HTTPS public address), but a `process` runner polls: its
  // bot is configured with deleteWebhook, started with a polling spec, and answers by polling.
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
  PollingOnlyDeployer process(*inprocess_);
  build_pipeline(process, SystemClock::instance(), /*webhook=*/true);
  auto n = new_instance(bot_.token);
  n.backend = Backend::kProcess;
  auto id = pipeline_->create(n);
  ASSERT_TRUE(id) << id.error().to_string();
  ASSERT_TRUE(wait_deployed(*id)) << domain::to_string(state_of(*id));
  EXPECT_FALSE(process.asked_for_webhook_.load());
  EXPECT_EQ(gateway_->calls("setWebhook"), 0);
  EXPECT_GE(gateway_->calls("deleteWebhook"), 1);
  auto info = emulator_->call_sync(bot_.token, "getWebhookInfo", {});
  EXPECT_EQ(info.body["result"].value("url", "?"), "") << info.body.dump();
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
}

INSTANTIATE_TEST_SUITE_P(Backends, PipelineControlTest,
                         ::testing::Values(StorageBackend::kSqlite, StorageBackend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::deploy
