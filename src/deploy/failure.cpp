// Failure: the pipeline's and the backends' English reasons, sorted into what an owner can
// act on. The wording matched here is written in this folder (pipeline_steps.cpp,
// pipeline_impl.*, the deployers); failure_test.cpp pins each one.
#include <array>
#include <string>
#include <utility>

#include "deploy/deploy.hpp"

namespace ms::deploy {
namespace {

constexpr auto kNames = std::to_array<std::pair<Failure, std::string_view>>({
    {Failure::kTokenRefused, "token_refused"},
    {Failure::kTokenTaken, "token_taken"},
    {Failure::kTelegramUnreachable, "telegram"},
    {Failure::kNoSignOfLife, "no_sign_of_life"},
    {Failure::kBackend, "backend"},
    {Failure::kLapsed, "lapsed"},
    {Failure::kLimit, "limit"},
    {Failure::kBusy, "busy"},
    {Failure::kUnavailable, "unavailable"},
    {Failure::kOther, "other"},
});

// First match wins: "no sign of life within 10 s: the runner exited" is a health failure,
// whatever the runner's last words were.
constexpr auto kWording = std::to_array<std::pair<std::string_view, Failure>>({
    {"refused the bot token", Failure::kTokenRefused},
    {"package lapsed", Failure::kLapsed},
    {"suspended until the package is renewed", Failure::kLapsed},
    {"no current package", Failure::kLapsed},
    {"already runs this bot", Failure::kTokenTaken},
    {"already uses this bot token", Failure::kTokenTaken},
    {"no sign of life", Failure::kNoSignOfLife},
    {"did not pass its health check", Failure::kNoSignOfLife},
    {"Telegram did not answer", Failure::kTelegramUnreachable},
    {"the runner ", Failure::kBackend},
    {"cannot run ", Failure::kBackend},
    {"did not start", Failure::kBackend},
    {"not in the runtime", Failure::kBackend},
    {"backend runs in this process", Failure::kBackend},
    {" package allows ", Failure::kLimit},
    {"changed state meanwhile", Failure::kBusy},
    {"keeps changing state", Failure::kBusy},
});

}  // namespace

std::string_view to_string(Failure failure) {
  for (const auto& [f, name] : kNames) {
    if (f == failure) return name;
  }
  return "other";
}

std::string failure_key(Failure failure) { return "deploy.failure." + std::string(to_string(failure)); }

Failure failure_of(std::string_view error) {
  for (const auto& [words, failure] : kWording) {
    if (error.find(words) != std::string_view::npos) return failure;
  }
  return Failure::kOther;
}

Failure failure_of(const Error& error) {
  const Failure by_words = failure_of(error.message);
  if (by_words != Failure::kOther) return by_words;
  switch (error.code) {
    case ErrorCode::kUnauthenticated: return Failure::kTokenRefused;
    case ErrorCode::kAlreadyExists: return Failure::kTokenTaken;
    case ErrorCode::kLimitExceeded:
    case ErrorCode::kPermissionDenied: return Failure::kLimit;  // create(): the package's limits
    case ErrorCode::kConflict: return Failure::kBusy;
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout: return Failure::kUnavailable;
    default: return Failure::kOther;
  }
}

}  // namespace ms::deploy
