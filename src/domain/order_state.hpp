// The life of an end user's order in a shop bot (tenant side).
//
//   created -> awaiting_payment -> paid -> provisioning -> fulfilled
//   created -> cancelled                      (the user backed out before paying)
//   awaiting_payment -> expired | cancelled   (no payment in time / user cancelled)
//   provisioning -> provisioning_failed -> provisioning          (retry, e.g. panel back up)
//   provisioning_failed -> refunded_to_wallet                    (DESIGN: a failed provisioning
//                                                                 after payment credits the wallet)
// Once paid, an order never returns to an unpaid state. expired and cancelled are final:
// a payment that arrives for an expired order is credited to the wallet by the payment
// flow; the order itself stays expired. A crash while provisioning resumes the step (the
// panel username is reserved first), so there is no provisioning -> provisioning edge.
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

enum class OrderState {
  kCreated,
  kAwaitingPayment,
  kPaid,
  kProvisioning,
  kFulfilled,
  kExpired,
  kCancelled,
  kProvisioningFailed,
  kRefundedToWallet,
};

std::string_view to_string(OrderState state);
template <>
std::optional<OrderState> parse<OrderState>(std::string_view text);
template <>
std::span<const OrderState> all_values<OrderState>();

bool can_transition(OrderState from, OrderState to);
// ok(to) when the table allows from -> to; kConflict naming both states otherwise.
Result<OrderState> transition(OrderState from, OrderState to);
bool is_terminal(OrderState state);
std::vector<OrderState> allowed_targets(OrderState from);
// True once money has been taken for the order (paid or any later state on that branch).
bool is_paid(OrderState state);

struct Order;
// Moves `order` to `to` and stamps updated_at = now. On kConflict the order is unchanged.
Result<OrderState> transition(Order& order, OrderState to, std::int64_t now);

}  // namespace ms::domain
