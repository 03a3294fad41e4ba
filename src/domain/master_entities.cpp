#include "domain/master_entities.hpp"

#include <array>

namespace ms::domain {
namespace {

constexpr auto kTicketStatusNames = std::to_array<detail::EnumName<TicketStatus>>({
    {TicketStatus::kOpen, "open"},
    {TicketStatus::kAnswered, "answered"},
    {TicketStatus::kClosed, "closed"},
});
constexpr auto kTicketAuthorNames = std::to_array<detail::EnumName<TicketAuthor>>({
    {TicketAuthor::kRequester, "requester"},
    {TicketAuthor::kStaff, "staff"},
});
constexpr auto kActorNames = std::to_array<detail::EnumName<ActorType>>({
    {ActorType::kOperator, "operator"},
    {ActorType::kCustomer, "customer"},
    {ActorType::kSystem, "system"},
    {ActorType::kApiKey, "api_key"},
});
constexpr auto kJobStateNames = std::to_array<detail::EnumName<JobState>>({
    {JobState::kQueued, "queued"},
    {JobState::kRunning, "running"},
    {JobState::kSucceeded, "succeeded"},
    {JobState::kFailed, "failed"},
    {JobState::kDead, "dead"},
});

}  // namespace

MS_DOMAIN_ENUM_NAMES(TicketStatus, kTicketStatusNames)
MS_DOMAIN_ENUM_NAMES(TicketAuthor, kTicketAuthorNames)
MS_DOMAIN_ENUM_NAMES(ActorType, kActorNames)
MS_DOMAIN_ENUM_NAMES(JobState, kJobStateNames)

bool lease_held_by(const Lease& lease, std::string_view holder, std::int64_t now) {
  return !holder.empty() && lease.holder == holder && now < lease.expires_at;
}

bool lease_expired(const Lease& lease, std::int64_t now) { return lease.holder.empty() || now >= lease.expires_at; }

bool api_key_active(const ApiKey& key) { return !key.revoked_at.has_value(); }

}  // namespace ms::domain
