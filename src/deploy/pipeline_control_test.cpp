// What owners and the lifecycle do to a deployed bot (pipeline_test_fixture.hpp): suspend
// and resume, stop, start and remove, a stop while the deployment is starting the bot, and
// no webhook for a bot another process runs.
#include "deploy/pipeline_test_fixture.hpp"

namespace ms::deploy {
namespace {

using namespace pipeline_testing;

class PipelineControlTest : public PipelineTest {};

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
