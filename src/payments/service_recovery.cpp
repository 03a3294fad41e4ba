// PaymentService: time and crashes (payments that expire, recovery after a crash) and the
// outbox of side effects handed to the FulfilmentHook.
#include <spdlog/spdlog.h>

#include "payments/service.hpp"
#include "payments/service_rows.hpp"

namespace ms::payments {

using domain::PaymentState;
using storage::Row;
using storage::Session;
using storage::Value;
using namespace detail;

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
      auto p = load_existing(s, sc_, id);
      if (!p) return fail(std::move(p.error()));
      if (p->state != PaymentState::kCreated && p->state != PaymentState::kPending) return Outcome::kNoChange;
      return expire_in(s, sc_, *p, now, "not paid in time");
    });
    if (!out) return fail(std::move(out.error()));
    if (*out == Outcome::kExpired) ++expired;
  }
  // Orders past their own deadline with no payment still open.
  auto orders = db_.with_session([&](Session& s) -> Result<std::int64_t> {
    return s.exec(
        sc_.sql("UPDATE {orders} SET status = 'cancelled', cancel_reason = 'expired', updated_at = :now WHERE status "
                "IN ('pending', 'awaiting_payment') AND expires_at IS NOT NULL AND expires_at <= :now2 AND NOT EXISTS "
                "(SELECT 1 FROM payments WHERE payments.order_id = {orders}.id AND payments.status IN ('created', "
                "'pending', 'awaiting_review'))"),
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
    auto rows = s.query(sc_.sql("SELECT " + std::string(kColumns) +
                                " FROM payments WHERE status IN ('created', 'pending') "
                                "ORDER BY id"));
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
        auto p = load_existing(s, sc_, o.id);
        if (!p) return fail(std::move(p.error()));
        if (p->state != PaymentState::kCreated) return Outcome::kNoChange;
        return expire_in(s, sc_, *p, now, "the gateway call was interrupted", false);
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
