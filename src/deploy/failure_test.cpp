// Failure: each reason the pipeline and the backends write (the same words as their sources)
// lands on what an owner can act on, and every Failure has its text in both languages.
#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <utility>

#include "core/i18n/catalog.hpp"
#include "deploy/deploy.hpp"

namespace ms::deploy {
namespace {

TEST(DeployFailure, ThePipelinesOwnReasonsMeanWhatTheySay) {
  const std::pair<const char*, Failure> cases[] = {
      {"Telegram refused the bot token (revoked or wrong)", Failure::kTokenRefused},
      {"Telegram refused the bot token (revoked or wrong); send a new token", Failure::kTokenRefused},
      {"getMe: Telegram did not answer: 502 Bad Gateway", Failure::kTelegramUnreachable},
      {"no sign of life within 10 s: the runner exited with status 1", Failure::kNoSignOfLife},
      {"instance 4 (@a_bot) did not pass its health check on version 2: no sign of life within 5 s",
       Failure::kNoSignOfLife},
      {"the runner exited with status 1", Failure::kBackend},
      {"cannot run /usr/bin/mothership: No such file or directory", Failure::kBackend},
      {"the bot is not in the runtime", Failure::kBackend},
      {"no process backend runs in this process", Failure::kBackend},
      {"the customer's package lapsed: the bot is suspended until it is renewed", Failure::kLapsed},
      {"the bot is suspended until the package is renewed", Failure::kLapsed},
      {"no current package: buy or renew one to create a bot", Failure::kLapsed},
      {"another shop already runs this bot", Failure::kTokenTaken},
      {"another shop already uses this bot token", Failure::kTokenTaken},
      {"Your Starter package allows 1 bot; upgrade to Professional for more bots.", Failure::kLimit},
      {"bot instance 7 changed state meanwhile", Failure::kBusy},
      {"bot instance 7 keeps changing state", Failure::kBusy},
      {"disk I/O error", Failure::kOther},
      {"", Failure::kOther},
  };
  for (const auto& [words, expected] : cases) EXPECT_EQ(failure_of(words), expected) << words;
}

TEST(DeployFailure, ARefusedActionIsReadByItsCodeWhenItsWordsSayNothing) {
  EXPECT_EQ(failure_of(Error{ErrorCode::kConflict, "a failed bot cannot be stopped"}), Failure::kBusy);
  EXPECT_EQ(failure_of(Error{ErrorCode::kUnavailable, "database is locked"}), Failure::kUnavailable);
  EXPECT_EQ(failure_of(Error{ErrorCode::kTimeout, "timed out"}), Failure::kUnavailable);
  EXPECT_EQ(failure_of(Error{ErrorCode::kUnauthenticated, "401"}), Failure::kTokenRefused);
  EXPECT_EQ(failure_of(Error{ErrorCode::kPermissionDenied, "limit"}), Failure::kLimit);
  EXPECT_EQ(failure_of(Error{ErrorCode::kInternal, "bad row"}), Failure::kOther);
  // The words win over the code: a lapsed package is refused with kConflict by start().
  EXPECT_EQ(failure_of(Error{ErrorCode::kConflict, "the bot is suspended until the package is renewed"}),
            Failure::kLapsed);
}

TEST(DeployFailure, EveryFailureHasItsTextInBothLanguagesWithoutEnglishInPersian) {
  i18n::Catalog catalog;
  for (Failure f : {Failure::kTokenRefused, Failure::kTokenTaken, Failure::kTelegramUnreachable,
                    Failure::kNoSignOfLife, Failure::kBackend, Failure::kLapsed, Failure::kLimit, Failure::kBusy,
                    Failure::kUnavailable, Failure::kOther}) {
    const std::string key = failure_key(f);
    ASSERT_TRUE(catalog.has(i18n::Lang::kEn, key)) << key;
    ASSERT_TRUE(catalog.has(i18n::Lang::kFa, key)) << key;
    std::string fa = catalog.render(i18n::Lang::kFa, key);
    // Names stay Latin (Mothership, @BotFather); no English word otherwise.
    for (const char* name : {"Mothership", "@BotFather"}) {
      if (auto at = fa.find(name); at != std::string::npos) fa.erase(at, std::string(name).size());
    }
    for (char ch : fa) EXPECT_FALSE(std::isalpha(static_cast<unsigned char>(ch))) << key << ": " << fa;
  }
}

}  // namespace
}  // namespace ms::deploy
