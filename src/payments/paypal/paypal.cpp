#include "payments/paypal/paypal.hpp"

#include "core/crypto/primitives.hpp"
#include "payments/gateway_util.hpp"

namespace ms::payments {

using detail::str;

Result<std::string> PayPalProvider::token() {
  std::lock_guard lock(mutex_);
  const std::int64_t now = clock_.unix_seconds();
  if (!token_.empty() && now < token_expires_) return token_;
  auto res = detail::exchange(
      client_, "POST", settings_.api_url + "/v1/oauth2/token",
      {{"Authorization", "Basic " + crypto::base64_encode(settings_.client_id + ":" + settings_.client_secret)},
       {"Content-Type", "application/x-www-form-urlencoded"}},
      "grant_type=client_credentials", settings_.timeout, "PayPal");
  if (!res) return fail(std::move(res.error()));
  auto j = detail::json_body(*res, "PayPal");
  if (!j) return fail(std::move(j.error()));
  if (res->status != 200) return fail(detail::code_for_status(res->status), "PayPal OAuth: " + str(*j, "error"));
  token_ = str(*j, "access_token");
  if (token_.empty()) return fail(ErrorCode::kUnavailable, "PayPal OAuth answered without access_token");
  std::int64_t ttl = (*j)["expires_in"].is_number_integer() ? (*j)["expires_in"].get<std::int64_t>() : 300;
  token_expires_ = now + (ttl > 120 ? ttl - 60 : ttl / 2);
  return token_;
}

Result<http::ClientResponse> PayPalProvider::call(std::string method, const std::string& path, std::string body,
                                                  const std::string& request_id) {
  auto t = token();
  if (!t) return fail(std::move(t.error()));
  std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + *t},
                                                              {"Content-Type", "application/json"}};
  if (!request_id.empty()) headers.emplace_back("PayPal-Request-Id", request_id);
  auto res = detail::exchange(client_, std::move(method), settings_.api_url + path, std::move(headers), std::move(body),
                              settings_.timeout, "PayPal");
  if (res && res->status == 401) {
    std::lock_guard lock(mutex_);
    token_.clear();  // revoked or expired early: fetch a new one next time
  }
  return res;
}

Result<StartResult> PayPalProvider::start(const StartRequest& request) {
  if (request.amount.currency != Currency::kUsd) return fail(ErrorCode::kInvalidArgument, "PayPal charges in USD here");
  nlohmann::json body = {
      {"intent", "CAPTURE"},
      {"purchase_units",
       {{{"reference_id", request.reference},
         {"custom_id", request.reference},
         {"description", request.description.empty() ? "Payment" : request.description.substr(0, 127)},
         {"amount", {{"currency_code", "USD"}, {"value", to_decimal(request.amount)}}}}}},
      {"payment_source",
       {{"paypal",
         {{"experience_context", {{"return_url", request.return_url}, {"cancel_url", request.return_url}}}}}}}};
  auto res = call("POST", "/v2/checkout/orders", body.dump(), request.reference);
  if (!res) return fail(std::move(res.error()));
  auto j = detail::json_body(*res, "PayPal");
  if (!j) return fail(std::move(j.error()));
  if (res->status != 201 && res->status != 200)
    return fail(detail::code_for_status(res->status), "PayPal refused the order: " + str(*j, "name"));
  const std::string id = str(*j, "id");
  std::string approve;
  if (j->contains("links") && (*j)["links"].is_array())
    for (const auto& link : (*j)["links"])
      if (str(link, "rel") == "approve" || str(link, "rel") == "payer-action") approve = str(link, "href");
  if (id.empty() || approve.empty())
    return fail(ErrorCode::kUnavailable, "PayPal answered without an order id or approval link");
  return redirect_start(id, approve, request.amount);
}

Result<std::vector<GatewayReport>> PayPalProvider::parse_callback(const http::Request& request) {
  const char* names[] = {"PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG",
                         "PAYPAL-CERT-URL", "PAYPAL-AUTH-ALGO"};
  std::string values[5];
  for (int i = 0; i < 5; ++i) {
    auto v = request.header(names[i]);
    if (!v || v->empty()) return fail(ErrorCode::kUnauthenticated, std::string(names[i]) + " is missing");
    values[i] = std::string(*v);
  }
  auto event = nlohmann::json::parse(request.body, nullptr, false);
  if (event.is_discarded() || !event.is_object()) return fail(ErrorCode::kInvalidArgument, "PayPal event is not JSON");
  nlohmann::json verify = {{"auth_algo", values[4]},         {"cert_url", values[3]},
                           {"transmission_id", values[0]},   {"transmission_sig", values[2]},
                           {"transmission_time", values[1]}, {"webhook_id", settings_.webhook_id},
                           {"webhook_event", event}};
  auto res = call("POST", "/v1/notifications/verify-webhook-signature", verify.dump(), "");
  if (!res) return fail(std::move(res.error()));
  auto answer = detail::json_body(*res, "PayPal");
  if (!answer) return fail(std::move(answer.error()));
  if (res->status != 200) {
    if (res->status >= 500 || res->status == 429)
      return fail(ErrorCode::kUnavailable, "PayPal could not verify the webhook now");
    return fail(ErrorCode::kUnauthenticated, "PayPal refused to verify the webhook: " + str(*answer, "name"));
  }
  if (str(*answer, "verification_status") != "SUCCESS")
    return fail(ErrorCode::kUnauthenticated, "PayPal says the webhook signature is not its own");

  std::vector<GatewayReport> out;
  const std::string type = str(event, "event_type");
  const nlohmann::json resource = event.value("resource", nlohmann::json::object());
  GatewayReport r;
  r.event_key = str(event, "id");
  r.summary = type;
  if (type == "CHECKOUT.ORDER.APPROVED") {
    r.provider_ref = str(resource, "id");
    if (resource.contains("purchase_units") && resource["purchase_units"].is_array() &&
        !resource["purchase_units"].empty())
      if (auto c = str(resource["purchase_units"][0], "custom_id"); !c.empty()) r.reference = c;
    r.status = GatewayStatus::kClaimedPaid;
    r.event_key.clear();  // a claim; the capture that follows is the event we log
  } else if (type == "PAYMENT.CAPTURE.COMPLETED" || type == "PAYMENT.CAPTURE.DENIED") {
    if (auto c = str(resource, "custom_id"); !c.empty()) r.reference = c;
    if (resource.contains("supplementary_data"))
      if (auto o = str(resource["supplementary_data"].value("related_ids", nlohmann::json::object()), "order_id");
          !o.empty())
        r.provider_ref = o;
    if (type == "PAYMENT.CAPTURE.DENIED") {
      r.status = GatewayStatus::kFailed;
    } else {
      r.status = GatewayStatus::kPaid;
      if (auto c = str(resource, "id"); !c.empty()) r.charge_ref = c;
      const auto amount = resource.value("amount", nlohmann::json::object());
      auto currency = currency_from_code(str(amount, "currency_code"));
      auto value = currency ? from_decimal(str(amount, "value"), *currency) : fail(ErrorCode::kInvalidArgument, "");
      r.paid = value ? *value : Money{-1, Currency::kUsd};
    }
  } else {
    return out;  // not an event we act on
  }
  if (!r.reference && !r.provider_ref) return fail(ErrorCode::kInvalidArgument, "PayPal event names no order");
  out.push_back(std::move(r));
  return out;
}

Result<GatewayReport> PayPalProvider::report_from_order(const nlohmann::json& order, const ProviderPayment& payment) {
  GatewayReport r;
  r.reference = payment.reference;
  r.provider_ref = str(order, "id");
  const std::string status = str(order, "status");
  r.summary = "order " + status;
  if (status == "COMPLETED") {
    const nlohmann::json* capture = nullptr;
    if (order.contains("purchase_units") && order["purchase_units"].is_array() && !order["purchase_units"].empty()) {
      const auto& pu = order["purchase_units"][0];
      if (pu.contains("payments") && pu["payments"].contains("captures") && pu["payments"]["captures"].is_array() &&
          !pu["payments"]["captures"].empty())
        capture = &pu["payments"]["captures"][0];
    }
    if (capture == nullptr) return fail(ErrorCode::kUnavailable, "PayPal order COMPLETED without a capture");
    const std::string cstatus = str(*capture, "status");
    if (cstatus == "COMPLETED" || cstatus == "PARTIALLY_REFUNDED") {
      r.status = GatewayStatus::kPaid;
      const auto amount = capture->value("amount", nlohmann::json::object());
      auto currency = currency_from_code(str(amount, "currency_code"));
      auto value = currency ? from_decimal(str(amount, "value"), *currency) : fail(ErrorCode::kInvalidArgument, "");
      r.paid = value ? *value : Money{-1, Currency::kUsd};
      r.event_key = "capture:" + str(*capture, "id");
      r.charge_ref = str(*capture, "id");
    } else if (cstatus == "DECLINED" || cstatus == "FAILED") {
      r.status = GatewayStatus::kFailed;
    } else if (cstatus == "REFUNDED") {
      r.status = GatewayStatus::kRefunded;
    } else {
      r.status = GatewayStatus::kPending;
    }
  } else if (status == "VOIDED") {
    r.status = GatewayStatus::kFailed;
  } else if (status == "APPROVED") {
    r.status = GatewayStatus::kClaimedPaid;
  } else {
    r.status = GatewayStatus::kPending;
  }
  return r;
}

Result<GatewayReport> PayPalProvider::poll(const ProviderPayment& payment) {
  if (!payment.provider_ref) {
    GatewayReport r;
    r.reference = payment.reference;
    return r;
  }
  const std::string path = "/v2/checkout/orders/" + *payment.provider_ref;
  auto res = call("GET", path, "", "");
  if (!res) return fail(std::move(res.error()));
  auto order = detail::json_body(*res, "PayPal");
  if (!order) return fail(std::move(order.error()));
  if (res->status != 200) return fail(detail::code_for_status(res->status), "PayPal order: " + str(*order, "name"));
  auto report = report_from_order(*order, payment);
  if (!report || report->status != GatewayStatus::kClaimedPaid) return report;
  // Approved by the payer: capture it (idempotent through PayPal-Request-Id).
  auto captured = call("POST", path + "/capture", "{}", "capture-" + payment.reference);
  if (!captured) return fail(std::move(captured.error()));
  auto body = detail::json_body(*captured, "PayPal");
  if (!body) return fail(std::move(body.error()));
  if (captured->status == 200 || captured->status == 201) return report_from_order(*body, payment);
  if (captured->status == 422) {
    // ORDER_ALREADY_CAPTURED (a concurrent capture won): read the order again.
    auto again = call("GET", path, "", "");
    if (!again) return fail(std::move(again.error()));
    auto order2 = detail::json_body(*again, "PayPal");
    if (!order2) return fail(std::move(order2.error()));
    return report_from_order(*order2, payment);
  }
  return fail(detail::code_for_status(captured->status), "PayPal capture: " + str(*body, "name"));
}

namespace {

// A PayPal Refund resource as our result: COMPLETED and PENDING took the money back (PENDING
// settles later, e.g. an eCheck); CANCELLED and FAILED did not.
Result<RefundResult> refund_result(const nlohmann::json& refund) {
  const std::string status = str(refund, "status");
  const std::string id = str(refund, "id");
  if (id.empty()) return fail(ErrorCode::kUnavailable, "PayPal answered a refund without its id");
  if (status == "COMPLETED") return RefundResult{id, false};
  if (status == "PENDING") return RefundResult{id, true};
  return fail(ErrorCode::kConflict, "PayPal refund " + id + " is " + (status.empty() ? "without a status" : status));
}

// The first `details[].issue` of a PayPal error body.
std::string issue_of(const nlohmann::json& error) {
  if (error.contains("details") && error["details"].is_array() && !error["details"].empty())
    return str(error["details"][0], "issue");
  return {};
}

const nlohmann::json* first_payments(const nlohmann::json& order) {
  if (!order.contains("purchase_units") || !order["purchase_units"].is_array() || order["purchase_units"].empty())
    return nullptr;
  const auto& pu = order["purchase_units"][0];
  return pu.contains("payments") && pu["payments"].is_object() ? &pu["payments"] : nullptr;
}

}  // namespace

Result<RefundResult> PayPalProvider::refund(const ProviderPayment& payment, const RefundRequest& request) {
  if (request.amount && request.amount->currency != Currency::kUsd)
    return fail(ErrorCode::kInvalidArgument, "PayPal refunds in USD here");
  if (request.key.empty() || request.key.size() > 108)
    return fail(ErrorCode::kInvalidArgument, "a PayPal refund needs a key of 1-108 characters");
  std::string capture = request.charge_id;
  if (capture.empty() || request.resume) {
    // Ask PayPal first: the order names its capture (payments from before capture ids were
    // kept) and lists the refunds already made, ours carrying our key as invoice_id.
    if (!payment.provider_ref) return fail(ErrorCode::kInvalidArgument, "no PayPal order to refund");
    auto res = call("GET", "/v2/checkout/orders/" + *payment.provider_ref, "", "");
    if (!res) return fail(std::move(res.error()));
    auto order = detail::json_body(*res, "PayPal");
    if (!order) return fail(std::move(order.error()));
    if (res->status != 200) return fail(detail::code_for_status(res->status), "PayPal order: " + str(*order, "name"));
    const nlohmann::json* payments = first_payments(*order);
    if (payments != nullptr && payments->contains("refunds") && (*payments)["refunds"].is_array())
      for (const auto& r : (*payments)["refunds"])
        if (str(r, "invoice_id") == request.key) return refund_result(r);
    if (capture.empty() && payments != nullptr && payments->contains("captures") &&
        (*payments)["captures"].is_array() && !(*payments)["captures"].empty())
      capture = str((*payments)["captures"][0], "id");
    if (capture.empty()) return fail(ErrorCode::kConflict, "the PayPal order has no capture to refund");
  }
  // No amount refunds what is left of the capture; invoice_id lets a retry find this refund.
  nlohmann::json body = {{"invoice_id", request.key}};
  if (request.amount) body["amount"] = {{"value", to_decimal(*request.amount)}, {"currency_code", "USD"}};
  auto res = call("POST", "/v2/payments/captures/" + capture + "/refund", body.dump(), request.key);
  if (!res) return fail(std::move(res.error()));
  auto answer = detail::json_body(*res, "PayPal");
  if (!answer) return fail(std::move(answer.error()));
  if (res->status == 200 || res->status == 201) return refund_result(*answer);
  const std::string issue = issue_of(*answer);
  if (res->status == 404) return fail(ErrorCode::kNotFound, "PayPal knows no capture " + capture);
  if (res->status == 422) {
    if (issue == "CAPTURE_FULLY_REFUNDED")
      return fail(ErrorCode::kConflict, "PayPal says capture " + capture + " is already fully refunded");
    if (issue == "REFUND_AMOUNT_EXCEEDED")
      return fail(ErrorCode::kInvalidArgument, "PayPal says the refund is more than what is left of the capture");
    return fail(ErrorCode::kInvalidArgument,
                "PayPal refused the refund: " + (issue.empty() ? str(*answer, "name") : issue));
  }
  return fail(detail::code_for_status(res->status),
              "PayPal refund: HTTP " + std::to_string(res->status) + " " + str(*answer, "name") + " " + issue);
}

}  // namespace ms::payments
