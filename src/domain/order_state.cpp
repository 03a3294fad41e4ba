#include "domain/order_state.hpp"

#include <array>

#include "domain/state_machine.hpp"
#include "domain/tenant_entities.hpp"

namespace ms::domain {
namespace {

using S = OrderState;

constexpr auto kNames = std::to_array<detail::EnumName<S>>({
    {S::kCreated, "created"},
    {S::kAwaitingPayment, "awaiting_payment"},
    {S::kPaid, "paid"},
    {S::kProvisioning, "provisioning"},
    {S::kFulfilled, "fulfilled"},
    {S::kExpired, "expired"},
    {S::kCancelled, "cancelled"},
    {S::kProvisioningFailed, "provisioning_failed"},
    {S::kRefundedToWallet, "refunded_to_wallet"},
});

constexpr auto kEdges = std::to_array<detail::Edge<S>>({
    {S::kCreated, S::kAwaitingPayment},
    {S::kCreated, S::kCancelled},
    {S::kAwaitingPayment, S::kPaid},
    {S::kAwaitingPayment, S::kExpired},
    {S::kAwaitingPayment, S::kCancelled},
    {S::kPaid, S::kProvisioning},
    {S::kProvisioning, S::kFulfilled},
    {S::kProvisioning, S::kProvisioningFailed},
    {S::kProvisioningFailed, S::kProvisioning},
    {S::kProvisioningFailed, S::kRefundedToWallet},
});

}  // namespace

MS_DOMAIN_ENUM_NAMES(OrderState, kNames)
MS_DOMAIN_STATE_MACHINE(OrderState, "order", kEdges)

bool is_paid(OrderState state) {
  switch (state) {
    case S::kPaid:
    case S::kProvisioning:
    case S::kFulfilled:
    case S::kProvisioningFailed:
    case S::kRefundedToWallet: return true;
    case S::kCreated:
    case S::kAwaitingPayment:
    case S::kExpired:
    case S::kCancelled: return false;
  }
  return false;
}

Result<OrderState> transition(Order& order, OrderState to, std::int64_t now) {
  auto next = transition(order.state, to);
  if (!next) return next;
  order.state = *next;
  order.updated_at = now;
  return next;
}

}  // namespace ms::domain
