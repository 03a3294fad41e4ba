#include "domain/tenant_entities.hpp"

#include <array>

namespace ms::domain {
namespace {

constexpr auto kPanelTypeNames = std::to_array<detail::EnumName<PanelType>>({
    {PanelType::kMarzban, "marzban"},
    {PanelType::kMarzneshin, "marzneshin"},
    {PanelType::kPasarGuard, "pasarguard"},
});
constexpr auto kServiceStatusNames = std::to_array<detail::EnumName<ServiceStatus>>({
    {ServiceStatus::kReserved, "reserved"},
    {ServiceStatus::kActive, "active"},
    {ServiceStatus::kOnHold, "on_hold"},
    {ServiceStatus::kLimited, "limited"},
    {ServiceStatus::kExpired, "expired"},
    {ServiceStatus::kDisabled, "disabled"},
    {ServiceStatus::kDeleted, "deleted"},
});
constexpr auto kOrderKindNames = std::to_array<detail::EnumName<OrderKind>>({
    {OrderKind::kNewService, "new_service"},
    {OrderKind::kRenewal, "renewal"},
    {OrderKind::kAddTraffic, "add_traffic"},
});
constexpr auto kLedgerReasonNames = std::to_array<detail::EnumName<LedgerReason>>({
    {LedgerReason::kTopUp, "top_up"},
    {LedgerReason::kPurchase, "purchase"},
    {LedgerReason::kProvisioningRefund, "provisioning_refund"},
    {LedgerReason::kUnmatchedPayment, "unmatched_payment"},
    {LedgerReason::kReferralReward, "referral_reward"},
    {LedgerReason::kAdminAdjustment, "admin_adjustment"},
    {LedgerReason::kTopUpRefund, "top_up_refund"},
    {LedgerReason::kTopUpRefundReversed, "top_up_refund_reversed"},
});
constexpr auto kDiscountKindNames = std::to_array<detail::EnumName<DiscountKind>>({
    {DiscountKind::kPercent, "percent"},
    {DiscountKind::kFixed, "fixed"},
});
constexpr auto kBroadcastStateNames = std::to_array<detail::EnumName<BroadcastState>>({
    {BroadcastState::kDraft, "draft"},
    {BroadcastState::kQueued, "queued"},
    {BroadcastState::kSending, "sending"},
    {BroadcastState::kPaused, "paused"},
    {BroadcastState::kDone, "done"},
    {BroadcastState::kCancelled, "cancelled"},
});

}  // namespace

MS_DOMAIN_ENUM_NAMES(PanelType, kPanelTypeNames)
MS_DOMAIN_ENUM_NAMES(ServiceStatus, kServiceStatusNames)
MS_DOMAIN_ENUM_NAMES(OrderKind, kOrderKindNames)
MS_DOMAIN_ENUM_NAMES(LedgerReason, kLedgerReasonNames)
MS_DOMAIN_ENUM_NAMES(DiscountKind, kDiscountKindNames)
MS_DOMAIN_ENUM_NAMES(BroadcastState, kBroadcastStateNames)

}  // namespace ms::domain
