// PaymentProvider: the one interface every way of taking money implements (card-to-card,
// wallet, Telegram Stars, NOWPayments, Zarinpal, Stripe Checkout, PayPal), and the plain
// values that cross it.
//
// A provider knows one gateway's protocol and nothing about our databases: it starts a
// payment (what must the payer do?), turns a callback or webhook into verified reports
// (signature checked first), polls a payment's status (advancing it where the gateway needs
// a second call, e.g. Zarinpal verify or PayPal capture) and refunds where the gateway
// allows. What a report means for orders, wallets and the ledger is decided by
// PaymentService (service.hpp), which persists every state before any side effect.
//
// Amounts are integer minor units with their currency (core/money.hpp); a provider charges
// in one currency (currency()), and the service converts with the owner's exchange rate.
//
// Threads: a provider is immutable after construction and safe to call from many threads.
// Every method may block on the network (HTTP with its own timeout): call it from a worker
// thread, never from an event loop. Failures are values: kUnavailable / kTimeout (gateway
// down or slow, retry later), kInvalidArgument (garbage we will never accept),
// kUnauthenticated (a forged or unverifiable signature), kConflict (the gateway refuses in
// this state), kPermissionDenied (the provider cannot do this, e.g. refund by hand).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/money.hpp"
#include "core/result.hpp"
#include "domain/payment.hpp"
#include "http/request.hpp"

namespace ms::payments {

using domain::PaymentMethod;

// What we ask a provider to collect.
struct StartRequest {
  std::int64_t payment_id = 0;
  std::string reference;                   // our unique reference ("pay-<id>"), echoed back by gateways
  Money amount;                            // already in the provider's currency (and unique for card-to-card)
  std::string description;                 // shown to the payer where the gateway shows one
  std::string return_url;                  // where the payer's browser comes back (Stripe, PayPal, NOWPayments)
  std::string callback_url;                // our server route the gateway calls (IPN, Zarinpal callback)
  std::optional<std::int64_t> expires_at;  // unix seconds; gateways that take a deadline get it
};

// What the payer must do next.
struct PayerAction {
  enum class Kind {
    kNone,          // nothing: already settled (wallet)
    kCardTransfer,  // transfer exactly `amount` to `card_number`, then send a receipt photo
    kRedirect,      // open `url` (checkout page, invoice, StartPay)
    kStarsInvoice,  // the bot sends an XTR invoice with these fields
  };
  Kind kind = Kind::kNone;
  Money amount;
  std::string url;
  std::string card_number;
  std::string card_holder;
  std::string invoice_title;
  std::string invoice_description;
  std::string invoice_payload;  // 1-128 bytes, comes back in pre_checkout_query and successful_payment

  nlohmann::json to_json() const;
  static PayerAction from_json(const nlohmann::json& j);
};

struct StartResult {
  std::optional<std::string> provider_ref;  // the gateway's id (session, invoice, order, authority)
  PayerAction action;
};

// The start of a payment whose payer goes to a gateway page: `ref` is the gateway's id.
inline StartResult redirect_start(std::string ref, std::string url, Money amount) {
  StartResult out;
  out.provider_ref = std::move(ref);
  out.action.kind = PayerAction::Kind::kRedirect;
  out.action.amount = amount;
  out.action.url = std::move(url);
  return out;
}

// A gateway's statement about one payment.
enum class GatewayStatus {
  kPending,        // nothing (or not enough confirmations) yet
  kClaimedPaid,    // an unauthenticated hint (Zarinpal Status=OK, PayPal APPROVED): poll to confirm
  kPaid,           // the gateway confirms the money is ours
  kPartiallyPaid,  // less than asked arrived
  kFailed,         // declined, cancelled by the payer
  kExpired,        // the gateway's own deadline passed
  kRefunded,
};
std::string_view to_string(GatewayStatus status);

struct GatewayReport {
  std::optional<std::string> provider_ref;  // the gateway id the payment was started with
  std::optional<std::string> reference;     // our reference, when the gateway echoes it
  GatewayStatus status = GatewayStatus::kPending;
  std::optional<Money> paid;              // what the gateway says arrived, when it says
  std::optional<std::string> charge_ref;  // the gateway's id of the money itself (PayPal capture), for refunds
  std::string event_key;                  // unique per notification, for the event log
  std::string summary;                    // short and safe to store ("checkout.session.completed")
};

// A payment as a provider needs to see it when polling or refunding.
struct ProviderPayment {
  std::int64_t id = 0;
  std::string reference;
  std::optional<std::string> provider_ref;
  Money amount;
  std::int64_t payer_telegram_id = 0;     // Stars refunds name the user
  std::optional<std::string> charge_ref;  // the gateway's id of the money, once a report named it
};

// One refund we ask a provider for. `key` is ours, unique per refund and the same on every
// retry of it, so a gateway with idempotency keys never refunds twice.
struct RefundRequest {
  std::string charge_id;        // the gateway's id of the money (PayPal capture, Stars charge); may be empty
  std::optional<Money> amount;  // nullopt: the whole payment
  std::string key;
  bool resume = false;  // an earlier attempt's answer was lost: ask the gateway before refunding again
};

struct RefundResult {
  std::string refund_ref;  // the gateway's refund id, when it has one
  bool pending = false;    // accepted, not settled yet (PayPal PENDING); the money is on its way back
};

class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;

  virtual PaymentMethod method() const = 0;
  // The currency this provider charges in.
  virtual Currency currency() const = 0;

  // Starts collecting. Success: the gateway's id (if any) and what the payer must do.
  virtual Result<StartResult> start(const StartRequest& request) = 0;

  // Verifies and parses a callback or webhook addressed to this provider. Success: the
  // reports it carries (possibly none, for events we do not act on). Failure:
  // kUnauthenticated for a missing or wrong signature (nothing may be credited),
  // kInvalidArgument for a body we cannot read, kUnavailable when verification needs the
  // gateway and it cannot be reached (the gateway retries).
  virtual Result<std::vector<GatewayReport>> parse_callback(const http::Request& request) = 0;

  // Asks the gateway where the payment stands, advancing it where the gateway needs a
  // second call from us (Zarinpal verify, PayPal capture). Idempotent.
  virtual Result<GatewayReport> poll(const ProviderPayment& payment) = 0;

  // Returns the money (all of it, or `request.amount`). Idempotent on `request.key`.
  // Failure: kPermissionDenied where the gateway has no refund API (or no partial refunds),
  // kInvalidArgument / kConflict / kNotFound when the gateway refused (nothing was refunded),
  // kUnavailable / kTimeout when the answer is unknown (retry with resume = true).
  virtual Result<RefundResult> refund(const ProviderPayment& payment, const RefundRequest& request) = 0;
};

// ---- money on the wire ----------------------------------------------------------------------

// "10.50" for 1050 USD cents, "600000" for IRR, "1.500000" for USDT micro-units.
std::string to_decimal(Money money);
// Parses a decimal (string or JSON number text) in `currency`'s major units into minor units.
// More fraction digits than the currency has must be zeros. kInvalidArgument otherwise.
Result<Money> from_decimal(std::string_view text, Currency currency);
// The same from a JSON number or string.
Result<Money> from_json_amount(const nlohmann::json& value, Currency currency);

// ---- owner-set exchange rates ---------------------------------------------------------------

// 1 major unit of `base` costs `quote_minor_per_base_major` minor units of `quote`
// (e.g. base USD, quote IRR, 600000: one dollar is 600,000 Rial).
struct ExchangeRate {
  Currency base = Currency::kUsd;
  Currency quote = Currency::kIrr;
  std::int64_t quote_minor_per_base_major = 0;
};

// Converts `amount` into `to` with `rate` (either direction of the pair), rounding up so
// the seller never receives less than the price. Same currency: returned unchanged.
// kInvalidArgument when the rate does not join the two currencies, is not positive, or
// the result overflows.
Result<Money> convert(Money amount, Currency to, const ExchangeRate& rate);

}  // namespace ms::payments
