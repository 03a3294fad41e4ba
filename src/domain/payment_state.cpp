#include "domain/payment_state.hpp"

#include <array>

#include "domain/payment.hpp"
#include "domain/state_machine.hpp"

namespace ms::domain {
namespace {

using S = PaymentState;

constexpr auto kNames = std::to_array<detail::EnumName<S>>({
    {S::kCreated, "created"},
    {S::kPending, "pending"},
    {S::kAwaitingReview, "awaiting_review"},
    {S::kPaid, "paid"},
    {S::kRejected, "rejected"},
    {S::kExpired, "expired"},
    {S::kRefunded, "refunded"},
});

constexpr auto kEdges = std::to_array<detail::Edge<S>>({
    {S::kCreated, S::kPending},
    {S::kCreated, S::kExpired},
    {S::kPending, S::kAwaitingReview},
    {S::kPending, S::kPaid},
    {S::kPending, S::kRejected},
    {S::kPending, S::kExpired},
    {S::kAwaitingReview, S::kPaid},
    {S::kAwaitingReview, S::kRejected},
    {S::kRejected, S::kPending},
    {S::kExpired, S::kPaid},
    {S::kPaid, S::kRefunded},
});

}  // namespace

MS_DOMAIN_ENUM_NAMES(PaymentState, kNames)
MS_DOMAIN_STATE_MACHINE(PaymentState, "payment", kEdges)

Result<PaymentState> transition(Payment& payment, PaymentState to, std::int64_t now) {
  auto next = transition(payment.state, to);
  if (!next) return next;
  payment.state = *next;
  payment.updated_at = now;
  return next;
}

}  // namespace ms::domain
