// The deployment pipeline end to end (pipeline_test_fixture.hpp): a deployment reaching
// running, retries with backoff, a crash resumed at the right step, a new token, recovery
// after a restart and a rolling move to a template version.
#include "deploy/pipeline_test_fixture.hpp"

namespace ms::deploy {
namespace {

using namespace pipeline_testing;

TEST_P(PipelineTest, ADeploymentReachesRunningAndTheShopAnswersStart) {
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id) << id.error().to_string();
  ASSERT_TRUE(wait_deployed(*id)) << domain::to_string(state_of(*id));

  // Every step published started then done, in order; the last carries the deploy time.
  auto events = progress_of(*id);
  std::vector<std::string> seen;
  for (const auto& p : events) seen.push_back(std::string(to_string(p.step)) + ":" + std::string(to_string(p.status)));
  EXPECT_EQ(seen, (std::vector<std::string>{"token_verified:started", "token_verified:done", "tenant_ready:started",
                                            "tenant_ready:done", "configured:started", "configured:done",
                                            "started:started", "started:done", "healthy:started", "healthy:done"}));
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().deploy_ms);
  auto status = pipeline_->status(*id);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->bot_username, "vpn_shop_bot");
  EXPECT_EQ(status->deploy_ms, events.back().deploy_ms);
  EXPECT_EQ(status->template_version, kShopTemplateVersion);
  EXPECT_TRUE(status->heartbeat_at && status->started_at);
  for (const auto& [step, row] : steps_of(*id)) {
    EXPECT_EQ(row.first, "done") << step;
    EXPECT_EQ(row.second, 1) << step;
  }
  EXPECT_EQ(steps_of(*id).size(), 5u);

  // Telegram holds the profile the configured step set, in Persian and English.
  auto profile = emulator_->bot_profile("vpn_shop_bot");
  ASSERT_TRUE(profile);
  EXPECT_NE(profile->dump().find("شروع و منوی اصلی"), std::string::npos) << profile->dump();
  EXPECT_NE(profile->dump().find("فروشگاه سرویس VPN"), std::string::npos) << profile->dump();
  sandbox::Params en;
  en.add("language_code", "en");
  EXPECT_NE(emulator_->call_sync(bot_.token, "getMyCommands", en).body.dump().find("Start and main menu"),
            std::string::npos);
  EXPECT_NE(emulator_->call_sync(bot_.token, "getMyDescription", en).body.dump().find("A VPN service shop"),
            std::string::npos);

  // The tenant: the owner is the shop's owner-admin, the helper an admin.
  auto tenant = storage_->master().with_session([&](Session& s) {
    return s.query_one("SELECT tenant_id FROM customers WHERE id = :c", {{"c", customer_}});
  });
  ASSERT_TRUE(tenant && *tenant);
  auto db = storage_->tenant((**tenant).get_int("tenant_id"));
  ASSERT_TRUE(db);
  auto settings = shop::load_settings(**db);
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->role_of(owner_), shop::AdminRole::kOwner);
  EXPECT_EQ(settings->role_of(helper_), shop::AdminRole::kAdmin);

  // The shop answers.
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));

  // The deploy time is exported.
  EXPECT_NE(metrics::serialize_text().find("mothership_deploy_seconds_count{backend=\"inprocess\"}"),
            std::string::npos);

  // The same token again, and the package's limit (Starter: its shop bots).
  EXPECT_EQ(pipeline_->create(new_instance(bot_.token)).error().code, ErrorCode::kAlreadyExists);
  auto other = emulator_->create_bot("second_shop_bot", "Second");
  ASSERT_TRUE(other);
  auto starter = storage_->master().with_session(
      [](Session& s) { return s.query_one("SELECT max_bots FROM packages WHERE code = 'starter'"); });
  ASSERT_TRUE(starter && *starter);
  if ((**starter).opt_int("max_bots") == 1) {
    auto refused = pipeline_->create(new_instance(other->token));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  }
  NewInstance no_package = new_instance(other->token);
  no_package.customer_id = add_customer(person("Nobody", "en"), "");
  EXPECT_EQ(pipeline_->create(no_package).error().code, ErrorCode::kPermissionDenied);
  NewInstance bad = new_instance("not-a-token");
  EXPECT_EQ(pipeline_->create(bad).error().code, ErrorCode::kInvalidArgument);
  auto list = pipeline_->list(customer_);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].instance_id, *id);
}

TEST_P(PipelineTest, AFailingStepRetriesWithBackoff) {
  gateway_->refuse_get_me(2);
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  EXPECT_EQ(gateway_->calls("getMe"), 3);
  std::vector<std::pair<std::string, int>> token_steps;
  for (const auto& p : progress_of(*id)) {
    if (p.step == Step::kTokenVerified) token_steps.emplace_back(std::string(to_string(p.status)), p.attempt);
  }
  EXPECT_EQ(token_steps,
            (std::vector<std::pair<std::string, int>>{
                {"started", 1}, {"retrying", 1}, {"started", 2}, {"retrying", 2}, {"started", 3}, {"done", 3}}));
  EXPECT_EQ(steps_of(*id)["token_verified"], (std::pair<std::string, std::int64_t>{"done", 3}));
  EXPECT_EQ(steps_of(*id)["configured"], (std::pair<std::string, std::int64_t>{"done", 1}));
  // The job's attempts waited out the backoff: 100 ms, then 200 ms (+-20%).
  auto job = runner_->find("deploy:" + std::to_string(*id) + ":1");
  ASSERT_TRUE(job && *job);
  auto attempts = runner_->attempts((*job)->id);
  ASSERT_TRUE(attempts);
  ASSERT_EQ(attempts->size(), 3u);
  EXPECT_EQ((*attempts)[0].outcome, "retry");
  EXPECT_EQ((*attempts)[1].outcome, "retry");
  EXPECT_EQ((*attempts)[2].outcome, "done");
  EXPECT_GE((*attempts)[1].started_at_ms - *(*attempts)[0].finished_at_ms, 80);
  EXPECT_GE((*attempts)[2].started_at_ms - *(*attempts)[1].finished_at_ms, 160);
  EXPECT_NE((*attempts)[0].error.find("Bad Gateway"), std::string::npos) << (*attempts)[0].error;
  EXPECT_EQ((*job)->steps_done.size(), 5u);
}

TEST_P(PipelineTest, ACrashedPipelineResumesAtTheRightStep) {
  // The pipeline "dies" while its backend starts the bot: the new one, built on the same
  // database once the lease ran out, resumes at `started` and repeats nothing before it.
  ManualClock jobs_clock(SystemClock::instance().unix_seconds());
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
  GatedDeployer gated(*inprocess_);
  build_pipeline(gated, jobs_clock);
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  gated.entered_.wait();
  EXPECT_EQ(state_of(*id), BotState::kStarting);
  const int get_me = gateway_->calls("getMe");
  const int commands = gateway_->calls("setMyCommands");
  EXPECT_EQ(get_me, 1);
  runner_->abandon();  // the crash: nothing this runner does from now on is written
  gated.release_.count_down();
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();

  jobs_clock.advance(3s);  // the dead runner's lease runs out
  build_pipeline(*inprocess_, jobs_clock);
  ASSERT_TRUE(wait_deployed(*id));
  EXPECT_EQ(gateway_->calls("getMe"), get_me);
  EXPECT_EQ(gateway_->calls("setMyCommands"), commands);
  auto steps = steps_of(*id);
  EXPECT_EQ(steps["token_verified"], (std::pair<std::string, std::int64_t>{"done", 1}));
  EXPECT_EQ(steps["tenant_ready"], (std::pair<std::string, std::int64_t>{"done", 1}));
  EXPECT_EQ(steps["configured"], (std::pair<std::string, std::int64_t>{"done", 1}));
  EXPECT_EQ(steps["started"], (std::pair<std::string, std::int64_t>{"done", 2}));
  EXPECT_EQ(steps["healthy"], (std::pair<std::string, std::int64_t>{"done", 1}));
  auto job = runner_->find("deploy:" + std::to_string(*id) + ":1");
  ASSERT_TRUE(job && *job);
  auto attempts = runner_->attempts((*job)->id);
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].outcome, "lost");
  EXPECT_EQ((*attempts)[1].outcome, "done");
  EXPECT_EQ((*attempts)[1].steps, (std::vector<std::string>{"started", "healthy"}));
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
  // The runner reads jobs_clock, which ends with this body: stop it here, not in TearDown.
  // (A runner poll between the two called now() on the destroyed clock: "pure virtual
  // method called", then "terminate called without an active exception".)
  subscription_.reset();
  runner_->stop();
  pipeline_.reset();
  runner_.reset();
}

TEST_P(PipelineTest, ReplaceTokenRestartsWithTheNewOne) {
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  auto fresh = emulator_->revoke_token("vpn_shop_bot");  // the old token leaked
  ASSERT_TRUE(fresh);
  ASSERT_TRUE(pipeline_->replace_token(*id, fresh->token));
  ASSERT_TRUE(eventually([&] {
    auto s = pipeline_->status(*id);
    return s && s->state == BotState::kRunning && steps_of(*id).size() == 5 && steps_of(*id)["healthy"].first == "done";
  }));
  EXPECT_EQ(gateway_->calls("getMe"), 2);
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
  // Another instance's token is refused.
  auto other = emulator_->create_bot("other_shop_bot", "Other");
  ASSERT_TRUE(other);
  auto second_customer = add_customer(person("Second", "en"), "starter");
  NewInstance n = new_instance(other->token);
  n.customer_id = second_customer;
  auto second = pipeline_->create(n);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(pipeline_->replace_token(*id, other->token).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(pipeline_->replace_token(*id, "nope").error().code, ErrorCode::kInvalidArgument);
}

TEST_P(PipelineTest, RecoverStartsWhatShouldRunAndRollMovesEveryInstance) {
  auto id = pipeline_->create(new_instance(bot_.token));
  ASSERT_TRUE(id);
  ASSERT_TRUE(wait_deployed(*id));
  // A restart of the process: the backend forgets, recover() brings the bot back.
  ASSERT_TRUE(inprocess_->stop(*id));
  EXPECT_FALSE(runtime_->status(*id));
  auto recovered = pipeline_->recover();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(*recovered, 1);
  EXPECT_TRUE(runtime_->status(*id));

  auto roll = pipeline_->roll("2");
  ASSERT_TRUE(roll);
  ASSERT_TRUE(eventually([&] { return runner_->get(*roll)->status == jobs::JobStatus::kDone; }));
  auto result = pipeline_->roll_result(*roll);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->restarted, (std::vector<std::int64_t>{*id}));
  EXPECT_FALSE(result->failed);
  auto status = pipeline_->status(*id);
  EXPECT_EQ(status->template_version, "2");
  EXPECT_EQ(status->state, BotState::kRunning);
  ASSERT_TRUE(emulator_->send_command(alice_, "vpn_shop_bot", "start"));
  EXPECT_TRUE(eventually([&] { return !texts(alice_).empty(); }));
}

INSTANTIATE_TEST_SUITE_P(Backends, PipelineTest, ::testing::Values(StorageBackend::kSqlite, StorageBackend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::deploy
