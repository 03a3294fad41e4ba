#include "payments/service.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

#include "core/crypto/primitives.hpp"

namespace ms::payments {

using domain::PaymentPurpose;
using domain::PaymentState;
using storage::Row;
using storage::Session;
using storage::Value;

namespace {

constexpr std::string_view kColumns =
    "id, order_id, user_id, purpose, provider, provider_ref, amount_minor, currency, status, flag, flag_detail, "
    "received_minor, received_currency, payer_action, receipt_file_id, receipt_file_unique_id, reviewed_by, "
    "reject_reason, expires_at, paid_at, created_at, updated_at, charge_ref";

Value opt(const std::optional<std::string>& v) { return v ? Value{*v} : Value{}; }
Value opt(const std::optional<std::int64_t>& v) { return v ? Value{*v} : Value{}; }
std::string code(Currency c) { return std::string(currency_code(c)); }
std::string name(PaymentState s) { return std::string(domain::to_string(s)); }

Result<PaymentRecord> from_row(const Row& r) {
  PaymentRecord p;
  p.id = r.get_int("id");
  p.order_id = r.opt_int("order_id");
  p.user_id = r.get_int("user_id");
  auto purpose = domain::parse<PaymentPurpose>(r.get_string("purpose"));
  auto method = domain::parse<PaymentMethod>(r.get_string("provider"));
  auto state = domain::parse<PaymentState>(r.get_string("status"));
  auto currency = currency_from_code(r.get_string("currency"));
  if (!purpose || !method || !state || !currency)
    return fail(ErrorCode::kCorrupted, "payment " + std::to_string(p.id) +
                                           " has an unknown purpose, provider, "
                                           "status or currency");
  p.purpose = *purpose;
  p.method = *method;
  p.state = *state;
  p.amount = Money{r.get_int("amount_minor"), *currency};
  p.provider_ref = r.opt_string("provider_ref");
  p.flag = r.opt_string("flag");
  p.flag_detail = r.opt_string("flag_detail");
  if (auto rm = r.opt_int("received_minor")) {
    auto rc = currency_from_code(r.opt_string("received_currency").value_or(""));
    if (rc) p.received = Money{*rm, *rc};
  }
  if (auto action = r.opt_string("payer_action")) {
    auto j = nlohmann::json::parse(*action, nullptr, false);
    if (!j.is_discarded()) p.action = PayerAction::from_json(j);
  }
  p.receipt_file_id = r.opt_string("receipt_file_id");
  p.receipt_file_unique_id = r.opt_string("receipt_file_unique_id");
  p.reviewed_by = r.opt_int("reviewed_by");
  p.reject_reason = r.opt_string("reject_reason");
  p.expires_at = r.opt_int("expires_at");
  p.paid_at = r.opt_int("paid_at");
  p.charge_ref = r.opt_string("charge_ref");
  p.created_at = r.get_int("created_at");
  p.updated_at = r.get_int("updated_at");
  return p;
}

Result<std::optional<PaymentRecord>> load(Session& s, std::int64_t id) {
  auto row = s.query_one("SELECT " + std::string(kColumns) + " FROM payments WHERE id = :id", {{"id", id}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return std::optional<PaymentRecord>();
  auto p = from_row(**row);
  if (!p) return fail(std::move(p.error()));
  return std::optional<PaymentRecord>(std::move(*p));
}

Result<PaymentRecord> load_existing(Session& s, std::int64_t id) {
  auto p = load(s, id);
  if (!p) return fail(std::move(p.error()));
  if (!*p) return fail(ErrorCode::kNotFound, "payment " + std::to_string(id) + " does not exist");
  return std::move(**p);
}

Result<std::optional<ExchangeRate>> rate_in(Session& s, Currency a, Currency b) {
  auto row = s.query_one(
      "SELECT base, quote, quote_minor_per_base_major FROM exchange_rates WHERE (base = :a AND quote = :b) OR "
      "(base = :b2 AND quote = :a2) ORDER BY updated_at DESC LIMIT 1",
      {{"a", code(a)}, {"b", code(b)}, {"b2", code(b)}, {"a2", code(a)}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return std::optional<ExchangeRate>();
  auto base = currency_from_code((*row)->get_string("base"));
  auto quote = currency_from_code((*row)->get_string("quote"));
  if (!base || !quote) return fail(ErrorCode::kCorrupted, "exchange rate with an unknown currency");
  return std::optional<ExchangeRate>(ExchangeRate{*base, *quote, (*row)->get_int("quote_minor_per_base_major")});
}

Result<Money> convert_in(Session& s, Money amount, Currency to) {
  if (amount.currency == to) return amount;
  auto rate = rate_in(s, amount.currency, to);
  if (!rate) return fail(std::move(rate.error()));
  if (!*rate)
    return fail(ErrorCode::kInvalidArgument,
                "the owner has set no exchange rate between " + code(amount.currency) + " and " + code(to));
  return convert(amount, to, **rate);
}

Result<void> add_outbox(Session& s, std::string_view kind, std::string_view topic, const PaymentRecord& p,
                        nlohmann::json payload, std::int64_t now) {
  payload["payment_id"] = p.id;
  payload["user_id"] = p.user_id;
  if (p.order_id) payload["order_id"] = *p.order_id;
  auto r = s.exec(
      "INSERT INTO payment_outbox (kind, topic, payment_id, order_id, payload, created_at) "
      "VALUES (:kind, :topic, :payment, :order_id, :payload, :now) ON CONFLICT (kind, payment_id, topic) DO NOTHING",
      {{"kind", std::string(kind)},
       {"topic", std::string(topic)},
       {"payment", p.id},
       {"order_id", opt(p.order_id)},
       {"payload", payload.dump()},
       {"now", now}});
  if (!r) return fail(std::move(r.error()));
  return ok();
}

nlohmann::json money_json(Money m) { return {{"amount_minor", m.minor}, {"currency", currency_code(m.currency)}}; }

// Moves payment `id` from `from` to `to` with extra assignments; false when it was no
// longer in `from` (someone else moved it first).
Result<bool> claim(Session& s, std::int64_t id, PaymentState from, PaymentState to, std::string_view extra_set,
                   storage::Params extra, std::int64_t now) {
  if (!domain::can_transition(from, to)) return false;
  storage::Params params = {{"to", name(to)}, {"now", now}, {"id", id}, {"from", name(from)}};
  for (auto& p : extra) params.push_back(std::move(p));
  std::string sql = "UPDATE payments SET status = :to, updated_at = :now";
  if (!extra_set.empty()) sql += ", " + std::string(extra_set);
  sql += " WHERE id = :id AND status = :from";
  auto changed = s.exec(sql, params);
  if (!changed) return fail(std::move(changed.error()));
  return *changed == 1;
}

Result<std::int64_t> wallet_of(Session& s, std::int64_t user_id, Currency* currency) {
  auto row = s.query_one("SELECT currency, telegram_id FROM users WHERE id = :id", {{"id", user_id}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return fail(ErrorCode::kNotFound, "user " + std::to_string(user_id) + " does not exist");
  auto c = currency_from_code((*row)->get_string("currency"));
  if (!c) return fail(ErrorCode::kCorrupted, "user " + std::to_string(user_id) + " has an unknown wallet currency");
  if (currency) *currency = *c;
  return (*row)->get_int("telegram_id");
}

// Marks a payment that cannot be credited automatically; moves it to awaiting_review where
// the machine allows (pending), else only records the flag. The owner is told.
Result<Outcome> flag_payment(Session& s, const PaymentRecord& p, std::string_view flag, const std::string& detail,
                             std::optional<Money> received, std::int64_t now) {
  storage::Params extra = {{"flag", std::string(flag)},
                           {"detail", detail},
                           {"rm", received ? Value{received->minor} : Value{}},
                           {"rc", received ? Value{code(received->currency)} : Value{}}};
  const char* set = "flag = :flag, flag_detail = :detail, received_minor = :rm, received_currency = :rc";
  bool moved = false;
  if (domain::can_transition(p.state, PaymentState::kAwaitingReview)) {
    auto c = claim(s, p.id, p.state, PaymentState::kAwaitingReview, set, extra, now);
    if (!c) return fail(std::move(c.error()));
    if (!*c) return Outcome::kAlreadyApplied;
    moved = true;
  } else {
    extra.push_back({"id", p.id});
    extra.push_back({"status", name(p.state)});
    extra.push_back({"now", now});
    auto changed = s.exec(std::string("UPDATE payments SET ") + set +
                              ", updated_at = :now WHERE id = :id AND status = :status AND flag IS NULL",
                          extra);
    if (!changed) return fail(std::move(changed.error()));
    if (*changed == 0) return Outcome::kAlreadyApplied;
  }
  nlohmann::json payload = {{"flag", flag}, {"detail", detail}, {"expected", money_json(p.amount)}};
  if (received) payload["received"] = money_json(*received);
  payload["moved_to_review"] = moved;
  if (auto r = add_outbox(s, "owner_notice", flag, p, payload, now); !r) return fail(std::move(r.error()));
  return Outcome::kFlagged;
}

// The payment is now paid (its row already says so): credit what it paid for.
Result<Outcome> credit_paid(Session& s, const PaymentRecord& p, Money received, std::int64_t now) {
  Currency wallet_currency = Currency::kIrr;
  auto tg = wallet_of(s, p.user_id, &wallet_currency);
  if (!tg) return fail(std::move(tg.error()));
  const std::string ref = "payment:" + std::to_string(p.id);
  if (p.purpose == PaymentPurpose::kWalletTopUp) {
    auto amount = convert_in(s, received, wallet_currency);
    if (!amount) return fail(std::move(amount.error()));
    auto applied =
        Ledger::apply(s, LedgerChange{p.user_id, *amount, domain::LedgerReason::kTopUp, ref, std::nullopt}, now);
    if (!applied && applied.error().code != ErrorCode::kAlreadyExists) return fail(std::move(applied.error()));
    if (auto r = add_outbox(s, "user_notice", "top_up_credited", p, {{"credited", money_json(*amount)}}, now); !r)
      return fail(std::move(r.error()));
    return Outcome::kPaid;
  }
  if (p.order_id) {
    auto paid = s.exec(
        "UPDATE orders SET status = 'paid', updated_at = :now WHERE id = :id AND status IN ('pending', "
        "'awaiting_payment')",
        {{"now", now}, {"id", *p.order_id}});
    if (!paid) return fail(std::move(paid.error()));
    if (*paid == 1) {
      if (auto r = add_outbox(s, "fulfil_order", "", p, {{"paid", money_json(received)}}, now); !r)
        return fail(std::move(r.error()));
      return Outcome::kPaid;
    }
  }
  // The order expired, was cancelled or was paid by another payment: the money is the
  // payer's, so it goes to the wallet, and the owner is told.
  auto amount = convert_in(s, received, wallet_currency);
  if (!amount) return fail(std::move(amount.error()));
  auto applied = Ledger::apply(
      s, LedgerChange{p.user_id, *amount, domain::LedgerReason::kUnmatchedPayment, ref, "order not payable any more"},
      now);
  if (!applied && applied.error().code != ErrorCode::kAlreadyExists) return fail(std::move(applied.error()));
  nlohmann::json payload = {{"paid", money_json(received)}, {"credited", money_json(*amount)}};
  if (auto r = add_outbox(s, "owner_notice", "paid_after_expiry", p, payload, now); !r)
    return fail(std::move(r.error()));
  if (auto r = add_outbox(s, "user_notice", "credited_to_wallet", p, payload, now); !r)
    return fail(std::move(r.error()));
  return Outcome::kCreditedToWallet;
}

// Moves a payment to paid and credits it. kAlreadyApplied when someone else moved it first.
Result<Outcome> settle(Session& s, const PaymentRecord& p, Money received, const std::optional<std::string>& ref,
                       std::optional<std::int64_t> reviewer, std::int64_t now) {
  std::string set =
      "paid_at = :paid, received_minor = :rm, received_currency = :rc, provider_ref = COALESCE(provider_ref, :ref)";
  storage::Params extra = {{"paid", now}, {"rm", received.minor}, {"rc", code(received.currency)}, {"ref", opt(ref)}};
  if (reviewer) {
    set += ", reviewed_by = :rev, reviewed_at = :rev_at";
    extra.push_back({"rev", *reviewer});
    extra.push_back({"rev_at", now});
  }
  auto c = claim(s, p.id, p.state, PaymentState::kPaid, set, std::move(extra), now);
  if (!c) return fail(std::move(c.error()));
  if (!*c) return Outcome::kAlreadyApplied;
  // A payment that had expired is settled to the wallet even if its order is still open:
  // expiry already cancelled the order (expire_due), and a late payment must not revive it.
  if (p.state == PaymentState::kExpired && p.order_id) {
    auto cancelled = s.exec(
        "UPDATE orders SET status = 'cancelled', cancel_reason = 'expired', updated_at = :now WHERE id = :id AND "
        "status IN ('pending', 'awaiting_payment') AND NOT EXISTS (SELECT 1 FROM payments WHERE order_id = :id2 "
        "AND id <> :pid AND status IN ('created', 'pending', 'awaiting_review'))",
        {{"now", now}, {"id", *p.order_id}, {"id2", *p.order_id}, {"pid", p.id}});
    if (!cancelled) return fail(std::move(cancelled.error()));
  }
  return credit_paid(s, p, received, now);
}

Result<Outcome> apply_paid(Session& s, const PaymentRecord& p, const GatewayReport& r, std::int64_t now) {
  switch (p.state) {
    case PaymentState::kPaid:
    case PaymentState::kRefunded:
    case PaymentState::kAwaitingReview: return Outcome::kAlreadyApplied;
    case PaymentState::kRejected:
      return flag_payment(s, p, "paid_after_reject", "the gateway reports money for a rejected payment", r.paid, now);
    case PaymentState::kCreated:
    case PaymentState::kPending:
    case PaymentState::kExpired: break;
  }
  Money received = r.paid.value_or(p.amount);
  if (received.currency != p.amount.currency)
    return flag_payment(s, p, "currency_mismatch",
                        "expected " + code(p.amount.currency) + ", received " + code(received.currency), received, now);
  if (received.minor < p.amount.minor)
    return flag_payment(s, p, "amount_mismatch",
                        "expected " + to_decimal(p.amount) + ", received " + to_decimal(received), received, now);
  // Money that must go to the wallet in another currency needs the owner's rate; without
  // one a person decides (failing here would make the gateway retry forever).
  if (p.purpose == PaymentPurpose::kWalletTopUp || p.state == PaymentState::kExpired) {
    Currency wallet = Currency::kIrr;
    if (auto w = wallet_of(s, p.user_id, &wallet); !w) return fail(std::move(w.error()));
    auto converted = convert_in(s, received, wallet);
    if (!converted && converted.error().code == ErrorCode::kInvalidArgument)
      return flag_payment(s, p, "no_exchange_rate", converted.error().message, received, now);
  }
  PaymentRecord from = p;
  if (from.state == PaymentState::kCreated) {
    // A gateway can answer before we recorded pending (e.g. a webhook racing the start call).
    auto c = claim(s, p.id, PaymentState::kCreated, PaymentState::kPending, "", {}, now);
    if (!c) return fail(std::move(c.error()));
    if (!*c) return Outcome::kAlreadyApplied;
    from.state = PaymentState::kPending;
  }
  auto out = settle(s, from, received, r.provider_ref, std::nullopt, now);
  if (out && *out != Outcome::kAlreadyApplied && received.minor > p.amount.minor) {
    nlohmann::json payload = {{"expected", money_json(p.amount)}, {"received", money_json(received)}};
    if (auto n = add_outbox(s, "owner_notice", "overpaid", p, payload, now); !n) return fail(std::move(n.error()));
  }
  return out;
}

// Expires a payment; with `cancel_order` its order too when no other payment is open.
Result<Outcome> expire_in(Session& s, const PaymentRecord& p, std::int64_t now, std::string_view why,
                          bool cancel_order = true) {
  auto c = claim(s, p.id, p.state, PaymentState::kExpired, "reject_reason = COALESCE(reject_reason, :why)",
                 {{"why", std::string(why)}}, now);
  if (!c) return fail(std::move(c.error()));
  if (!*c) return Outcome::kAlreadyApplied;
  if (p.order_id && cancel_order) {
    auto cancelled = s.exec(
        "UPDATE orders SET status = 'cancelled', cancel_reason = 'expired', updated_at = :now WHERE id = :id AND "
        "status IN ('pending', 'awaiting_payment') AND NOT EXISTS (SELECT 1 FROM payments WHERE order_id = :id2 "
        "AND status IN ('created', 'pending', 'awaiting_review'))",
        {{"now", now}, {"id", *p.order_id}, {"id2", *p.order_id}});
    if (!cancelled) return fail(std::move(cancelled.error()));
  }
  return Outcome::kExpired;
}

Result<Outcome> apply_in(Session& s, PaymentMethod method, std::int64_t payment_id, const GatewayReport& r,
                         std::int64_t now) {
  auto loaded = load_existing(s, payment_id);
  if (!loaded) return fail(std::move(loaded.error()));
  const PaymentRecord& p = *loaded;
  if (p.method != method)
    return fail(ErrorCode::kInvalidArgument,
                "payment " + std::to_string(p.id) + " was not made with " + std::string(domain::to_string(method)));
  if (!r.event_key.empty()) {
    auto logged = s.query_one(
        "INSERT INTO payment_events (payment_id, provider, event_key, status, outcome, created_at) "
        "VALUES (:p, :provider, :key, :status, 'received', :now) ON CONFLICT (provider, event_key) DO NOTHING "
        "RETURNING id",
        {{"p", p.id},
         {"provider", std::string(domain::to_string(method))},
         {"key", r.event_key},
         {"status", std::string(to_string(r.status))},
         {"now", now}});
    if (!logged) return fail(std::move(logged.error()));
    if (!*logged) return Outcome::kAlreadyApplied;
  }
  if (r.charge_ref && !r.charge_ref->empty() && !p.charge_ref) {
    // Kept whatever happens next (paid, flagged for review): a refund needs it.
    auto kept = s.exec("UPDATE payments SET charge_ref = :c WHERE id = :id AND charge_ref IS NULL",
                       {{"c", *r.charge_ref}, {"id", p.id}});
    if (!kept) return fail(std::move(kept.error()));
  }
  switch (r.status) {
    case GatewayStatus::kPending:
    case GatewayStatus::kClaimedPaid: return Outcome::kNoChange;
    case GatewayStatus::kPaid: return apply_paid(s, p, r, now);
    case GatewayStatus::kPartiallyPaid:
      if (p.state != PaymentState::kPending && p.state != PaymentState::kCreated && p.state != PaymentState::kExpired)
        return Outcome::kAlreadyApplied;
      return flag_payment(s, p, "partially_paid",
                          r.paid ? "received " + to_decimal(*r.paid) + " of " + to_decimal(p.amount) : "partial",
                          r.paid, now);
    case GatewayStatus::kFailed: {
      if (!domain::can_transition(p.state, PaymentState::kRejected) || p.state == PaymentState::kAwaitingReview)
        return Outcome::kNoChange;
      auto c = claim(s, p.id, p.state, PaymentState::kRejected, "reject_reason = :why", {{"why", r.summary}}, now);
      if (!c) return fail(std::move(c.error()));
      if (!*c) return Outcome::kAlreadyApplied;
      if (auto n = add_outbox(s, "user_notice", "payment_rejected", p, {{"reason", r.summary}}, now); !n)
        return fail(std::move(n.error()));
      return Outcome::kRejected;
    }
    case GatewayStatus::kExpired:
      if (p.state != PaymentState::kPending && p.state != PaymentState::kCreated) return Outcome::kNoChange;
      return expire_in(s, p, now, "the gateway's deadline passed");
    case GatewayStatus::kRefunded: {
      auto c = claim(s, p.id, p.state, PaymentState::kRefunded, "", {}, now);
      if (!c) return fail(std::move(c.error()));
      return *c ? Outcome::kRefunded : Outcome::kNoChange;
    }
  }
  return Outcome::kNoChange;
}

// A review that someone else already made (approve/reject buttons work once).
Error already_reviewed(const PaymentRecord& p) {
  const std::string who = p.reviewed_by ? " by " + std::to_string(*p.reviewed_by) : "";
  return Error{ErrorCode::kConflict, "payment " + std::to_string(p.id) + " is already " + name(p.state) + who};
}

std::uint64_t os_random() {
  std::string bytes = crypto::random_bytes(8);
  std::uint64_t v = 0;
  for (unsigned char b : bytes) v = (v << 8) | b;
  return v;
}

}  // namespace

std::optional<std::int64_t> payment_id_from_reference(std::string_view reference) {
  if (reference.substr(0, 4) != "pay-") return std::nullopt;
  std::string_view digits = reference.substr(4);
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || p != digits.data() + digits.size() || id <= 0) return std::nullopt;
  return id;
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPaid: return "paid";
    case Outcome::kCreditedToWallet: return "credited_to_wallet";
    case Outcome::kFlagged: return "flagged";
    case Outcome::kRejected: return "rejected";
    case Outcome::kExpired: return "expired";
    case Outcome::kRefunded: return "refunded";
    case Outcome::kNoChange: return "no_change";
    case Outcome::kAlreadyApplied: return "already_applied";
  }
  return "no_change";
}

PaymentService::PaymentService(storage::Database& db, std::vector<std::shared_ptr<PaymentProvider>> providers,
                               const Clock& clock, ServiceOptions options)
    : db_(db), clock_(clock), options_(std::move(options)), ledger_(db, clock) {
  for (auto& p : providers) providers_[p->method()] = std::move(p);
  if (!options_.random) options_.random = os_random;
}

PaymentProvider* PaymentService::provider(PaymentMethod method) const {
  auto it = providers_.find(method);
  return it == providers_.end() ? nullptr : it->second.get();
}

Result<void> PaymentService::set_exchange_rate(const ExchangeRate& rate) {
  if (rate.quote_minor_per_base_major <= 0 || rate.base == rate.quote)
    return fail(ErrorCode::kInvalidArgument, "an exchange rate joins two currencies with a positive rate");
  const std::int64_t now = clock_.unix_seconds();
  return db_.transaction([&](Session& s) -> Result<void> {
    // One row per pair, whichever direction it was set in.
    auto del =
        s.exec("DELETE FROM exchange_rates WHERE (base = :a AND quote = :b) OR (base = :b2 AND quote = :a2)",
               {{"a", code(rate.base)}, {"b", code(rate.quote)}, {"b2", code(rate.quote)}, {"a2", code(rate.base)}});
    if (!del) return fail(std::move(del.error()));
    auto ins = s.exec(
        "INSERT INTO exchange_rates (base, quote, quote_minor_per_base_major, updated_at) VALUES (:b, :q, :r, :now)",
        {{"b", code(rate.base)}, {"q", code(rate.quote)}, {"r", rate.quote_minor_per_base_major}, {"now", now}});
    if (!ins) return fail(std::move(ins.error()));
    return ok();
  });
}

Result<std::optional<ExchangeRate>> PaymentService::exchange_rate(Currency a, Currency b) {
  return db_.with_session([&](Session& s) { return rate_in(s, a, b); });
}

Result<PaymentRecord> PaymentService::get(std::int64_t payment_id) {
  return db_.with_session([&](Session& s) { return load_existing(s, payment_id); });
}

// ---- starting -------------------------------------------------------------------------------

struct PaymentService::NewPayment {
  std::optional<std::int64_t> order_id;
  std::int64_t user_id = 0;
  PaymentPurpose purpose = PaymentPurpose::kOrder;
  Money price;  // in the order's / wallet's currency
  std::optional<std::int64_t> order_deadline;
};

Result<Checkout> PaymentService::pay_order(std::int64_t order_id, PaymentMethod method, std::string description) {
  auto order = db_.with_session([&](Session& s) -> Result<NewPayment> {
    auto row = s.query_one("SELECT user_id, status, amount_minor, currency, expires_at FROM orders WHERE id = :id",
                           {{"id", order_id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return fail(ErrorCode::kNotFound, "order " + std::to_string(order_id) + " does not exist");
    const std::string status = (*row)->get_string("status");
    if (status != "pending" && status != "awaiting_payment")
      return fail(ErrorCode::kConflict, "order " + std::to_string(order_id) + " is " + status + ", not payable");
    auto c = currency_from_code((*row)->get_string("currency"));
    if (!c) return fail(ErrorCode::kCorrupted, "order " + std::to_string(order_id) + " has an unknown currency");
    return NewPayment{order_id, (*row)->get_int("user_id"), PaymentPurpose::kOrder,
                      Money{(*row)->get_int("amount_minor"), *c}, (*row)->opt_int("expires_at")};
  });
  if (!order) return fail(std::move(order.error()));
  if (description.empty()) description = "Order " + std::to_string(order_id);
  const std::int64_t now = clock_.unix_seconds();
  if (order->order_deadline && *order->order_deadline <= now)
    return fail(ErrorCode::kConflict, "order " + std::to_string(order_id) + " has expired");

  if (method == PaymentMethod::kWallet) {
    // One transaction: the debit, the paid payment and the paid order stand or fall together.
    auto done = db_.transaction([&](Session& s) -> Result<std::int64_t> {
      Currency wallet = Currency::kIrr;
      if (auto w = wallet_of(s, order->user_id, &wallet); !w) return fail(std::move(w.error()));
      auto price = convert_in(s, order->price, wallet);
      if (!price) return fail(std::move(price.error()));
      auto ins = s.query_one(
          "INSERT INTO payments (order_id, user_id, purpose, provider, amount_minor, currency, status, payer_action, "
          "paid_at, received_minor, received_currency, created_at, updated_at) VALUES (:o, :u, 'order', 'wallet', :a, "
          ":c, 'paid', :action, :now, :a2, :c2, :now2, :now3) RETURNING id",
          {{"o", order_id},
           {"u", order->user_id},
           {"a", price->minor},
           {"c", code(price->currency)},
           {"action", PayerAction{}.to_json().dump()},
           {"now", now},
           {"a2", price->minor},
           {"c2", code(price->currency)},
           {"now2", now},
           {"now3", now}});
      if (!ins) return fail(std::move(ins.error()));
      const std::int64_t pid = (*ins)->get_int("id");
      auto debit = Ledger::apply(
          s,
          LedgerChange{order->user_id, Money{-price->minor, price->currency}, domain::LedgerReason::kPurchase,
                       "order:" + std::to_string(order_id), std::nullopt},
          now);
      if (!debit) return fail(std::move(debit.error()));
      auto paid = s.exec(
          "UPDATE orders SET status = 'paid', updated_at = :now WHERE id = :id AND status IN ('pending', "
          "'awaiting_payment')",
          {{"now", now}, {"id", order_id}});
      if (!paid) return fail(std::move(paid.error()));
      if (*paid != 1) return fail(ErrorCode::kLimitExceeded, "order is no longer payable");
      PaymentRecord p;
      p.id = pid;
      p.user_id = order->user_id;
      p.order_id = order_id;
      if (auto r = add_outbox(s, "fulfil_order", "", p, {{"paid", money_json(*price)}}, now); !r)
        return fail(std::move(r.error()));
      return pid;
    });
    if (!done) return fail(std::move(done.error()));
    auto p = get(*done);
    if (!p) return fail(std::move(p.error()));
    return Checkout{*p, p->action};
  }
  return start_with(*order, method, std::move(description));
}

Result<Checkout> PaymentService::top_up(std::int64_t user_id, Money amount, PaymentMethod method,
                                        std::string description) {
  if (method == PaymentMethod::kWallet)
    return fail(ErrorCode::kInvalidArgument, "a wallet is not topped up from itself");
  if (amount.minor <= 0) return fail(ErrorCode::kInvalidArgument, "a top-up must be positive");
  auto currency = db_.with_session([&](Session& s) -> Result<Currency> {
    Currency c = Currency::kIrr;
    auto w = wallet_of(s, user_id, &c);
    if (!w) return fail(std::move(w.error()));
    return c;
  });
  if (!currency) return fail(std::move(currency.error()));
  if (*currency != amount.currency)
    return fail(ErrorCode::kInvalidArgument, "the wallet is in " + code(*currency) + ", not " + code(amount.currency));
  if (description.empty()) description = "Wallet top-up";
  return start_with(NewPayment{std::nullopt, user_id, PaymentPurpose::kWalletTopUp, amount, std::nullopt}, method,
                    std::move(description));
}

Result<Checkout> PaymentService::start_with(const NewPayment& spec, PaymentMethod method, std::string description) {
  PaymentProvider* prov = provider(method);
  if (prov == nullptr)
    return fail(ErrorCode::kInvalidArgument, std::string(domain::to_string(method)) + " is not enabled for this shop");
  const std::int64_t now = clock_.unix_seconds();
  std::int64_t deadline = now + options_.payment_ttl.count();
  if (spec.order_deadline && *spec.order_deadline < deadline) deadline = *spec.order_deadline;
  const bool card = method == PaymentMethod::kCardToCard;

  // 1. Record the payment (created) before the gateway hears of it.
  Result<PaymentRecord> created = fail(ErrorCode::kInternal, "not attempted");
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::uint64_t random = options_.random();
    created = db_.transaction([&](Session& s) -> Result<PaymentRecord> {
      auto amount = convert_in(s, spec.price, prov->currency());
      if (!amount) return fail(std::move(amount.error()));
      if (card) {
        // A unique amount among open card payments, so a transfer can be matched to one order.
        auto rows = s.query(
            "SELECT amount_minor FROM payments WHERE provider = 'card_to_card' AND currency = :c AND status IN "
            "('created', 'pending', 'awaiting_review')",
            {{"c", code(amount->currency)}});
        if (!rows) return fail(std::move(rows.error()));
        std::vector<std::int64_t> in_use;
        for (const auto& r : *rows) in_use.push_back(r.get_int("amount_minor"));
        auto unique = domain::unique_card_amount(*amount, random, in_use, options_.card_rule);
        if (!unique) return fail(std::move(unique.error()));
        *amount = *unique;
      }
      auto ins = s.query_one(
          "INSERT INTO payments (order_id, user_id, purpose, provider, amount_minor, currency, status, expires_at, "
          "created_at, updated_at) VALUES (:o, :u, :purpose, :provider, :a, :c, 'created', :exp, :now, :now2) "
          "RETURNING id",
          {{"o", opt(spec.order_id)},
           {"u", spec.user_id},
           {"purpose", std::string(domain::to_string(spec.purpose))},
           {"provider", std::string(domain::to_string(method))},
           {"a", amount->minor},
           {"c", code(amount->currency)},
           {"exp", deadline},
           {"now", now},
           {"now2", now}});
      if (!ins) return fail(std::move(ins.error()));
      if (spec.order_id) {
        auto moved = s.exec(
            "UPDATE orders SET status = 'awaiting_payment', expires_at = COALESCE(expires_at, :exp), updated_at = :now "
            "WHERE id = :id AND status IN ('pending', 'awaiting_payment')",
            {{"exp", deadline}, {"now", now}, {"id", *spec.order_id}});
        if (!moved) return fail(std::move(moved.error()));
        if (*moved != 1) return fail(ErrorCode::kLimitExceeded, "order is no longer payable");
      }
      return load_existing(s, (*ins)->get_int("id"));
    });
    // Another open card payment took the same amount at the same moment: draw again.
    if (created || created.error().code != ErrorCode::kAlreadyExists || !card) break;
  }
  if (!created) {
    if (created.error().code == ErrorCode::kLimitExceeded)
      return fail(ErrorCode::kConflict, "order " + std::to_string(spec.order_id.value_or(0)) + " is no longer payable");
    return fail(std::move(created.error()));
  }
  PaymentRecord p = std::move(*created);

  // 2. The side effect: the gateway creates its invoice / session / order.
  StartRequest req;
  req.payment_id = p.id;
  req.reference = p.reference();
  req.amount = p.amount;
  req.description = std::move(description);
  const std::string base =
      options_.callback_base_url + "/" + std::string(domain::to_string(method)) + "/" + options_.account;
  req.callback_url = base + (method == PaymentMethod::kZarinpal ? "/callback" : "/webhook");
  req.return_url = base + "/return";
  req.expires_at = deadline;
  auto started = prov->start(req);
  if (options_.fault) options_.fault("after_start_call");
  if (!started) {
    // Nothing was handed to the payer: close the payment so it never blocks an amount.
    auto closed = db_.transaction([&](Session& s) -> Result<Outcome> {
      // The order stays payable: the payer may try again or choose another method.
      return expire_in(s, p, clock_.unix_seconds(), "the gateway did not start: " + started.error().message, false);
    });
    if (!closed) spdlog::warn("payment {}: cannot close after a failed start: {}", p.id, closed.error().message);
    return fail(std::move(started.error()));
  }

  // 3. Record what the gateway gave us and what the payer must do.
  const std::string action = started->action.to_json().dump();
  auto pending = db_.transaction([&](Session& s) -> Result<bool> {
    return claim(s, p.id, PaymentState::kCreated, PaymentState::kPending,
                 "provider_ref = COALESCE(:ref, provider_ref), payer_action = :action",
                 {{"ref", opt(started->provider_ref)}, {"action", action}}, clock_.unix_seconds());
  });
  if (!pending) return fail(std::move(pending.error()));
  auto fresh = get(p.id);
  if (!fresh) return fail(std::move(fresh.error()));
  return Checkout{*fresh, started->action};
}

// ---- card-to-card and review -----------------------------------------------------------------

Result<PaymentRecord> PaymentService::submit_receipt(std::int64_t payment_id, const std::string& file_id,
                                                     const std::string& file_unique_id) {
  if (file_id.empty() || file_unique_id.empty())
    return fail(ErrorCode::kInvalidArgument, "a receipt needs the photo's file_id and file_unique_id");
  const std::int64_t now = clock_.unix_seconds();
  struct Moved {
    bool ok = false;
    std::string state;
  };
  auto moved = db_.transaction([&](Session& s) -> Result<Moved> {
    auto p = load_existing(s, payment_id);
    if (!p) return fail(std::move(p.error()));
    if (p->method != PaymentMethod::kCardToCard)
      return fail(ErrorCode::kInvalidArgument, "only card-to-card payments take a receipt");
    if (p->state != PaymentState::kPending && p->state != PaymentState::kRejected) return Moved{false, name(p->state)};
    auto other =
        s.query_one("SELECT id FROM payments WHERE receipt_file_unique_id = :u AND id <> :id ORDER BY id LIMIT 1",
                    {{"u", file_unique_id}, {"id", payment_id}});
    if (!other) return fail(std::move(other.error()));
    std::optional<std::string> flag;
    std::optional<std::string> detail;
    if (*other) {
      flag = "receipt_reused";
      detail = "the same photo was sent for payment " + std::to_string((*other)->get_int("id"));
    }
    // A resubmission walks rejected -> pending -> awaiting_review in one step.
    PaymentState from = p->state;
    if (from == PaymentState::kRejected) {
      auto c = claim(s, payment_id, from, PaymentState::kPending, "", {}, now);
      if (!c) return fail(std::move(c.error()));
      if (!*c) return Moved{false, "changed"};
      from = PaymentState::kPending;
    }
    auto c = claim(s, payment_id, from, PaymentState::kAwaitingReview,
                   "receipt_file_id = :f, receipt_file_unique_id = :u, flag = :flag, flag_detail = :detail, "
                   "reviewed_by = NULL, reviewed_at = NULL, reject_reason = NULL",
                   {{"f", file_id}, {"u", file_unique_id}, {"flag", opt(flag)}, {"detail", opt(detail)}}, now);
    if (!c) return fail(std::move(c.error()));
    if (!*c) return Moved{false, "changed"};
    if (flag) {
      if (auto r = add_outbox(s, "owner_notice", "receipt_reused", *p,
                              {{"detail", *detail}, {"file_unique_id", file_unique_id}}, now);
          !r)
        return fail(std::move(r.error()));
    }
    return Moved{true, {}};
  });
  if (!moved) {
    if (moved.error().code == ErrorCode::kAlreadyExists)
      return fail(ErrorCode::kConflict, "another open order now uses this amount; start a new payment");
    return fail(std::move(moved.error()));
  }
  if (!moved->ok)
    return fail(ErrorCode::kConflict,
                "payment " + std::to_string(payment_id) + " is " + moved->state + ", not waiting for a receipt");
  return get(payment_id);
}

Result<PaymentRecord> PaymentService::approve(std::int64_t payment_id, std::int64_t admin_id) {
  const std::int64_t now = clock_.unix_seconds();
  auto out = db_.transaction([&](Session& s) -> Result<std::optional<PaymentRecord>> {
    auto p = load_existing(s, payment_id);
    if (!p) return fail(std::move(p.error()));
    if (p->state != PaymentState::kAwaitingReview) return std::optional<PaymentRecord>(*p);
    auto settled = settle(s, *p, p->received && p->method != PaymentMethod::kCardToCard ? *p->received : p->amount,
                          std::nullopt, admin_id, now);
    if (!settled) return fail(std::move(settled.error()));
    if (*settled == Outcome::kAlreadyApplied) {
      auto again = load_existing(s, payment_id);
      if (!again) return fail(std::move(again.error()));
      return std::optional<PaymentRecord>(*again);
    }
    return std::optional<PaymentRecord>();
  });
  if (!out) return fail(std::move(out.error()));
  if (*out) return fail(already_reviewed(**out));
  return get(payment_id);
}

Result<PaymentRecord> PaymentService::reject(std::int64_t payment_id, std::int64_t admin_id, std::string reason) {
  const std::int64_t now = clock_.unix_seconds();
  auto out = db_.transaction([&](Session& s) -> Result<std::optional<PaymentRecord>> {
    auto p = load_existing(s, payment_id);
    if (!p) return fail(std::move(p.error()));
    if (p->state == PaymentState::kAwaitingReview) {
      auto c = claim(s, payment_id, p->state, PaymentState::kRejected,
                     "reviewed_by = :admin, reviewed_at = :at, reject_reason = :why",
                     {{"admin", admin_id}, {"at", now}, {"why", reason}}, now);
      if (!c) return fail(std::move(c.error()));
      if (*c) {
        if (auto r = add_outbox(s, "user_notice", "payment_rejected", *p, {{"reason", reason}}, now); !r)
          return fail(std::move(r.error()));
        return std::optional<PaymentRecord>();
      }
    }
    auto again = load_existing(s, payment_id);
    if (!again) return fail(std::move(again.error()));
    return std::optional<PaymentRecord>(*again);
  });
  if (!out) return fail(std::move(out.error()));
  if (*out) return fail(already_reviewed(**out));
  return get(payment_id);
}

// ---- Telegram Stars --------------------------------------------------------------------------

Result<void> PaymentService::pre_checkout(std::string_view invoice_payload, std::string_view currency,
                                          std::int64_t total_amount) {
  auto id = payment_id_from_reference(invoice_payload);
  if (!id) return fail(ErrorCode::kInvalidArgument, "payment.precheckout.unknown");
  auto p = get(*id);
  if (!p) {
    if (p.error().code == ErrorCode::kNotFound) return fail(ErrorCode::kInvalidArgument, "payment.precheckout.unknown");
    return fail(ErrorCode::kUnavailable, "payment.precheckout.unavailable");
  }
  if (p->method != PaymentMethod::kTelegramStars)
    return fail(ErrorCode::kInvalidArgument, "payment.precheckout.unknown");
  if (p->state == PaymentState::kPaid || p->state == PaymentState::kRefunded)
    return fail(ErrorCode::kInvalidArgument, "payment.precheckout.already_paid");
  if (p->state != PaymentState::kPending || (p->expires_at && *p->expires_at <= clock_.unix_seconds()))
    return fail(ErrorCode::kInvalidArgument, "payment.precheckout.expired");
  if (currency != "XTR" || total_amount != p->amount.minor)
    return fail(ErrorCode::kInvalidArgument, "payment.precheckout.amount_mismatch");
  return ok();
}

Result<Outcome> PaymentService::stars_paid(std::string_view invoice_payload, std::string_view currency,
                                           std::int64_t total_amount, const std::string& telegram_payment_charge_id) {
  if (telegram_payment_charge_id.empty()) return fail(ErrorCode::kInvalidArgument, "no telegram_payment_charge_id");
  auto id = payment_id_from_reference(invoice_payload);
  if (!id) return fail(ErrorCode::kNotFound, "successful_payment for an invoice we did not send");
  GatewayReport r;
  r.reference = std::string(invoice_payload);
  r.provider_ref = telegram_payment_charge_id;
  r.status = GatewayStatus::kPaid;
  auto c = currency_from_code(currency);
  // An unknown currency can never match: record it as a mismatch in Stars units.
  r.paid = Money{total_amount, c.value_or(Currency::kXtr)};
  if (!c) r.paid = Money{-1, Currency::kXtr};
  r.event_key = "charge:" + telegram_payment_charge_id;
  r.charge_ref = telegram_payment_charge_id;
  r.summary = "successful_payment";
  return apply_to(PaymentMethod::kTelegramStars, *id, r);
}

// ---- gateways ---------------------------------------------------------------------------------

Result<Outcome> PaymentService::apply_to(PaymentMethod method, std::int64_t payment_id, const GatewayReport& report) {
  const std::int64_t now = clock_.unix_seconds();
  auto out = db_.transaction([&](Session& s) { return apply_in(s, method, payment_id, report, now); });
  // A duplicate key here is a concurrent copy of the same notification or charge id.
  if (!out && out.error().code == ErrorCode::kAlreadyExists) return Outcome::kAlreadyApplied;
  return out;
}

Result<ProviderPayment> PaymentService::provider_view(const PaymentRecord& p) {
  auto tg = db_.with_session([&](Session& s) { return wallet_of(s, p.user_id, nullptr); });
  if (!tg) return fail(std::move(tg.error()));
  return ProviderPayment{p.id, p.reference(), p.provider_ref, p.amount, *tg};
}

Result<Outcome> PaymentService::apply(PaymentMethod method, const GatewayReport& report) {
  std::optional<std::int64_t> id;
  if (report.reference) id = payment_id_from_reference(*report.reference);
  if (!id && report.provider_ref) {
    auto found = db_.with_session([&](Session& s) -> Result<std::optional<std::int64_t>> {
      auto row = s.query_one("SELECT id FROM payments WHERE provider = :p AND provider_ref = :r",
                             {{"p", std::string(domain::to_string(method))}, {"r", *report.provider_ref}});
      if (!row) return fail(std::move(row.error()));
      if (!*row) return std::optional<std::int64_t>();
      return std::optional<std::int64_t>((*row)->get_int("id"));
    });
    if (!found) return fail(std::move(found.error()));
    id = *found;
  }
  if (!id) return fail(ErrorCode::kNotFound, "the gateway reports a payment we do not know");
  if (report.status != GatewayStatus::kClaimedPaid) return apply_to(method, *id, report);
  // Only a hint (unsigned redirect, approval): ask the gateway, which also completes it.
  return poll(*id);
}

Result<std::vector<Outcome>> PaymentService::handle_callback(PaymentMethod method, const http::Request& request) {
  PaymentProvider* prov = provider(method);
  if (prov == nullptr) return fail(ErrorCode::kNotFound, std::string(domain::to_string(method)) + " is not enabled");
  auto reports = prov->parse_callback(request);
  if (!reports) return fail(std::move(reports.error()));
  std::vector<Outcome> out;
  for (const auto& r : *reports) {
    auto o = apply(method, r);
    if (!o) {
      if (o.error().code == ErrorCode::kNotFound) {
        spdlog::warn("payments: {} reports an unknown payment", domain::to_string(method));
        out.push_back(Outcome::kNoChange);
        continue;
      }
      return fail(std::move(o.error()));
    }
    out.push_back(*o);
  }
  return out;
}

Result<Outcome> PaymentService::poll(std::int64_t payment_id) {
  auto p = get(payment_id);
  if (!p) return fail(std::move(p.error()));
  if (p->state == PaymentState::kPaid || p->state == PaymentState::kRefunded ||
      p->state == PaymentState::kAwaitingReview)
    return Outcome::kAlreadyApplied;
  PaymentProvider* prov = provider(p->method);
  if (prov == nullptr)
    return fail(ErrorCode::kInvalidArgument, std::string(domain::to_string(p->method)) + " is not enabled");
  auto view = provider_view(*p);
  if (!view) return fail(std::move(view.error()));
  auto report = prov->poll(*view);
  if (!report) return fail(std::move(report.error()));
  if (report->status == GatewayStatus::kPaid && options_.fault) options_.fault("after_gateway_paid");
  if (report->status == GatewayStatus::kClaimedPaid) return Outcome::kNoChange;
  return apply_to(p->method, payment_id, *report);
}

namespace {

struct OpenRefund {
  std::int64_t id = 0;
  Money amount;
  bool whole = false;   // everything that was paid, nothing refunded before: sent without an amount
  bool resume = false;  // requested earlier, its answer lost
  std::string reason;
};

Result<std::int64_t> refunded_minor(Session& s, std::int64_t payment_id) {
  auto row = s.query_one(
      "SELECT COALESCE(SUM(amount_minor), 0) AS total FROM payment_refunds WHERE payment_id = :p AND status IN "
      "('pending', 'completed')",
      {{"p", payment_id}});
  if (!row) return fail(std::move(row.error()));
  return *row ? (*row)->get_int("total") : 0;
}

// What the gateway holds for a paid payment: what it said arrived, else the price.
Money paid_amount(const PaymentRecord& p) { return p.received.value_or(p.amount); }

}  // namespace

Result<PaymentRecord> PaymentService::refund(std::int64_t payment_id, const std::string& reason,
                                             std::optional<Money> amount) {
  return refund_with(payment_id, reason, amount, false);
}

Result<PaymentRecord> PaymentService::refund_with(std::int64_t payment_id, const std::string& reason,
                                                  std::optional<Money> amount, bool resume_only) {
  auto p = get(payment_id);
  if (!p) return fail(std::move(p.error()));
  PaymentProvider* prov = provider(p->method);
  if (prov == nullptr)
    return fail(ErrorCode::kInvalidArgument, std::string(domain::to_string(p->method)) + " is not enabled");
  // Persisted before the gateway hears of it; or the refund whose answer was lost.
  auto open = db_.transaction([&](Session& s) -> Result<OpenRefund> {
    auto cur = load_existing(s, payment_id);
    if (!cur) return fail(std::move(cur.error()));
    const Money paid = paid_amount(*cur);
    auto done = refunded_minor(s, payment_id);
    if (!done) return fail(std::move(done.error()));
    auto row = s.query_one(
        "SELECT id, amount_minor, reason FROM payment_refunds WHERE payment_id = :p AND status = 'requested'",
        {{"p", payment_id}});
    if (!row) return fail(std::move(row.error()));
    if (*row) {
      Money m{(*row)->get_int("amount_minor"), paid.currency};
      return OpenRefund{(*row)->get_int("id"), m, *done == 0 && m == paid, true, (*row)->get_string("reason")};
    }
    if (resume_only) return OpenRefund{};  // settled meanwhile: nothing to resume
    if (cur->state != PaymentState::kPaid)
      return fail(ErrorCode::kConflict,
                  "payment " + std::to_string(payment_id) + " is " + name(cur->state) + ", not paid");
    const std::int64_t left = paid.minor - *done;
    const Money want = amount.value_or(Money{left, paid.currency});
    if (want.currency != paid.currency)
      return fail(ErrorCode::kInvalidArgument, "payment " + std::to_string(payment_id) + " was paid in " +
                                                   code(paid.currency) + ", not " + code(want.currency));
    if (want.minor <= 0 || want.minor > left)
      return fail(ErrorCode::kInvalidArgument, "a refund of " + to_decimal(want) + " " + code(want.currency) +
                                                   " is not within the " + to_decimal(Money{left, paid.currency}) +
                                                   " left of payment " + std::to_string(payment_id));
    const std::int64_t now = clock_.unix_seconds();
    auto id = s.query_one(
        "INSERT INTO payment_refunds (payment_id, amount_minor, currency, reason, status, created_at, updated_at) "
        "VALUES (:p, :m, :c, :why, 'requested', :now, :now2) RETURNING id",
        {{"p", payment_id},
         {"m", want.minor},
         {"c", code(want.currency)},
         {"why", reason},
         {"now", now},
         {"now2", now}});
    if (!id) return fail(std::move(id.error()));
    return OpenRefund{(**id).get_int("id"), want, *done == 0 && want == paid, false, reason};
  });
  if (!open) {
    // Another refund() of this payment opened one at the same moment.
    if (open.error().code == ErrorCode::kAlreadyExists)
      return fail(ErrorCode::kConflict, "a refund of payment " + std::to_string(payment_id) + " is in progress");
    return fail(std::move(open.error()));
  }
  if (open->id == 0) return get(payment_id);
  auto view = provider_view(*p);
  if (!view) return fail(std::move(view.error()));
  RefundRequest request;
  request.charge_id = p->charge_ref.value_or("");
  if (!open->whole) request.amount = open->amount;
  request.key = p->reference() + "-refund-" + std::to_string(open->id);
  request.resume = open->resume;
  auto result = prov->refund(*view, request);
  if (result && options_.fault) options_.fault("after_gateway_refunded");
  const std::int64_t now = clock_.unix_seconds();
  if (!result) {
    const ErrorCode c = result.error().code;
    // No answer: it may have happened. It stays requested for the next call to ask about.
    if (c == ErrorCode::kUnavailable || c == ErrorCode::kTimeout) return fail(std::move(result.error()));
    auto failed = db_.with_session([&](Session& s) {
      return s.exec(
          "UPDATE payment_refunds SET status = 'failed', last_error = :e, updated_at = :now WHERE id = :id AND "
          "status = 'requested'",
          {{"e", result.error().message}, {"now", now}, {"id", open->id}});
    });
    if (!failed) return fail(std::move(failed.error()));
    return fail(std::move(result.error()));
  }
  auto recorded = db_.transaction([&](Session& s) -> Result<void> {
    auto changed = s.exec(
        "UPDATE payment_refunds SET status = :st, provider_ref = :ref, updated_at = :now WHERE id = :id AND "
        "status = 'requested'",
        {{"st", std::string(result->pending ? "pending" : "completed")},
         {"ref", result->refund_ref.empty() ? Value{} : Value{result->refund_ref}},
         {"now", now},
         {"id", open->id}});
    if (!changed) return fail(std::move(changed.error()));
    if (*changed == 0) return ok();  // a concurrent resume recorded it
    auto cur = load_existing(s, payment_id);
    if (!cur) return fail(std::move(cur.error()));
    auto done = refunded_minor(s, payment_id);
    if (!done) return fail(std::move(done.error()));
    nlohmann::json payload = {{"reason", open->reason}, {"refunded", money_json(open->amount)}};
    if (*done < paid_amount(*cur).minor) {
      auto n = add_outbox(s, "user_notice", "partially_refunded:" + std::to_string(open->id), *cur, payload, now);
      if (!n) return fail(std::move(n.error()));
      return ok();
    }
    auto c = claim(s, payment_id, PaymentState::kPaid, PaymentState::kRefunded, "reject_reason = :why",
                   {{"why", open->reason}}, now);
    if (!c) return fail(std::move(c.error()));
    if (*c) {
      if (auto n = add_outbox(s, "user_notice", "refunded", *cur, payload, now); !n) return fail(std::move(n.error()));
    }
    return ok();
  });
  if (!recorded) return fail(std::move(recorded.error()));
  return get(payment_id);
}

Result<std::vector<RefundRecord>> PaymentService::refunds(std::int64_t payment_id) {
  return db_.with_session([&](Session& s) -> Result<std::vector<RefundRecord>> {
    auto rows = s.query(
        "SELECT id, payment_id, amount_minor, currency, status, provider_ref, reason, last_error FROM "
        "payment_refunds WHERE payment_id = :p ORDER BY id",
        {{"p", payment_id}});
    if (!rows) return fail(std::move(rows.error()));
    std::vector<RefundRecord> out;
    for (const auto& r : *rows) {
      auto c = currency_from_code(r.get_string("currency"));
      if (!c) return fail(ErrorCode::kCorrupted, "refund with an unknown currency");
      out.push_back(RefundRecord{r.get_int("id"), r.get_int("payment_id"), Money{r.get_int("amount_minor"), *c},
                                 r.get_string("status"), r.opt_string("provider_ref"), r.get_string("reason"),
                                 r.opt_string("last_error")});
    }
    return out;
  });
}

// ---- time and crashes -------------------------------------------------------------------------

Result<int> PaymentService::expire_due() {
  const std::int64_t now = clock_.unix_seconds();
  auto due = db_.with_session([&](Session& s) -> Result<std::vector<std::int64_t>> {
    auto rows = s.query(
        "SELECT id FROM payments WHERE status IN ('created', 'pending') AND expires_at IS NOT NULL AND "
        "expires_at <= :now ORDER BY id",
        {{"now", now}});
    if (!rows) return fail(std::move(rows.error()));
    std::vector<std::int64_t> ids;
    for (const auto& r : *rows) ids.push_back(r.get_int("id"));
    return ids;
  });
  if (!due) return fail(std::move(due.error()));
  int expired = 0;
  for (std::int64_t id : *due) {
    auto out = db_.transaction([&](Session& s) -> Result<Outcome> {
      auto p = load_existing(s, id);
      if (!p) return fail(std::move(p.error()));
      if (p->state != PaymentState::kCreated && p->state != PaymentState::kPending) return Outcome::kNoChange;
      return expire_in(s, *p, now, "not paid in time");
    });
    if (!out) return fail(std::move(out.error()));
    if (*out == Outcome::kExpired) ++expired;
  }
  // Orders past their own deadline with no payment still open.
  auto orders = db_.with_session([&](Session& s) -> Result<std::int64_t> {
    return s.exec(
        "UPDATE orders SET status = 'cancelled', cancel_reason = 'expired', updated_at = :now WHERE status IN "
        "('pending', 'awaiting_payment') AND expires_at IS NOT NULL AND expires_at <= :now2 AND NOT EXISTS "
        "(SELECT 1 FROM payments WHERE payments.order_id = orders.id AND payments.status IN ('created', 'pending', "
        "'awaiting_review'))",
        {{"now", now}, {"now2", now}});
  });
  if (!orders) return fail(std::move(orders.error()));
  return expired;
}

Result<RecoveryReport> PaymentService::recover() {
  RecoveryReport report;
  const std::int64_t now = clock_.unix_seconds();
  struct Open {
    std::int64_t id;
    PaymentMethod method;
    PaymentState state;
    std::int64_t created_at;
  };
  auto open = db_.with_session([&](Session& s) -> Result<std::vector<Open>> {
    auto rows = s.query("SELECT " + std::string(kColumns) +
                        " FROM payments WHERE status IN ('created', 'pending') ORDER BY id");
    if (!rows) return fail(std::move(rows.error()));
    std::vector<Open> out;
    for (const auto& r : *rows) {
      auto p = from_row(r);
      if (!p) return fail(std::move(p.error()));
      out.push_back(Open{p->id, p->method, p->state, p->created_at});
    }
    return out;
  });
  if (!open) return fail(std::move(open.error()));
  for (const auto& o : *open) {
    const bool gateway = o.method == PaymentMethod::kNowPayments || o.method == PaymentMethod::kZarinpal ||
                         o.method == PaymentMethod::kStripe || o.method == PaymentMethod::kPayPal;
    if (o.state == PaymentState::kCreated) {
      // The start call was interrupted (a crash) long enough ago that it is not in flight.
      if (now - o.created_at < 120) continue;
      auto out = db_.transaction([&](Session& s) -> Result<Outcome> {
        auto p = load_existing(s, o.id);
        if (!p) return fail(std::move(p.error()));
        if (p->state != PaymentState::kCreated) return Outcome::kNoChange;
        return expire_in(s, *p, now, "the gateway call was interrupted", false);
      });
      if (!out) return fail(std::move(out.error()));
      if (*out == Outcome::kExpired) ++report.abandoned;
      continue;
    }
    if (!gateway || provider(o.method) == nullptr) continue;
    ++report.polled;
    auto out = poll(o.id);
    if (!out) {
      report.errors.push_back("payment " + std::to_string(o.id) + ": " + out.error().message);
      continue;
    }
    if (*out != Outcome::kNoChange && *out != Outcome::kAlreadyApplied) ++report.settled;
  }
  auto lost = db_.with_session([&](Session& s) -> Result<std::vector<std::int64_t>> {
    auto rows = s.query("SELECT payment_id FROM payment_refunds WHERE status = 'requested' ORDER BY id");
    if (!rows) return fail(std::move(rows.error()));
    std::vector<std::int64_t> ids;
    for (const auto& r : *rows) ids.push_back(r.get_int("payment_id"));
    return ids;
  });
  if (!lost) return fail(std::move(lost.error()));
  for (std::int64_t id : *lost) {
    auto out = refund_with(id, "", std::nullopt, true);  // resumes the open one; never starts another
    if (out) {
      ++report.refunds_resolved;
    } else if (out.error().code == ErrorCode::kUnavailable || out.error().code == ErrorCode::kTimeout) {
      report.errors.push_back("refund of payment " + std::to_string(id) + ": " + out.error().message);
    }
  }
  return report;
}

namespace {

Result<std::vector<OutboxItem>> read_outbox(Session& s, std::string_view where, const storage::Params& params) {
  auto rows = s.query("SELECT id, kind, topic, payment_id, order_id, payload, attempts FROM payment_outbox WHERE " +
                          std::string(where) + " ORDER BY id",
                      params);
  if (!rows) return fail(std::move(rows.error()));
  std::vector<OutboxItem> out;
  for (const auto& r : *rows) {
    auto payload = nlohmann::json::parse(r.get_string("payload"), nullptr, false);
    out.push_back(OutboxItem{r.get_int("id"), r.get_string("kind"), r.get_string("topic"), r.get_int("payment_id"),
                             r.opt_int("order_id"), payload.is_discarded() ? nlohmann::json::object() : payload,
                             r.get_int("attempts")});
  }
  return out;
}

}  // namespace

Result<std::vector<OutboxItem>> PaymentService::pending_outbox() {
  return db_.with_session([&](Session& s) { return read_outbox(s, "status = 'pending'", {}); });
}

Result<int> PaymentService::dispatch_outbox(FulfilmentHook& hook, int max_items) {
  const std::int64_t now = clock_.unix_seconds();
  auto due = db_.with_session([&](Session& s) {
    return read_outbox(s, "status = 'pending' AND (claimed_until IS NULL OR claimed_until <= :now)", {{"now", now}});
  });
  if (!due) return fail(std::move(due.error()));
  int done = 0;
  int seen = 0;
  for (auto& item : *due) {
    if (seen++ >= max_items) break;
    // Claim it: of several dispatchers (replicas, a restart) one delivers at a time.
    auto claimed = db_.with_session([&](Session& s) {
      return s.exec(
          "UPDATE payment_outbox SET claimed_until = :until, attempts = attempts + 1 WHERE id = :id AND "
          "status = 'pending' AND (claimed_until IS NULL OR claimed_until <= :now)",
          {{"until", now + options_.outbox_claim.count()}, {"id", item.id}, {"now", now}});
    });
    if (!claimed) return fail(std::move(claimed.error()));
    if (*claimed != 1) continue;
    ++item.attempts;
    auto handled = hook.handle(item);
    auto recorded = db_.with_session([&](Session& s) {
      if (handled)
        return s.exec("UPDATE payment_outbox SET status = 'done', done_at = :now, last_error = NULL WHERE id = :id",
                      {{"now", clock_.unix_seconds()}, {"id", item.id}});
      return s.exec("UPDATE payment_outbox SET claimed_until = NULL, last_error = :e WHERE id = :id",
                    {{"e", handled.error().to_string()}, {"id", item.id}});
    });
    if (!recorded) return fail(std::move(recorded.error()));
    if (handled) ++done;
  }
  return done;
}

}  // namespace ms::payments
