// The HTTP side of payments: gateway webhooks and the payer's browser coming back.
//
//   POST /payments/{provider}/{account}/webhook   nowpayments (IPN), stripe, paypal
//   GET  /payments/zarinpal/{account}/callback    Zarinpal's redirect (?Authority=&Status=)
//   GET  /payments/{provider}/{account}/return    the payer back from Stripe, PayPal, NOWPayments
//
// `account` names the database a payment lives in (e.g. "t42"); the resolver maps it to
// that tenant's PaymentService. Webhook answers: 200 once verified and recorded (whatever
// the outcome, so the gateway stops retrying), 400 for a forged or missing signature (and
// an audit_log row; nothing is credited) or an unreadable body, 404 for an unknown account
// or provider, 503 when the database or the gateway's verification is unavailable (the
// gateway retries). Work runs on `pool`, never on the event loop.
// Thread-safety: the resolver and the sink are called from pool threads concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/worker_pool.hpp"
#include "http/router.hpp"
#include "payments/service.hpp"
#include "storage/storage.hpp"

namespace ms::payments {

struct AuditEvent {
  std::string action;    // "payment.webhook_rejected"
  std::string provider;  // "stripe"
  std::string account;   // "t42"
  std::string reason;    // why (never a secret, never the body)
  std::string ip;
};
using AuditSink = std::function<void(const AuditEvent&)>;

// Writes events to the master database's audit_log (actor_kind 'gateway').
AuditSink master_audit_sink(storage::Database& master, const Clock& clock = SystemClock::instance());

struct PaymentRoutes {
  // The service of an account, or nullptr when there is none.
  std::function<std::shared_ptr<PaymentService>(std::string_view account)> resolve;
  AuditSink audit;
  WorkerPool* pool = nullptr;  // required
};

void add_payment_routes(http::Router& router, PaymentRoutes routes);

}  // namespace ms::payments
