// The life of a payment, on both sides (a customer paying for a package, an end user
// paying for an order or a wallet top-up). The exact table:
//
//   created         -> pending | expired
//   pending         -> awaiting_review   (card-to-card: the payer sent a receipt)
//                   -> paid              (gateways: the provider confirmed; no human review)
//                   -> rejected          (the provider declined it)
//                   -> expired           (nothing arrived in time)
//   awaiting_review -> paid | rejected   (an admin's decision; one click works once)
//   rejected        -> pending           (the payer resubmits)
//   expired         -> paid              (a provider confirms after our deadline: the money
//                                         arrived, so it is recorded, never lost)
//   paid            -> refunded
//   refunded        final
//
// Why awaiting_review never expires: a receipt under review is money the payer says was
// sent; only a person may reject it (DESIGN: receipts are never approved or dropped on a
// timer). Why paid never goes back: paid -> refunded is the only way money leaves.
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

enum class PaymentState {
  kCreated,
  kPending,
  kAwaitingReview,
  kPaid,
  kRejected,
  kExpired,
  kRefunded,
};

std::string_view to_string(PaymentState state);
template <>
std::optional<PaymentState> parse<PaymentState>(std::string_view text);
template <>
std::span<const PaymentState> all_values<PaymentState>();

bool can_transition(PaymentState from, PaymentState to);
// ok(to) when the table allows from -> to; kConflict naming both states otherwise.
Result<PaymentState> transition(PaymentState from, PaymentState to);
bool is_terminal(PaymentState state);
std::vector<PaymentState> allowed_targets(PaymentState from);

struct Payment;
// Moves `payment` to `to` and stamps updated_at = now. On kConflict it is unchanged.
Result<PaymentState> transition(Payment& payment, PaymentState to, std::int64_t now);

}  // namespace ms::domain
