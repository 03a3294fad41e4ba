#include "payments/service.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

#include "core/crypto/primitives.hpp"
#include "payments/service_rows.hpp"

namespace ms::payments {

using domain::PaymentPurpose;
using domain::PaymentState;
using storage::Row;
using storage::Session;
using storage::Value;

// Row helpers shared with the other service_*.cpp files (service_rows.hpp); the rest
// are used here only.
namespace detail {

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

Result<std::optional<PaymentRecord>> load(Session& s, const Schema& sc, std::int64_t id) {
  auto row = s.query_one(sc.sql("SELECT " + std::string(kColumns) + " FROM payments WHERE id = :id"), {{"id", id}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return std::optional<PaymentRecord>();
  auto p = from_row(**row);
  if (!p) return fail(std::move(p.error()));
  return std::optional<PaymentRecord>(std::move(*p));
}

Result<PaymentRecord> load_existing(Session& s, const Schema& sc, std::int64_t id) {
  auto p = load(s, sc, id);
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

Result<std::int64_t> wallet_of(Session& s, const Schema& sc, std::int64_t user_id, Currency* currency) {
  auto row = s.query_one(sc.sql("SELECT currency, telegram_id FROM {payers} WHERE id = :id"), {{"id", user_id}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return fail(ErrorCode::kNotFound, "user " + std::to_string(user_id) + " does not exist");
  auto c = currency_from_code((*row)->get_string("currency"));
  if (!c) return fail(ErrorCode::kCorrupted, "user " + std::to_string(user_id) + " has an unknown wallet currency");
  if (currency) *currency = *c;
  return (*row)->opt_int("telegram_id").value_or(0);  // a master customer may have none (web sign-up)
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
Result<Outcome> credit_paid(Session& s, const Schema& sc, const PaymentRecord& p, Money received, std::int64_t now) {
  Currency wallet_currency = Currency::kIrr;
  auto tg = wallet_of(s, sc, p.user_id, &wallet_currency);
  if (!tg) return fail(std::move(tg.error()));
  const std::string ref = "payment:" + std::to_string(p.id);
  if (p.purpose == PaymentPurpose::kWalletTopUp) {
    auto amount = convert_in(s, received, wallet_currency);
    if (!amount) return fail(std::move(amount.error()));
    auto applied =
        Ledger::apply(s, sc, LedgerChange{p.user_id, *amount, domain::LedgerReason::kTopUp, ref, std::nullopt}, now);
    if (!applied && applied.error().code != ErrorCode::kAlreadyExists) return fail(std::move(applied.error()));
    if (auto r = add_outbox(s, "user_notice", "top_up_credited", p, {{"credited", money_json(*amount)}}, now); !r)
      return fail(std::move(r.error()));
    return Outcome::kPaid;
  }
  if (p.order_id) {
    auto paid =
        s.exec(sc.sql("UPDATE {orders} SET status = 'paid', updated_at = :now WHERE id = :id AND status IN ('pending', "
                      "'awaiting_payment')"),
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
      s, sc,
      LedgerChange{p.user_id, *amount, domain::LedgerReason::kUnmatchedPayment, ref, "order not payable any more"},
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
Result<Outcome> settle(Session& s, const Schema& sc, const PaymentRecord& p, Money received,
                       const std::optional<std::string>& ref, std::optional<std::int64_t> reviewer, std::int64_t now) {
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
        sc.sql("UPDATE {orders} SET status = 'cancelled', cancel_reason = 'expired', updated_at = :now WHERE id = :id "
               "AND status IN ('pending', 'awaiting_payment') AND NOT EXISTS (SELECT 1 FROM payments WHERE order_id = "
               ":id2 AND id <> :pid AND status IN ('created', 'pending', 'awaiting_review'))"),
        {{"now", now}, {"id", *p.order_id}, {"id2", *p.order_id}, {"pid", p.id}});
    if (!cancelled) return fail(std::move(cancelled.error()));
  }
  return credit_paid(s, sc, p, received, now);
}

Result<Outcome> apply_paid(Session& s, const Schema& sc, const PaymentRecord& p, const GatewayReport& r,
                           std::int64_t now) {
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
    if (auto w = wallet_of(s, sc, p.user_id, &wallet); !w) return fail(std::move(w.error()));
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
  auto out = settle(s, sc, from, received, r.provider_ref, std::nullopt, now);
  if (out && *out != Outcome::kAlreadyApplied && received.minor > p.amount.minor) {
    nlohmann::json payload = {{"expected", money_json(p.amount)}, {"received", money_json(received)}};
    if (auto n = add_outbox(s, "owner_notice", "overpaid", p, payload, now); !n) return fail(std::move(n.error()));
  }
  return out;
}

// Expires a payment; with `cancel_order` its order too when no other payment is open.
Result<Outcome> expire_in(Session& s, const Schema& sc, const PaymentRecord& p, std::int64_t now, std::string_view why,
                          bool cancel_order) {
  auto c = claim(s, p.id, p.state, PaymentState::kExpired, "reject_reason = COALESCE(reject_reason, :why)",
                 {{"why", std::string(why)}}, now);
  if (!c) return fail(std::move(c.error()));
  if (!*c) return Outcome::kAlreadyApplied;
  if (p.order_id && cancel_order) {
    auto cancelled = s.exec(
        sc.sql("UPDATE {orders} SET status = 'cancelled', cancel_reason = 'expired', updated_at = :now WHERE id = :id "
               "AND status IN ('pending', 'awaiting_payment') AND NOT EXISTS (SELECT 1 FROM payments WHERE order_id = "
               ":id2 AND status IN ('created', 'pending', 'awaiting_review'))"),
        {{"now", now}, {"id", *p.order_id}, {"id2", *p.order_id}});
    if (!cancelled) return fail(std::move(cancelled.error()));
  }
  return Outcome::kExpired;
}

Result<Outcome> apply_in(Session& s, const Schema& sc, PaymentMethod method, std::int64_t payment_id,
                         const GatewayReport& r, std::int64_t now) {
  auto loaded = load_existing(s, sc, payment_id);
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
    case GatewayStatus::kPaid: return apply_paid(s, sc, p, r, now);
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
      return expire_in(s, sc, p, now, "the gateway's deadline passed");
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

}  // namespace detail

using namespace detail;

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
    : db_(db), clock_(clock), options_(std::move(options)), sc_(options_.schema), ledger_(db, clock, sc_) {
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
  return db_.with_session([&](Session& s) { return load_existing(s, sc_, payment_id); });
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
    auto row = s.query_one(
        sc_.sql(
            "SELECT {payer_id} AS user_id, status, amount_minor, currency, expires_at FROM {orders} WHERE id = :id"),
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
      if (auto w = wallet_of(s, sc_, order->user_id, &wallet); !w) return fail(std::move(w.error()));
      auto price = convert_in(s, order->price, wallet);
      if (!price) return fail(std::move(price.error()));
      auto ins = s.query_one(
          sc_.sql("INSERT INTO payments (order_id, {payer_id}, purpose, provider, amount_minor, currency, status, "
                  "payer_action, paid_at, received_minor, received_currency, created_at, updated_at) VALUES (:o, :u, "
                  "'order', 'wallet', :a, :c, 'paid', :action, :now, :a2, :c2, :now2, :now3) RETURNING id"),
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
          s, sc_,
          LedgerChange{order->user_id, Money{-price->minor, price->currency}, domain::LedgerReason::kPurchase,
                       "order:" + std::to_string(order_id), std::nullopt},
          now);
      if (!debit) return fail(std::move(debit.error()));
      auto paid = s.exec(
          sc_.sql("UPDATE {orders} SET status = 'paid', updated_at = :now WHERE id = :id AND status IN ('pending', "
                  "'awaiting_payment')"),
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
    auto w = wallet_of(s, sc_, user_id, &c);
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
          sc_.sql("INSERT INTO payments (order_id, {payer_id}, purpose, provider, amount_minor, currency, status, "
                  "expires_at, created_at, updated_at) VALUES (:o, :u, :purpose, :provider, :a, :c, 'created', :exp, "
                  ":now, :now2) RETURNING id"),
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
        auto moved =
            s.exec(sc_.sql("UPDATE {orders} SET status = 'awaiting_payment', expires_at = COALESCE(expires_at, :exp), "
                           "updated_at = :now WHERE id = :id AND status IN ('pending', 'awaiting_payment')"),
                   {{"exp", deadline}, {"now", now}, {"id", *spec.order_id}});
        if (!moved) return fail(std::move(moved.error()));
        if (*moved != 1) return fail(ErrorCode::kLimitExceeded, "order is no longer payable");
      }
      return load_existing(s, sc_, (*ins)->get_int("id"));
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
      return expire_in(s, sc_, p, clock_.unix_seconds(), "the gateway did not start: " + started.error().message,
                       false);
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

}  // namespace ms::payments
