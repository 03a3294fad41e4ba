// PaymentService: card-to-card receipts and their review, Telegram Stars, and what
// gateways report (callbacks and polls).
#include <spdlog/spdlog.h>

#include "payments/service.hpp"
#include "payments/service_rows.hpp"

namespace ms::payments {

using domain::PaymentState;
using storage::Row;
using storage::Session;
using storage::Value;
using namespace detail;

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
    auto p = load_existing(s, sc_, payment_id);
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
    auto p = load_existing(s, sc_, payment_id);
    if (!p) return fail(std::move(p.error()));
    if (p->state != PaymentState::kAwaitingReview) return std::optional<PaymentRecord>(*p);
    auto settled = settle(s, sc_, *p, p->received && p->method != PaymentMethod::kCardToCard ? *p->received : p->amount,
                          std::nullopt, admin_id, now);
    if (!settled) return fail(std::move(settled.error()));
    if (*settled == Outcome::kAlreadyApplied) {
      auto again = load_existing(s, sc_, payment_id);
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
    auto p = load_existing(s, sc_, payment_id);
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
    auto again = load_existing(s, sc_, payment_id);
    if (!again) return fail(std::move(again.error()));
    return std::optional<PaymentRecord>(*again);
  });
  if (!out) return fail(std::move(out.error()));
  if (*out) return fail(already_reviewed(**out));
  return get(payment_id);
}

// ---- Telegram Stars --------------------------------------------------------------------------

std::string state_key(domain::PaymentState state) { return "payment.state." + std::string(domain::to_string(state)); }

std::string precheckout_refusal_key(const Error& refusal) {
  constexpr std::string_view kPrefix = "payment.precheckout.";
  if (refusal.message.starts_with(kPrefix) && refusal.message.find(' ') == std::string::npos) return refusal.message;
  return std::string(kPrefix) + "unavailable";
}

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
  auto out = db_.transaction([&](Session& s) { return apply_in(s, sc_, method, payment_id, report, now); });
  // A duplicate key here is a concurrent copy of the same notification or charge id.
  if (!out && out.error().code == ErrorCode::kAlreadyExists) return Outcome::kAlreadyApplied;
  return out;
}

Result<ProviderPayment> PaymentService::provider_view(const PaymentRecord& p) {
  auto tg = db_.with_session([&](Session& s) { return wallet_of(s, sc_, p.user_id, nullptr); });
  if (!tg) return fail(std::move(tg.error()));
  return ProviderPayment{p.id, p.reference(), p.provider_ref, p.amount, *tg, p.charge_ref};
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

}  // namespace ms::payments
