// The life of a deployed shop bot (a BotInstance), driven by the deploy pipeline.
//
//   created -> token_verified -> tenant_ready -> configured -> starting -> running
//   starting   -> running | failed | stopped
//   running    -> stopped (owner) | failed (crashed) | suspended (package lapsed)
//                 | restarting (new config or template version)
//   restarting -> running | failed
//   stopped    -> starting | suspended | token_verified (owner gave a new token)
//   failed     -> starting (retry) | suspended | token_verified (token was revoked; new one)
//   suspended  -> starting (package renewed) | token_verified (renewed, setup never finished)
//   created .. configured, starting, restarting -> suspended (the package lapsed mid-setup:
//                 the deployment is superseded, nothing of it reaches running)
//   every state except deleting/deleted -> deleting -> deleted (final)
//
// A setup step that fails (getMe unreachable, tenant DB busy) leaves the state where it was
// and the durable job retries that step; `failed` is for a bot that was starting or serving.
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "domain/enum_names.hpp"

namespace ms::domain {

enum class BotState {
  kCreated,
  kTokenVerified,
  kTenantReady,
  kConfigured,
  kStarting,
  kRunning,
  kRestarting,
  kStopped,
  kFailed,
  kSuspended,
  kDeleting,
  kDeleted,
};

std::string_view to_string(BotState state);
template <>
std::optional<BotState> parse<BotState>(std::string_view text);
template <>
std::span<const BotState> all_values<BotState>();

bool can_transition(BotState from, BotState to);
// ok(to) when the table allows from -> to; kConflict naming both states otherwise.
Result<BotState> transition(BotState from, BotState to);
bool is_terminal(BotState state);
std::vector<BotState> allowed_targets(BotState from);
// True for running and restarting: the bot is (about to be) answering its users.
bool is_serving(BotState state);

struct BotInstance;
// Moves `bot` to `to` and stamps updated_at = now. On kConflict the bot is unchanged.
Result<BotState> transition(BotInstance& bot, BotState to, std::int64_t now);

}  // namespace ms::domain
