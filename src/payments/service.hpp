// PaymentService: money in for one database: a tenant's (a customer's shop bots selling VPN
// plans to end users) or the master's (customers buying packages; Schema, schema.hpp): orders paid
// through any PaymentProvider, wallet top-ups, card-to-card review, Telegram Stars, gateway
// callbacks, expiry, refunds and crash recovery. The one place that turns "a provider says"
// into orders, wallets and side effects.
//
// Promises (DESIGN "Money is never lost or doubled"):
// - State is persisted before every side effect: a payment is `created` before a gateway is
//   called and `pending` (with the gateway's id and what the payer must do) after.
// - Every move of a payment is a conditional UPDATE from the state that was read, so of any
//   number of concurrent or replayed callbacks, approvals or polls exactly one applies; the
//   others answer kAlreadyApplied (approve/reject answer kConflict naming the winner).
// - Each gateway notification is logged once in payment_events (provider, event key unique).
// - What must happen after a payment (fulfil the order, tell the owner or the user) is a
//   payment_outbox row written in the same transaction as the payment, delivered at least
//   once to a FulfilmentHook by dispatch_outbox(); a crash anywhere is resumed by recover()
//   and dispatch_outbox(), and the hook's effect happens once (it keys on the item).
// - Money that does not match (amount, currency, a partial payment, a reused receipt) is
//   flagged for a person (awaiting_review), never credited automatically. Money that
//   arrives after its order expired is credited to the payer's wallet and the owner is told.
// - Card-to-card receipts are decided only by approve()/reject(); nothing approves on a timer.
//
// Threads: thread-safe. Methods block (database, and gateways over HTTP): call them from a
// worker thread, not an event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "domain/payment_state.hpp"
#include "domain/rules.hpp"
#include "payments/ledger.hpp"
#include "payments/provider.hpp"
#include "payments/schema.hpp"
#include "storage/storage.hpp"

namespace ms::payments {

// One row of the tenant's payments table.
struct PaymentRecord {
  std::int64_t id = 0;
  std::optional<std::int64_t> order_id;
  std::int64_t user_id = 0;
  domain::PaymentPurpose purpose = domain::PaymentPurpose::kOrder;
  PaymentMethod method = PaymentMethod::kCardToCard;
  std::optional<std::string> provider_ref;
  Money amount;
  domain::PaymentState state = domain::PaymentState::kCreated;
  std::optional<std::string> flag;  // why a person must look: amount_mismatch, receipt_reused, ...
  std::optional<std::string> flag_detail;
  std::optional<Money> received;          // what the gateway said arrived
  std::optional<std::string> charge_ref;  // the gateway's id of the money (PayPal capture, Stars charge)
  PayerAction action;
  std::optional<std::string> receipt_file_id;
  std::optional<std::string> receipt_file_unique_id;
  std::optional<std::int64_t> reviewed_by;
  std::optional<std::string> reject_reason;
  std::optional<std::int64_t> expires_at;
  std::optional<std::int64_t> paid_at;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;

  // What gateways echo back to us: "pay-<id>".
  std::string reference() const { return "pay-" + std::to_string(id); }
};
// The id in a "pay-<id>" reference; nullopt for anything else.
std::optional<std::int64_t> payment_id_from_reference(std::string_view reference);

// One refund of a payment (payment_refunds): requested (written before the gateway call;
// its answer may be lost), pending (accepted, settling), completed, failed (refused).
struct RefundRecord {
  std::int64_t id = 0;
  std::int64_t payment_id = 0;
  Money amount;
  std::string status;
  std::optional<std::string> provider_ref;
  std::string reason;
  std::optional<std::string> last_error;
};

enum class Outcome {
  kPaid,              // the payment became paid now; its order or wallet was credited
  kCreditedToWallet,  // paid after its order expired: the wallet got the money, the owner is told
  kFlagged,           // waiting for a person (amount/currency mismatch, partial payment)
  kRejected,          // the gateway declined it
  kExpired,           // the gateway's deadline passed
  kRefunded,
  kNoChange,        // still pending, or a notice we do not act on
  kAlreadyApplied,  // a replay or a concurrent copy: nothing changed
};
std::string_view to_string(Outcome outcome);

struct Checkout {
  PaymentRecord payment;
  PayerAction action;
};

// A side effect due after a payment, delivered at least once.
struct OutboxItem {
  std::int64_t id = 0;
  std::string kind;   // fulfil_order | owner_notice | user_notice
  std::string topic;  // for notices: paid_after_expiry, amount_mismatch, receipt_reused, top_up_credited, ...
  std::int64_t payment_id = 0;
  std::optional<std::int64_t> order_id;
  nlohmann::json payload;
  std::int64_t attempts = 0;  // deliveries started, this one included
};

// Where the shop bot (and later the master bot) plugs in. handle() may run more than once
// for one item (after a crash or a failure), so its effect must be keyed on the item
// (e.g. move the order paid -> provisioning only if it is still paid; reserve the panel
// username first). ok() marks the item done; an error leaves it for the next dispatch.
class FulfilmentHook {
 public:
  virtual ~FulfilmentHook() = default;
  virtual Result<void> handle(const OutboxItem& item) = 0;
};

struct ServiceOptions {
  // The database's tables: a tenant's (end users, orders) or the master's (customers,
  // package_orders). See schema.hpp.
  Schema schema = Schema::tenant();
  // Base of our payment routes as gateways reach them: "<public url>/payments".
  std::string callback_base_url = "http://127.0.0.1:8080/payments";
  // Which database a callback is for; part of every callback URL (see routes.hpp).
  std::string account = "t0";
  // How long an unpaid payment stays open (capped by its order's own deadline).
  std::chrono::seconds payment_ttl{std::chrono::hours(1)};
  domain::CardAmountRule card_rule;
  // Random numbers for card amount suffixes; default: the OS CSPRNG.
  std::function<std::uint64_t()> random;
  // How long a dispatcher owns an outbox item before another may retry it.
  std::chrono::seconds outbox_claim{60};
  // Tests only: called at named points ("after_gateway_paid", "after_start_call",
  // "after_refund_recorded", "after_gateway_refunded"); throwing
  // from it simulates a crash there.
  std::function<void(std::string_view point)> fault;
};

struct RecoveryReport {
  int polled = 0;                   // pending gateway payments asked again
  int settled = 0;                  // of those, now paid, credited, rejected or expired
  int abandoned = 0;                // `created` payments whose gateway call never finished: expired
  int refunds_resolved = 0;         // refunds whose answer was lost, settled by asking the gateway
  std::vector<std::string> errors;  // gateways that could not be reached (try again later)
};

class PaymentService {
 public:
  PaymentService(storage::Database& db, std::vector<std::shared_ptr<PaymentProvider>> providers, const Clock& clock,
                 ServiceOptions options = {});

  const ServiceOptions& options() const { return options_; }
  PaymentProvider* provider(PaymentMethod method) const;
  Ledger& ledger() { return ledger_; }

  // ---- exchange rates (set by the owner) ----
  Result<void> set_exchange_rate(const ExchangeRate& rate);
  // The rate joining a and b in either direction, or nullopt.
  Result<std::optional<ExchangeRate>> exchange_rate(Currency a, Currency b);

  // ---- starting ----
  // Pays order `order_id` (status pending or awaiting_payment) with `method`: converts the
  // price into the provider's currency, records the payment (created), calls the provider,
  // records pending + what the payer must do. For the wallet the debit, the payment and the
  // order move in one transaction. Failure: kNotFound (order), kConflict (order not payable),
  // kInvalidArgument (no provider for the method, no exchange rate), kLimitExceeded (wallet
  // balance too low), kUnavailable/kTimeout (the gateway; the payment is then expired).
  Result<Checkout> pay_order(std::int64_t order_id, PaymentMethod method, std::string description = {});
  // A wallet top-up of `amount` (in the wallet's currency) through any provider but the wallet.
  Result<Checkout> top_up(std::int64_t user_id, Money amount, PaymentMethod method, std::string description = {});

  Result<PaymentRecord> get(std::int64_t payment_id);

  // ---- card-to-card and review ----
  // The payer's receipt photo: pending or rejected (a resubmission) -> awaiting_review.
  // A receipt whose file_unique_id another payment already used is flagged receipt_reused
  // (and the owner told), still for a person to decide. Failure: kConflict (not waiting for
  // a receipt), kNotFound.
  Result<PaymentRecord> submit_receipt(std::int64_t payment_id, const std::string& file_id,
                                       const std::string& file_unique_id);
  // An admin's decision on a payment in awaiting_review. Works once: a second click (or a
  // concurrent one) fails with kConflict naming the state it is in now.
  Result<PaymentRecord> approve(std::int64_t payment_id, std::int64_t admin_id);
  Result<PaymentRecord> reject(std::int64_t payment_id, std::int64_t admin_id, std::string reason);

  // ---- Telegram Stars ----
  // Whether to answer a pre_checkout_query with ok. Failure: kInvalidArgument whose message
  // is an i18n key for the payer ("payment.precheckout.*").
  Result<void> pre_checkout(std::string_view invoice_payload, std::string_view currency, std::int64_t total_amount);
  // A successful_payment message. Deduplicated on the charge id.
  Result<Outcome> stars_paid(std::string_view invoice_payload, std::string_view currency, std::int64_t total_amount,
                             const std::string& telegram_payment_charge_id);

  // ---- gateways ----
  // Verifies (provider.parse_callback) and applies a callback. Failure: kUnauthenticated
  // (forged: nothing applied), kInvalidArgument (garbage), kUnavailable.
  Result<std::vector<Outcome>> handle_callback(PaymentMethod method, const http::Request& request);
  // Applies one verified report (polling first when it is only a claim).
  Result<Outcome> apply(PaymentMethod method, const GatewayReport& report);
  // Asks the gateway about one payment and applies the answer.
  Result<Outcome> poll(std::int64_t payment_id);
  // Refunds a paid payment through its provider: all that is left, or `amount` of it. The
  // refund is recorded `requested` before the gateway is called; once what was refunded
  // reaches what was paid the payment moves paid -> refunded (and the payer is told).
  // Exactly once: a refund whose answer was lost (timeout, crash) stays requested, and the
  // next refund() or recover() asks the gateway about it instead of refunding again (the
  // call then settles that one, whatever `amount` says).
  // Money the payment put into the payer's wallet (a top-up; a payment whose order was gone)
  // leaves the wallet first, in the same transaction that records the refund: the share of
  // what was credited (in the wallet's currency, after any exchange) that the refunds so far
  // cover, rounded up, so a full refund takes back exactly what was credited (ledger reason
  // top_up_refund). If the gateway then refuses, it is credited back once
  // (top_up_refund_reversed). Failure: kLimitExceeded (the wallet no longer holds it: spent;
  // nothing was recorded or asked), kConflict (not paid, or
  // the gateway says it is already refunded), kInvalidArgument (more than is left, another
  // currency, or the gateway refused), kPermissionDenied (no refunds, or no partial ones,
  // at this provider), kUnavailable/kTimeout (answer unknown: call again).
  Result<PaymentRecord> refund(std::int64_t payment_id, const std::string& reason,
                               std::optional<Money> amount = std::nullopt);
  // The payment's refunds, oldest first.
  Result<std::vector<RefundRecord>> refunds(std::int64_t payment_id);

  // ---- time and crashes ----
  // Expires created/pending payments past their deadline and cancels their unpaid orders
  // (cancel_reason 'expired'). awaiting_review never expires. Success: payments expired.
  Result<int> expire_due();
  // After a restart: polls every pending gateway payment and expires `created` ones whose
  // gateway call never finished. Run dispatch_outbox() after it.
  Result<RecoveryReport> recover();
  // Delivers due outbox items to `hook`, oldest first. Success: items completed.
  Result<int> dispatch_outbox(FulfilmentHook& hook, int max_items = 100);
  // Outbox items not yet done.
  Result<std::vector<OutboxItem>> pending_outbox();

 private:
  struct NewPayment;
  Result<Checkout> start_with(const NewPayment& spec, PaymentMethod method, std::string description);
  Result<Outcome> apply_to(PaymentMethod method, std::int64_t payment_id, const GatewayReport& report);
  Result<ProviderPayment> provider_view(const PaymentRecord& p);
  Result<PaymentRecord> refund_with(std::int64_t payment_id, const std::string& reason, std::optional<Money> amount,
                                    bool resume_only);

  storage::Database& db_;
  std::map<PaymentMethod, std::shared_ptr<PaymentProvider>> providers_;
  const Clock& clock_;
  ServiceOptions options_;
  const Schema& sc_;  // options_.schema
  Ledger ledger_;
};

// Catalog keys for what people read about payments in both bots (rendered by the bot's own
// catalog, so an owner's texts apply).
// "payment.state.awaiting_review": a payment's state named for a reviewer or a payer.
std::string state_key(domain::PaymentState state);
// The key that tells a payer why pre_checkout() refused: its own "payment.precheckout.*"
// key, and "payment.precheckout.unavailable" for anything that is not one.
std::string precheckout_refusal_key(const Error& refusal);

}  // namespace ms::payments
