// Row-level helpers of PaymentService shared by its translation units (service.cpp,
// service_review.cpp, service_refunds.cpp, service_recovery.cpp). Internal to src/payments/; not part of the interface.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "payments/service.hpp"
#include "storage/storage.hpp"

namespace ms::payments::detail {

// {payer_id} is named user_id in the row whatever the schema calls it (Schema::sql).
inline constexpr std::string_view kColumns =
    "id, order_id, {payer_id} AS user_id, purpose, provider, provider_ref, amount_minor, currency, status, flag, "
    "flag_detail, "
    "received_minor, received_currency, payer_action, receipt_file_id, receipt_file_unique_id, reviewed_by, "
    "reject_reason, expires_at, paid_at, created_at, updated_at, charge_ref";

// A payments row (selected with kColumns) as a record; kCorrupted for unknown values.
Result<PaymentRecord> from_row(const storage::Row& r);

storage::Value opt(const std::optional<std::string>& v);
storage::Value opt(const std::optional<std::int64_t>& v);
std::string code(Currency c);
std::string name(domain::PaymentState s);
nlohmann::json money_json(Money m);
// The payment row, or kNotFound.
Result<PaymentRecord> load_existing(storage::Session& s, const Schema& sc, std::int64_t id);
// Queues a side effect of payment `p` in the same transaction (payment_outbox).
Result<void> add_outbox(storage::Session& s, std::string_view kind, std::string_view topic, const PaymentRecord& p,
                        nlohmann::json payload, std::int64_t now);
// Moves payment `id` from `from` to `to` with extra assignments; false when it was no
// longer in `from` (someone else moved it first).
Result<bool> claim(storage::Session& s, std::int64_t id, domain::PaymentState from, domain::PaymentState to,
                   std::string_view extra_set, storage::Params extra, std::int64_t now);
// A user's Telegram id, and (when `currency` is given) their wallet's currency; kNotFound.
Result<std::int64_t> wallet_of(storage::Session& s, const Schema& sc, std::int64_t user_id, Currency* currency);
// Moves a payment to paid and credits it. kAlreadyApplied when someone else moved it first.
Result<Outcome> settle(storage::Session& s, const Schema& sc, const PaymentRecord& p, Money received,
                       const std::optional<std::string>& ref, std::optional<std::int64_t> reviewer, std::int64_t now);
// Applies a gateway's report to payment `payment_id` inside a transaction.
Result<Outcome> apply_in(storage::Session& s, const Schema& sc, PaymentMethod method, std::int64_t payment_id,
                         const GatewayReport& r, std::int64_t now);
// A review that someone else already made (approve/reject buttons work once).
Error already_reviewed(const PaymentRecord& p);
// Expires a payment; with `cancel_order` its order too when no other payment is open.
Result<Outcome> expire_in(storage::Session& s, const Schema& sc, const PaymentRecord& p, std::int64_t now,
                          std::string_view why, bool cancel_order = true);

}  // namespace ms::payments::detail
