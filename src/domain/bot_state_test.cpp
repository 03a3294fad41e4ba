#include "domain/bot_state.hpp"

#include <gtest/gtest.h>

#include "domain/master_entities.hpp"
#include "domain/state_table_testing.hpp"

namespace ms::domain {
namespace {

using S = BotState;

TEST(BotState, NamesRoundTrip) {
  testing::expect_names_round_trip<S>(12);
  EXPECT_EQ(to_string(S::kTokenVerified), "token_verified");
  EXPECT_EQ(to_string(S::kTenantReady), "tenant_ready");
}

TEST(BotState, ExactTransitionTable) {
  testing::EdgeSet<S> expected{
      {S::kCreated, S::kTokenVerified},
      {S::kTokenVerified, S::kTenantReady},
      {S::kTenantReady, S::kConfigured},
      {S::kConfigured, S::kStarting},
      {S::kStarting, S::kRunning},
      {S::kStarting, S::kFailed},
      {S::kStarting, S::kStopped},
      {S::kRunning, S::kStopped},
      {S::kRunning, S::kFailed},
      {S::kRunning, S::kSuspended},
      {S::kRunning, S::kRestarting},
      {S::kRestarting, S::kRunning},
      {S::kRestarting, S::kFailed},
      {S::kStopped, S::kStarting},
      {S::kStopped, S::kSuspended},
      {S::kStopped, S::kTokenVerified},
      {S::kFailed, S::kStarting},
      {S::kFailed, S::kSuspended},
      {S::kFailed, S::kTokenVerified},
      {S::kSuspended, S::kStarting},
      {S::kDeleting, S::kDeleted},
      // A package that lapsed mid-setup; renewed, the setup goes on from the token.
      {S::kCreated, S::kSuspended},
      {S::kTokenVerified, S::kSuspended},
      {S::kTenantReady, S::kSuspended},
      {S::kConfigured, S::kSuspended},
      {S::kStarting, S::kSuspended},
      {S::kRestarting, S::kSuspended},
      {S::kSuspended, S::kTokenVerified},
  };
  for (S s : all_values<S>()) {
    if (s != S::kDeleting && s != S::kDeleted) expected.insert({s, S::kDeleting});
  }
  testing::expect_exact_table<S>(expected, "bot");
  EXPECT_TRUE(is_terminal(S::kDeleted));
  EXPECT_FALSE(is_terminal(S::kDeleting));
}

TEST(BotState, ServingStates) {
  for (S s : all_values<S>()) EXPECT_EQ(is_serving(s), s == S::kRunning || s == S::kRestarting) << to_string(s);
}

TEST(BotState, DeployPipelineAndRetry) {
  BotInstance bot;
  for (S next :
       {S::kTokenVerified, S::kTenantReady, S::kConfigured, S::kStarting, S::kFailed, S::kStarting, S::kRunning,
        S::kRestarting, S::kRunning, S::kSuspended, S::kStarting, S::kRunning, S::kDeleting, S::kDeleted}) {
    ASSERT_TRUE(transition(bot, next, 9)) << to_string(next);
  }
  EXPECT_EQ(bot.state, S::kDeleted);
  EXPECT_EQ(bot.updated_at, 9);
}

TEST(BotState, ALapseMidSetupSuspendsAndARenewalSetsUpAgain) {
  BotInstance bot;
  ASSERT_TRUE(transition(bot, S::kTokenVerified, 1));
  ASSERT_TRUE(transition(bot, S::kSuspended, 2));
  EXPECT_FALSE(transition(bot, S::kRunning, 3)) << "a suspended bot never jumps to running";
  for (S next : {S::kTokenVerified, S::kTenantReady, S::kConfigured, S::kStarting, S::kSuspended, S::kStarting,
                 S::kRunning, S::kRestarting, S::kSuspended}) {
    ASSERT_TRUE(transition(bot, next, 4)) << to_string(next);
  }
  EXPECT_FALSE(can_transition(S::kDeleting, S::kSuspended));
  EXPECT_FALSE(can_transition(S::kSuspended, S::kConfigured));
}

TEST(BotState, CannotSkipSetupOrLeaveDeleted) {
  BotInstance bot;
  auto skip = transition(bot, S::kRunning, 1);
  ASSERT_FALSE(skip);
  EXPECT_EQ(skip.error().message, "bot cannot go from created to running");
  EXPECT_EQ(bot.state, S::kCreated);
  bot.state = S::kDeleted;
  auto revive = transition(bot, S::kStarting, 2);
  ASSERT_FALSE(revive);
  EXPECT_EQ(revive.error().message, "bot cannot go from deleted to starting (deleted is final)");
}

}  // namespace
}  // namespace ms::domain
