#include "payments/zarinpal/zarinpal.hpp"

#include "payments/gateway_util.hpp"

namespace ms::payments {

using detail::str;

namespace {

// {"data": {...}, "errors": []} on success; {"data": [], "errors": {"code", "message"}} on failure.
struct Answer {
  int code = 0;
  std::string message;
  nlohmann::json data;
};

Result<Answer> read_answer(const http::ClientResponse& res) {
  auto j = detail::json_body(res, "Zarinpal");
  if (!j) return fail(std::move(j.error()));
  Answer a;
  if (j->contains("data") && (*j)["data"].is_object() && (*j)["data"].contains("code")) {
    a.data = (*j)["data"];
    a.code = a.data["code"].is_number_integer() ? a.data["code"].get<int>() : 0;
    a.message = str(a.data, "message");
  } else if (j->contains("errors") && (*j)["errors"].is_object() && (*j)["errors"].contains("code")) {
    const auto& e = (*j)["errors"];
    a.code = e["code"].is_number_integer() ? e["code"].get<int>() : 0;
    a.message = str(e, "message");
  } else {
    return fail(ErrorCode::kUnavailable, "Zarinpal answered without data.code or errors.code");
  }
  return a;
}

}  // namespace

Result<StartResult> ZarinpalProvider::start(const StartRequest& request) {
  if (request.amount.currency != Currency::kIrr) return fail(ErrorCode::kInvalidArgument, "Zarinpal charges in IRR");
  nlohmann::json body = {{"merchant_id", settings_.merchant_id},
                         {"amount", request.amount.minor},
                         {"currency", "IRR"},
                         {"description", request.description.substr(0, 500)},
                         {"callback_url", request.callback_url},
                         {"metadata", {{"order_id", request.reference}}}};
  auto res = detail::exchange(client_, "POST", settings_.api_url + "/pg/v4/payment/request.json",
                              {{"Content-Type", "application/json"}, {"Accept", "application/json"}}, body.dump(),
                              settings_.timeout, "Zarinpal");
  if (!res) return fail(std::move(res.error()));
  auto a = read_answer(*res);
  if (!a) return fail(std::move(a.error()));
  if (a->code != 100) {
    const ErrorCode ec = a->code == -12 || res->status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInvalidArgument;
    return fail(ec, "Zarinpal refused the request (" + std::to_string(a->code) + "): " + a->message);
  }
  const std::string authority = str(a->data, "authority");
  if (authority.empty()) return fail(ErrorCode::kUnavailable, "Zarinpal answered 100 without an authority");
  return redirect_start(authority, settings_.api_url + "/pg/StartPay/" + authority, request.amount);
}

Result<std::vector<GatewayReport>> ZarinpalProvider::parse_callback(const http::Request& request) {
  auto authority = request.query_param("Authority");
  auto status = request.query_param("Status");
  if (!authority || authority->empty() || !status)
    return fail(ErrorCode::kInvalidArgument, "Zarinpal callback without Authority and Status");
  GatewayReport r;
  r.provider_ref = std::string(*authority);
  // Unsigned either way (anyone can call this URL): OK and NOK are both only claims, and
  // verify decides. NOK with no money simply stays pending until it expires.
  r.status = GatewayStatus::kClaimedPaid;
  r.summary = "callback Status=" + std::string(*status);
  return std::vector<GatewayReport>{r};
}

Result<GatewayReport> ZarinpalProvider::poll(const ProviderPayment& payment) {
  GatewayReport r;
  r.reference = payment.reference;
  r.provider_ref = payment.provider_ref;
  if (!payment.provider_ref) {
    r.status = GatewayStatus::kPending;
    return r;
  }
  nlohmann::json body = {
      {"merchant_id", settings_.merchant_id}, {"amount", payment.amount.minor}, {"authority", *payment.provider_ref}};
  auto res = detail::exchange(client_, "POST", settings_.api_url + "/pg/v4/payment/verify.json",
                              {{"Content-Type", "application/json"}, {"Accept", "application/json"}}, body.dump(),
                              settings_.timeout, "Zarinpal");
  if (!res) return fail(std::move(res.error()));
  auto a = read_answer(*res);
  if (!a) return fail(std::move(a.error()));
  switch (a->code) {
    case 100:
    case 101:
      r.status = GatewayStatus::kPaid;
      r.paid = payment.amount;  // verify checks the amount itself (-50 otherwise)
      r.event_key = "verified:" + *payment.provider_ref;
      r.summary = "verified, ref_id " + str(a->data, "ref_id");
      return r;
    case -51:
      r.status = GatewayStatus::kPending;
      r.summary = "not paid";
      return r;
    case -54:
    case -53:
      r.status = GatewayStatus::kFailed;
      r.summary = "Zarinpal: " + a->message;
      return r;
    default:
      return fail(ErrorCode::kUnavailable, "Zarinpal verify answered " + std::to_string(a->code) + ": " + a->message);
  }
}

Result<RefundResult> ZarinpalProvider::refund(const ProviderPayment&, const RefundRequest&) {
  return fail(ErrorCode::kPermissionDenied,
              "Zarinpal refunds are made from its panel (its refund API needs the account's OAuth token and "
              "Zarinpal's transaction number, and cannot be asked again safely)");
}

}  // namespace ms::payments
