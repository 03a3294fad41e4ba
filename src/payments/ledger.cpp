#include "payments/ledger.hpp"

namespace ms::payments {

using storage::Session;

Result<Money> Ledger::apply(Session& s, const Schema& sc, const LedgerChange& c, std::int64_t now) {
  if (c.delta.minor == 0) return fail(ErrorCode::kInvalidArgument, "ledger: a change of zero");
  if (c.ref.empty()) return fail(ErrorCode::kInvalidArgument, "ledger: every change needs a reference");
  auto user = s.query_one(sc.sql("SELECT currency FROM {payers} WHERE id = :id"), {{"id", c.user_id}});
  if (!user) return fail(std::move(user.error()));
  if (!*user) return fail(ErrorCode::kNotFound, "user " + std::to_string(c.user_id) + " does not exist");
  const std::string wallet_currency = (*user)->get_string("currency");
  if (wallet_currency != currency_code(c.delta.currency))
    return fail(ErrorCode::kInvalidArgument, "ledger: the wallet is in " + wallet_currency + ", not " +
                                                 std::string(currency_code(c.delta.currency)));
  // The row first: a duplicate (reason, ref) fails here, before the balance moves.
  const std::string reason(domain::to_string(c.reason));
  auto inserted = s.query_one(
      sc.sql("INSERT INTO {ledger} ({payer_id}, delta_minor, currency, balance_after_minor, reason, ref, note, "
             "created_at) VALUES (:user, :delta, :currency, 0, :reason, :ref, :note, :now) RETURNING id"),
      {{"user", c.user_id},
       {"delta", c.delta.minor},
       {"currency", wallet_currency},
       {"reason", reason},
       {"ref", c.ref},
       {"note", c.note ? storage::Value{*c.note} : storage::Value{}},
       {"now", now}});
  if (!inserted) {
    if (inserted.error().code == ErrorCode::kAlreadyExists)
      return fail(ErrorCode::kAlreadyExists, "ledger: " + reason + " " + c.ref + " was already applied");
    return fail(std::move(inserted.error()));
  }
  const std::int64_t row_id = (*inserted)->get_int("id");
  auto moved = s.query_one(sc.sql("UPDATE {payers} SET balance_minor = balance_minor + :delta, updated_at = :now "
                                  "WHERE id = :id AND balance_minor + :delta2 >= 0 RETURNING balance_minor"),
                           {{"delta", c.delta.minor}, {"now", now}, {"id", c.user_id}, {"delta2", c.delta.minor}});
  if (!moved) return fail(std::move(moved.error()));
  if (!*moved) return fail(ErrorCode::kLimitExceeded, "ledger: insufficient wallet balance");
  const std::int64_t after = (*moved)->get_int("balance_minor");
  auto stamped = s.exec(sc.sql("UPDATE {ledger} SET balance_after_minor = :after WHERE id = :id"),
                        {{"after", after}, {"id", row_id}});
  if (!stamped) return fail(std::move(stamped.error()));
  return Money{after, c.delta.currency};
}

Result<Money> Ledger::apply(const LedgerChange& change) {
  const std::int64_t now = clock_.unix_seconds();
  return db_.transaction([&](Session& s) { return apply(s, sc_, change, now); });
}

namespace {
Result<Currency> wallet_currency(Session& s, const Schema& sc, std::int64_t user_id, std::int64_t* balance) {
  auto row = s.query_one(sc.sql("SELECT currency, balance_minor FROM {payers} WHERE id = :id"), {{"id", user_id}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return fail(ErrorCode::kNotFound, "user " + std::to_string(user_id) + " does not exist");
  auto c = currency_from_code((*row)->get_string("currency"));
  if (!c) return fail(ErrorCode::kCorrupted, "user " + std::to_string(user_id) + " has an unknown wallet currency");
  if (balance) *balance = (*row)->get_int("balance_minor");
  return *c;
}
}  // namespace

Result<Money> Ledger::balance(std::int64_t user_id) {
  return db_.with_session([&](Session& s) -> Result<Money> {
    std::int64_t b = 0;
    auto c = wallet_currency(s, sc_, user_id, &b);
    if (!c) return fail(std::move(c.error()));
    return Money{b, *c};
  });
}

Result<Money> Ledger::sum_of_rows(std::int64_t user_id) {
  return db_.snapshot([&](Session& s) -> Result<Money> {
    auto c = wallet_currency(s, sc_, user_id, nullptr);
    if (!c) return fail(std::move(c.error()));
    auto row =
        s.query_one(sc_.sql("SELECT COALESCE(SUM(delta_minor), 0) AS total FROM {ledger} WHERE {payer_id} = :id"),
                    {{"id", user_id}});
    if (!row) return fail(std::move(row.error()));
    return Money{(*row)->get_int("total"), *c};
  });
}

Result<std::vector<LedgerRow>> Ledger::rows(std::int64_t user_id) {
  return db_.with_session([&](Session& s) -> Result<std::vector<LedgerRow>> {
    auto rows = s.query(
        sc_.sql("SELECT id, {payer_id} AS user_id, delta_minor, currency, balance_after_minor, reason, ref, note, "
                "created_at FROM {ledger} WHERE {payer_id} = :id ORDER BY id"),
        {{"id", user_id}});
    if (!rows) return fail(std::move(rows.error()));
    std::vector<LedgerRow> out;
    for (const auto& r : *rows) {
      auto c = currency_from_code(r.get_string("currency")).value_or(Currency::kIrr);
      out.push_back(LedgerRow{r.get_int("id"), r.get_int("user_id"), Money{r.get_int("delta_minor"), c},
                              Money{r.get_int("balance_after_minor"), c}, r.get_string("reason"), r.opt_string("ref"),
                              r.opt_string("note"), r.get_int("created_at")});
    }
    return out;
  });
}

}  // namespace ms::payments
