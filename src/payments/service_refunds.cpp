// PaymentService: refunds (full and partial, exactly once; a lost answer is resolved by
// asking the gateway, never by refunding again).
#include "payments/service.hpp"
#include "payments/service_rows.hpp"

namespace ms::payments {

using domain::PaymentState;
using storage::Session;
using storage::Value;
using namespace detail;

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

// The ledger ref of what refund `refund_id` of payment `payment_id` took back from the wallet
// (reason top_up_refund) and, if the gateway refused, gave again (top_up_refund_reversed).
std::string claw_back_ref(std::int64_t payment_id, std::int64_t refund_id) {
  return "payment:" + std::to_string(payment_id) + ":refund:" + std::to_string(refund_id);
}

// Money that went into the payer's wallet (a top-up, or a payment whose order was gone) must
// leave it again before the gateway returns it, or the payer has it twice. Takes back the
// share of what was credited that the refunds so far (this one included) cover, rounded up,
// so that a full refund takes back exactly what was credited. kLimitExceeded when the wallet
// no longer holds it (spent): the caller's transaction then rolls back and nothing is asked.
Result<void> claw_back(Session& s, const Schema& sc, const PaymentRecord& p, std::int64_t refund_id, Money paid,
                       std::int64_t refunded_after, std::int64_t now) {
  auto credit = s.query_one(
      sc.sql("SELECT delta_minor, currency FROM {ledger} WHERE {payer_id} = :u AND ref = :ref AND reason IN "
             "('top_up', 'unmatched_payment') AND delta_minor > 0"),
      {{"u", p.user_id}, {"ref", "payment:" + std::to_string(p.id)}});
  if (!credit) return fail(std::move(credit.error()));
  if (!*credit) return ok();  // nothing of it is in the wallet (an order paid and fulfilled)
  const std::int64_t credited = (*credit)->get_int("delta_minor");
  auto wallet_currency = currency_from_code((*credit)->get_string("currency"));
  if (!wallet_currency) return fail(ErrorCode::kCorrupted, "a ledger row with an unknown currency");
  auto taken = s.query_one(
      sc.sql("SELECT COALESCE(SUM(delta_minor), 0) AS total FROM {ledger} WHERE {payer_id} = :u AND reason IN "
             "('top_up_refund', 'top_up_refund_reversed') AND ref LIKE :prefix"),
      {{"u", p.user_id}, {"prefix", "payment:" + std::to_string(p.id) + ":refund:%"}});
  if (!taken) return fail(std::move(taken.error()));
  const std::int64_t taken_so_far = -(*taken)->get_int("total");
  const __int128 share = static_cast<__int128>(credited) * refunded_after;
  const std::int64_t target = static_cast<std::int64_t>((share + paid.minor - 1) / paid.minor);
  const std::int64_t debit = std::min(target, credited) - taken_so_far;
  if (debit <= 0) return ok();
  auto applied =
      Ledger::apply(s, sc,
                    LedgerChange{p.user_id, Money{-debit, *wallet_currency}, domain::LedgerReason::kTopUpRefund,
                                 claw_back_ref(p.id, refund_id), "refund of payment " + std::to_string(p.id)},
                    now);
  if (applied) return ok();
  if (applied.error().code != ErrorCode::kLimitExceeded) return fail(std::move(applied.error()));
  Money balance{0, *wallet_currency};
  if (auto b = s.query_one(sc.sql("SELECT balance_minor FROM {payers} WHERE id = :u"), {{"u", p.user_id}}); b && *b)
    balance.minor = (*b)->get_int("balance_minor");
  return fail(ErrorCode::kLimitExceeded, "payment " + std::to_string(p.id) + " credited " +
                                             to_decimal(Money{credited, *wallet_currency}) + " " +
                                             code(*wallet_currency) + " to the wallet; this refund takes back " +
                                             to_decimal(Money{debit, *wallet_currency}) + " but the wallet holds " +
                                             to_decimal(balance) + " (already spent): nothing was refunded");
}

// The gateway refused refund `refund_id`: the wallet gets back what it gave up for it, once.
Result<void> undo_claw_back(Session& s, const Schema& sc, std::int64_t user_id, std::int64_t payment_id,
                            std::int64_t refund_id, std::int64_t now) {
  const std::string ref = claw_back_ref(payment_id, refund_id);
  auto row = s.query_one(
      sc.sql("SELECT delta_minor, currency FROM {ledger} WHERE {payer_id} = :u AND reason = 'top_up_refund' AND ref = "
             ":ref"),
      {{"u", user_id}, {"ref", ref}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return ok();
  auto c = currency_from_code((*row)->get_string("currency"));
  if (!c) return fail(ErrorCode::kCorrupted, "a ledger row with an unknown currency");
  auto applied = Ledger::apply(s, sc,
                               LedgerChange{user_id, Money{-(*row)->get_int("delta_minor"), *c},
                                            domain::LedgerReason::kTopUpRefundReversed, ref, "the gateway refused"},
                               now);
  if (!applied && applied.error().code != ErrorCode::kAlreadyExists) return fail(std::move(applied.error()));
  return ok();
}

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
    auto cur = load_existing(s, sc_, payment_id);
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
    const std::int64_t refund_id = (**id).get_int("id");
    if (auto taken = claw_back(s, sc_, *cur, refund_id, paid, *done + want.minor, now); !taken)
      return fail(std::move(taken.error()));
    return OpenRefund{refund_id, want, *done == 0 && want == paid, false, reason};
  });
  if (!open) {
    // Another refund() of this payment opened one at the same moment.
    if (open.error().code == ErrorCode::kAlreadyExists)
      return fail(ErrorCode::kConflict, "a refund of payment " + std::to_string(payment_id) + " is in progress");
    return fail(std::move(open.error()));
  }
  if (open->id == 0) return get(payment_id);
  if (options_.fault) options_.fault("after_refund_recorded");
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
    // Refused: nothing was refunded, so what the wallet gave up for it comes back (once).
    auto failed = db_.transaction([&](Session& s) -> Result<void> {
      auto changed = s.exec(
          "UPDATE payment_refunds SET status = 'failed', last_error = :e, updated_at = :now WHERE id = :id AND "
          "status = 'requested'",
          {{"e", result.error().message}, {"now", now}, {"id", open->id}});
      if (!changed) return fail(std::move(changed.error()));
      if (*changed == 0) return ok();
      return undo_claw_back(s, sc_, p->user_id, payment_id, open->id, now);
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
    auto cur = load_existing(s, sc_, payment_id);
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

}  // namespace ms::payments
