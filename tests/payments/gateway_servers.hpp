// Strict local test servers for NOWPayments, Zarinpal, Stripe Checkout and PayPal Orders v2,
// served by our own http::Server, written from reference/payments.md (endpoints, status
// codes, error shapes, idempotency) and NOT from src/payments: they sign what they send
// with the real schemes through code of their own, so our verifiers are tested against an
// independent implementation (and against the documentation's vectors, see
// gateway_servers_test.cpp).
//
// Besides the gateway APIs, each server has a C++ control surface playing the payer and the
// gateway's back office: pay an invoice, approve an order, complete a session. Those return
// a Delivery (a webhook/IPN exactly as the gateway would POST it, already signed) that a
// test may send once, replay, send 100 times at once, or tamper with.
//
// Faults: set_fault(gateway, kind, count) makes the next `count` API calls to that gateway
// hang (never answered until stop) or answer garbage or HTTP 500. Gateways: nowpayments,
// zarinpal, stripe, paypal; "stripe_refunds" is POST /v1/refunds alone (so a refund's answer
// can be lost after the session lookup before it succeeded).
//
// Thread-safety: every method is safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace ms::payments::testing {

struct Delivery {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// kLoseAnswer: the gateway does the work, then the answer is lost on the way (a proxy's
// error page), so the caller cannot know it happened.
enum class Fault { kNone, kHang, kGarbage, kServerError, kLoseAnswer };

struct GatewayServerOptions {
  std::string nowpayments_api_key = "NP-TEST-KEY";
  std::string nowpayments_ipn_secret = "np_test_ipn_secret";
  std::string nowpayments_email = "owner@example.com";  // POST /v1/auth
  std::string nowpayments_password = "np-test-password";
  std::string zarinpal_merchant_id = "1344b5d4-0048-11e8-94db-005056a205be";
  std::string stripe_secret_key = "sk_test_mothership";
  std::string stripe_webhook_secret = "whsec_test_mothership";
  std::string stripe_webhook_url;  // where checkout.session.* events go
  std::string paypal_client_id = "paypal-client";
  std::string paypal_client_secret = "paypal-secret";
  std::string paypal_webhook_id = "8PT597110X687430LKGECATA";
  std::string paypal_webhook_url;
  const Clock* clock = nullptr;  // nullptr: the system clock
};

class GatewayTestServers {
 public:
  explicit GatewayTestServers(GatewayServerOptions options = {});
  ~GatewayTestServers();

  // Listens on `listen` (port 0: any free port). Failure: the server's error.
  Result<void> start(const std::string& listen = "127.0.0.1:0");
  void stop();
  std::uint16_t port() const;
  std::string base_url() const;  // http://127.0.0.1:<port>
  GatewayServerOptions& options();

  void set_fault(const std::string& gateway, Fault fault, int count = 1);

  // NOWPayments: a payment against `invoice_id` reaching `status` (finished, partially_paid,
  // confirming, failed, expired...) with `paid_fraction` of the crypto amount.
  Result<Delivery> nowpayments_pay(const std::string& invoice_id, const std::string& status,
                                   double paid_fraction = 1.0);
  // NOWPayments: that payment moves on (GET /v1/payment/{id} and the list answer the new
  // state); the IPN for it, which a test may deliver or lose.
  Result<Delivery> nowpayments_update(std::int64_t payment_id, const std::string& status, double paid_fraction = 1.0);
  int nowpayments_status_calls() const;  // GET /v1/payment/{id} answered
  // Zarinpal: the payer finishes (or cancels) on StartPay. Success: the callback URL the
  // payer's browser is sent to.
  Result<std::string> zarinpal_pay(const std::string& authority, bool success = true);
  // Stripe: the payer completes the session (amount_total may be overridden to simulate a
  // gateway reporting another amount); or the session expires.
  Result<Delivery> stripe_complete(const std::string& session_id, std::optional<std::int64_t> amount_total = {});
  Result<Delivery> stripe_expire(const std::string& session_id);
  // PayPal: the payer approves. Success: the return URL with ?token=<order>&PayerID=.
  Result<std::string> paypal_approve(const std::string& order_id);
  // PayPal: a signed webhook event (CHECKOUT.ORDER.APPROVED, PAYMENT.CAPTURE.COMPLETED).
  Result<Delivery> paypal_event(const std::string& order_id, const std::string& event_type);

  // POSTs a delivery. Success: the HTTP status our server answered.
  Result<int> deliver(const Delivery& delivery);

  // Counters a test can assert on.
  int zarinpal_verify_calls() const;
  int paypal_capture_calls() const;
  int paypal_refunds() const;       // refunds made (replays of a PayPal-Request-Id not counted)
  int paypal_refund_posts() const;  // refund requests received, replays included
  // PayPal: the capture's status (COMPLETED, PARTIALLY_REFUNDED, REFUNDED), "" if unknown.
  std::string paypal_capture_status(const std::string& capture_id) const;
  int stripe_refunds() const;       // refunds made (Idempotency-Key replays not counted)
  int stripe_refund_posts() const;  // POST /v1/refunds received, replays included
  // Stripe: the minor units refunded so far of the session's payment.
  std::int64_t stripe_refunded(const std::string& session_id) const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// The servers' own signing, exposed for the vector tests.
std::string sign_nowpayments_ipn(const std::string& ipn_secret, const std::string& body);
std::string sign_stripe(const std::string& secret, std::int64_t timestamp, const std::string& payload);

// PayPal's offline verification (Java SDK Event.validateReceivedEvent): RSA PKCS#1 v1.5 /
// SHA-256 over "<id>|<time>|<webhook id>|<CRC-32 of body>" with the certificate's key.
// Success: whether the signature is valid. Failure: kInvalidArgument for an unreadable
// certificate or signature.
Result<bool> paypal_verify_offline(const std::string& cert_pem, const std::string& transmission_id,
                                   const std::string& transmission_time, const std::string& webhook_id,
                                   const std::string& body, const std::string& signature_base64);

}  // namespace ms::payments::testing
