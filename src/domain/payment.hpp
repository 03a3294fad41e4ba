// A payment, the same record on both sides: a customer paying the platform for a package
// (master DB) or an end user paying a shop bot for an order or a wallet top-up (tenant DB).
// Its life is the machine in payment_state.hpp.
// Thread-safety: plain values; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/money.hpp"
#include "domain/enum_names.hpp"
#include "domain/payment_state.hpp"

namespace ms::domain {

enum class PaymentMethod {
  kCardToCard,     // receipt photo reviewed by an admin
  kWallet,         // end user's wallet balance
  kTelegramStars,  // XTR invoice
  kNowPayments,    // crypto
  kZarinpal,       // Iranian gateway
  kStripe,
  kPayPal,
  kManual,  // recorded by an operator (e.g. a bank transfer outside the bot)
};

enum class PaymentPurpose {
  kPackage,      // master: a customer's package subscription
  kOrder,        // tenant: an end user's order
  kWalletTopUp,  // tenant: credit to the end user's wallet
};

std::string_view to_string(PaymentMethod v);
template <>
std::optional<PaymentMethod> parse<PaymentMethod>(std::string_view text);
template <>
std::span<const PaymentMethod> all_values<PaymentMethod>();
std::string_view to_string(PaymentPurpose v);
template <>
std::optional<PaymentPurpose> parse<PaymentPurpose>(std::string_view text);
template <>
std::span<const PaymentPurpose> all_values<PaymentPurpose>();

struct Payment {
  std::int64_t id = 0;
  PaymentPurpose purpose = PaymentPurpose::kOrder;
  std::int64_t payer_id = 0;                    // customer id (master) or end user id (tenant)
  std::optional<std::int64_t> order_id;         // tenant: the order being paid
  std::optional<std::int64_t> subscription_id;  // master: the subscription being paid
  PaymentMethod method = PaymentMethod::kCardToCard;
  Money amount;  // what the payer must send (unique for card-to-card)
  PaymentState state = PaymentState::kCreated;
  std::optional<std::string> provider_ref;     // unique per method: gateway id, charge id, receipt hash
  std::optional<std::string> receipt_file_id;  // Telegram file id of the receipt photo
  std::optional<std::int64_t> reviewed_by;     // Telegram id of the admin who decided
  std::optional<std::string> review_note;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> expires_at;
};

using MasterPayment = Payment;
using TenantPayment = Payment;

}  // namespace ms::domain
