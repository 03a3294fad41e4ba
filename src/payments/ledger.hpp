// Ledger: the payers' wallets (a tenant's end users, or the master's customers: Schema). Every balance change is one
// wallet_ledger row with its reason and a reference; users.balance_minor is the running sum
// of a user's rows and is never negative (a CHECK and the conditional update below).
//
// Idempotency: (reason, ref) is unique, so applying the same credit twice (a replayed
// webhook, a retried job) changes nothing the second time and answers kAlreadyExists.
// Concurrency: the balance moves with one conditional UPDATE (... WHERE balance + delta >= 0)
// inside the caller's transaction, so concurrent debits can never overdraw on either backend.
// Thread-safety: stateless over a thread-safe Database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/money.hpp"
#include "domain/tenant_entities.hpp"
#include "payments/schema.hpp"
#include "storage/storage.hpp"

namespace ms::payments {

struct LedgerChange {
  std::int64_t user_id = 0;
  Money delta;  // positive credits, negative debits; never zero
  domain::LedgerReason reason = domain::LedgerReason::kTopUp;
  std::string ref;  // unique with reason: "payment:12", "order:7"
  std::optional<std::string> note;
};

struct LedgerRow {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  Money delta;
  Money balance_after;
  std::string reason;
  std::optional<std::string> ref;
  std::optional<std::string> note;
  std::int64_t created_at = 0;
};

class Ledger {
 public:
  Ledger(storage::Database& db, const Clock& clock, Schema schema = Schema::tenant())
      : db_(db), clock_(clock), sc_(std::move(schema)) {}

  // Applies one change in its own transaction. Success: the new balance. Failure:
  // kAlreadyExists (this (reason, ref) was applied before: nothing changed),
  // kLimitExceeded (the balance would go negative: nothing changed; not kConflict, which a
  // storage transaction would retry), kInvalidArgument (zero delta, or a
  // currency other than the wallet's), kNotFound (no such user).
  Result<Money> apply(const LedgerChange& change);
  // The same inside the caller's transaction (the caller rolls back on any failure).
  static Result<Money> apply(storage::Session& s, const Schema& sc, const LedgerChange& change, std::int64_t now);

  // The stored balance (users.balance_minor) and the sum of the user's rows; equal unless
  // the data was tampered with.
  Result<Money> balance(std::int64_t user_id);
  Result<Money> sum_of_rows(std::int64_t user_id);
  Result<std::vector<LedgerRow>> rows(std::int64_t user_id);

 private:
  storage::Database& db_;
  const Clock& clock_;
  Schema sc_;
};

}  // namespace ms::payments
