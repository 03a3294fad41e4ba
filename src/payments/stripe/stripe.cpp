#include "payments/stripe/stripe.hpp"

#include "payments/gateway_util.hpp"
#include "payments/signatures.hpp"

namespace ms::payments {

using detail::str;

std::string form_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

GatewayReport session_report(const nlohmann::json& session) {
  GatewayReport r;
  r.provider_ref = str(session, "id");
  if (auto ref = str(session, "client_reference_id"); !ref.empty()) r.reference = ref;
  const std::string status = str(session, "status");
  const std::string payment_status = str(session, "payment_status");
  if (payment_status == "paid") {
    r.status = GatewayStatus::kPaid;
    auto currency = currency_from_code(upper(str(session, "currency")));
    const auto total = session.find("amount_total");
    if (currency && total != session.end() && total->is_number_integer())
      r.paid = Money{total->get<std::int64_t>(), *currency};
    else
      r.paid = Money{-1, Currency::kUsd};  // unreadable: a mismatch for a person
  } else if (status == "expired") {
    r.status = GatewayStatus::kExpired;
  } else {
    r.status = GatewayStatus::kPending;
  }
  r.summary = "session " + status + "/" + payment_status;
  return r;
}

}  // namespace

Result<nlohmann::json> StripeProvider::call(std::string method, std::string path, std::string form,
                                            std::string idempotency_key) {
  std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + settings_.secret_key}};
  if (!form.empty()) headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
  auto res = detail::exchange(client_, std::move(method), settings_.api_url + path, std::move(headers), std::move(form),
                              settings_.timeout, "Stripe");
  if (!res) return fail(std::move(res.error()));
  auto j = detail::json_body(*res, "Stripe");
  if (!j) return fail(std::move(j.error()));
  if (res->status != 200) {
    const nlohmann::json error = j->contains("error") && (*j)["error"].is_object() ? (*j)["error"] : nlohmann::json();
    const std::string code = error.is_object() ? str(error, "code") : std::string();
    const std::string kind = error.is_object() ? str(error, "type") : std::string();
    ErrorCode ours = detail::code_for_status(res->status);
    if (code == "charge_already_refunded") ours = ErrorCode::kConflict;
    if (code == "resource_missing") ours = ErrorCode::kNotFound;
    return fail(ours, "Stripe answered " + std::to_string(res->status) + " " + (code.empty() ? kind : code) + ": " +
                          (error.is_object() ? str(error, "message") : std::string()));
  }
  return j;
}

Result<StartResult> StripeProvider::start(const StartRequest& request) {
  if (request.amount.currency != Currency::kUsd) return fail(ErrorCode::kInvalidArgument, "Stripe charges in USD here");
  std::string form = "mode=payment";
  auto add = [&form](std::string_view key, std::string_view value) {
    form += '&';
    form += form_escape(key);
    form += '=';
    form += form_escape(value);
  };
  add("line_items[0][price_data][currency]", "usd");
  add("line_items[0][price_data][unit_amount]", std::to_string(request.amount.minor));
  add("line_items[0][price_data][product_data][name]", request.description.empty() ? "Payment" : request.description);
  add("line_items[0][quantity]", "1");
  add("client_reference_id", request.reference);
  add("metadata[reference]", request.reference);
  add("success_url", request.return_url + "?session_id={CHECKOUT_SESSION_ID}");
  add("cancel_url", request.return_url);
  // Stripe accepts expires_at 30 min .. 24 h ahead; outside that its default (24 h) applies
  // and our own deadline still expires the payment.
  const std::int64_t now = clock_.unix_seconds();
  if (request.expires_at && *request.expires_at >= now + 1800 && *request.expires_at <= now + 86400)
    add("expires_at", std::to_string(*request.expires_at));
  auto session = call("POST", "/v1/checkout/sessions", form, request.reference);
  if (!session) return fail(std::move(session.error()));
  const std::string id = str(*session, "id");
  const std::string url = str(*session, "url");
  if (id.empty() || url.empty()) return fail(ErrorCode::kUnavailable, "Stripe answered without a session id or url");
  return redirect_start(id, url, request.amount);
}

Result<std::vector<GatewayReport>> StripeProvider::parse_callback(const http::Request& request) {
  auto header = request.header("Stripe-Signature");
  if (!header) return fail(ErrorCode::kUnauthenticated, "Stripe-Signature is missing");
  if (auto v = verify_stripe(settings_.webhook_secret, request.body, *header, clock_.unix_seconds(),
                             settings_.tolerance_seconds);
      !v)
    return fail(std::move(v.error()));
  auto event = nlohmann::json::parse(request.body, nullptr, false);
  if (event.is_discarded() || !event.is_object() || !event.contains("data") || !event["data"].is_object())
    return fail(ErrorCode::kInvalidArgument, "Stripe event without data");
  const std::string type = str(event, "type");
  const nlohmann::json& object = event["data"]["object"];
  std::vector<GatewayReport> out;
  if (type.rfind("checkout.session.", 0) != 0 || !object.is_object()) return out;  // not ours to act on
  GatewayReport r = session_report(object);
  if (type == "checkout.session.async_payment_failed") r.status = GatewayStatus::kFailed;
  if (type == "checkout.session.expired") r.status = GatewayStatus::kExpired;
  r.event_key = str(event, "id");
  r.summary = type;
  out.push_back(std::move(r));
  return out;
}

Result<GatewayReport> StripeProvider::poll(const ProviderPayment& payment) {
  if (!payment.provider_ref) {
    GatewayReport r;
    r.reference = payment.reference;
    return r;
  }
  auto session = call("GET", "/v1/checkout/sessions/" + form_escape(*payment.provider_ref), "", "");
  if (!session) return fail(std::move(session.error()));
  GatewayReport r = session_report(*session);
  if (r.status == GatewayStatus::kPaid) r.event_key = "poll:" + *payment.provider_ref;
  return r;
}

Result<RefundResult> StripeProvider::refund(const ProviderPayment& payment, const RefundRequest& request) {
  if (request.amount && request.amount->currency != Currency::kUsd)
    return fail(ErrorCode::kInvalidArgument, "Stripe refunds in USD here");
  if (request.key.empty() || request.key.size() > 255)
    return fail(ErrorCode::kInvalidArgument, "a Stripe refund needs an idempotency key of 1-255 characters");
  if (!payment.provider_ref) return fail(ErrorCode::kInvalidArgument, "no Stripe session to refund");
  auto session = call("GET", "/v1/checkout/sessions/" + form_escape(*payment.provider_ref), "", "");
  if (!session) return fail(std::move(session.error()));
  const std::string intent = str(*session, "payment_intent");
  if (intent.empty()) return fail(ErrorCode::kConflict, "the Stripe session has no payment to refund");
  auto result = [](const nlohmann::json& refund) -> Result<RefundResult> {
    const std::string status = str(refund, "status");
    if (status == "failed" || status == "canceled")
      return fail(ErrorCode::kConflict, "Stripe refund " + str(refund, "id") + " is " + status);
    return RefundResult{str(refund, "id"), status == "pending" || status == "requires_action"};
  };
  if (request.resume) {
    // The answer was lost: our key is in the refund's metadata if Stripe made it. (The
    // Idempotency-Key would replay it too, but Stripe prunes keys after 24 hours.)
    auto list = call("GET", "/v1/refunds?limit=100&payment_intent=" + form_escape(intent), "", "");
    if (!list) return fail(std::move(list.error()));
    if (list->contains("data") && (*list)["data"].is_array())
      for (const auto& r : (*list)["data"])
        if (r.contains("metadata") && r["metadata"].is_object() && str(r["metadata"], "refund_key") == request.key)
          return result(r);
  }
  // Without an amount Stripe refunds what is left of the payment.
  std::string form = "payment_intent=" + form_escape(intent);
  if (request.amount) form += "&amount=" + std::to_string(request.amount->minor);
  form += "&metadata%5Brefund_key%5D=" + form_escape(request.key);
  auto refunded = call("POST", "/v1/refunds", form, request.key);
  if (!refunded) return fail(std::move(refunded.error()));
  return result(*refunded);
}

}  // namespace ms::payments
