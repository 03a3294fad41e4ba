#include "domain/bot_state.hpp"

#include <array>

#include "domain/master_entities.hpp"
#include "domain/state_machine.hpp"

namespace ms::domain {
namespace {

using S = BotState;

constexpr auto kNames = std::to_array<detail::EnumName<S>>({
    {S::kCreated, "created"},
    {S::kTokenVerified, "token_verified"},
    {S::kTenantReady, "tenant_ready"},
    {S::kConfigured, "configured"},
    {S::kStarting, "starting"},
    {S::kRunning, "running"},
    {S::kRestarting, "restarting"},
    {S::kStopped, "stopped"},
    {S::kFailed, "failed"},
    {S::kSuspended, "suspended"},
    {S::kDeleting, "deleting"},
    {S::kDeleted, "deleted"},
});

constexpr auto kEdges = std::to_array<detail::Edge<S>>({
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
    // The package lapsed while the bot was still being set up: its deployment is superseded
    // and it waits suspended; renewed, it is set up from the token on (or started again).
    {S::kCreated, S::kSuspended},
    {S::kTokenVerified, S::kSuspended},
    {S::kTenantReady, S::kSuspended},
    {S::kConfigured, S::kSuspended},
    {S::kStarting, S::kSuspended},
    {S::kRestarting, S::kSuspended},
    {S::kSuspended, S::kTokenVerified},
    // Deleting is reachable from every live state.
    {S::kCreated, S::kDeleting},
    {S::kTokenVerified, S::kDeleting},
    {S::kTenantReady, S::kDeleting},
    {S::kConfigured, S::kDeleting},
    {S::kStarting, S::kDeleting},
    {S::kRunning, S::kDeleting},
    {S::kRestarting, S::kDeleting},
    {S::kStopped, S::kDeleting},
    {S::kFailed, S::kDeleting},
    {S::kSuspended, S::kDeleting},
    {S::kDeleting, S::kDeleted},
});

}  // namespace

MS_DOMAIN_ENUM_NAMES(BotState, kNames)
MS_DOMAIN_STATE_MACHINE(BotState, "bot", kEdges)

bool is_serving(BotState state) { return state == S::kRunning || state == S::kRestarting; }

Result<BotState> transition(BotInstance& bot, BotState to, std::int64_t now) {
  auto next = transition(bot.state, to);
  if (!next) return next;
  bot.state = *next;
  bot.updated_at = now;
  return next;
}

}  // namespace ms::domain
