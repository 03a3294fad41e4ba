#include "payments/nowpayments/nowpayments.hpp"

#include "payments/gateway_util.hpp"
#include "payments/signatures.hpp"

namespace ms::payments {

using detail::str;

Result<StartResult> NowPaymentsProvider::start(const StartRequest& request) {
  if (request.amount.currency != Currency::kUsd) return fail(ErrorCode::kInvalidArgument, "NOWPayments prices in USD");
  nlohmann::json body = {{"price_amount", nlohmann::json::parse(to_decimal(request.amount))},
                         {"price_currency", "usd"},
                         {"order_id", request.reference},
                         {"order_description", request.description},
                         {"ipn_callback_url", request.callback_url},
                         {"success_url", request.return_url},
                         {"cancel_url", request.return_url}};
  if (!settings_.pay_currency.empty()) body["pay_currency"] = settings_.pay_currency;
  auto res = detail::exchange(client_, "POST", settings_.api_url + "/v1/invoice",
                              {{"x-api-key", settings_.api_key}, {"Content-Type", "application/json"}}, body.dump(),
                              settings_.timeout, "NOWPayments");
  if (!res) return fail(std::move(res.error()));
  auto j = detail::json_body(*res, "NOWPayments");
  if (!j) return fail(std::move(j.error()));
  if (res->status != 200 && res->status != 201)
    return fail(detail::code_for_status(res->status), "NOWPayments refused the invoice: " + str(*j, "message"));
  const std::string id = str(*j, "id");
  const std::string url = str(*j, "invoice_url");
  if (id.empty() || url.empty())
    return fail(ErrorCode::kUnavailable, "NOWPayments answered without an invoice id or url");
  return redirect_start(id, url, request.amount);
}

Result<GatewayReport> NowPaymentsProvider::report_from(const nlohmann::json& body) {
  GatewayReport r;
  const std::string status = str(body, "payment_status");
  const std::string payment_id = str(body, "payment_id");
  if (status.empty() || payment_id.empty())
    return fail(ErrorCode::kInvalidArgument, "NOWPayments body without payment_id or payment_status");
  if (auto order = str(body, "order_id"); !order.empty()) r.reference = order;
  if (auto invoice = str(body, "invoice_id"); !invoice.empty()) r.provider_ref = invoice;
  r.charge_ref = payment_id;
  r.event_key = payment_id + ":" + status;
  r.summary = "payment " + payment_id + " " + status;
  if (status == "finished")
    r.status = GatewayStatus::kPaid;
  else if (status == "partially_paid")
    r.status = GatewayStatus::kPartiallyPaid;
  else if (status == "failed")
    r.status = GatewayStatus::kFailed;
  else if (status == "expired")
    r.status = GatewayStatus::kExpired;
  else if (status == "refunded")
    r.status = GatewayStatus::kRefunded;
  else
    r.status = GatewayStatus::kPending;
  if (r.status == GatewayStatus::kPaid || r.status == GatewayStatus::kPartiallyPaid) {
    std::string price_currency = str(body, "price_currency");
    for (auto& c : price_currency) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto currency = currency_from_code(price_currency);
    if (!currency || !body.contains("price_amount")) {
      r.paid = Money{-1, Currency::kUsd};  // unreadable: a mismatch for a person to look at
      return r;
    }
    auto price = from_json_amount(body["price_amount"], *currency);
    if (!price) return fail(std::move(price.error()));
    Money paid = *price;
    // Scale the price by the share of crypto that arrived (over- and under-payments).
    if (body.contains("actually_paid") && body.contains("pay_amount") && body["actually_paid"].is_number() &&
        body["pay_amount"].is_number()) {
      const double asked = body["pay_amount"].get<double>();
      const double got = body["actually_paid"].get<double>();
      if (asked > 0 && got >= 0 && got != asked) {
        paid.minor = static_cast<std::int64_t>(static_cast<long double>(price->minor) * got / asked);
      }
    }
    r.paid = paid;
  }
  return r;
}

Result<std::vector<GatewayReport>> NowPaymentsProvider::parse_callback(const http::Request& request) {
  auto body = verify_nowpayments(settings_.ipn_secret, request.body, request.header("x-nowpayments-sig").value_or(""));
  if (!body) return fail(std::move(body.error()));
  auto r = report_from(*body);
  if (!r) return fail(std::move(r.error()));
  return std::vector<GatewayReport>{*r};
}

namespace {

// How far along a payment of an invoice is: the report of the furthest is the invoice's.
int progress(GatewayStatus s) {
  switch (s) {
    case GatewayStatus::kPaid: return 6;
    case GatewayStatus::kRefunded: return 5;
    case GatewayStatus::kPartiallyPaid: return 4;
    case GatewayStatus::kPending: return 3;
    case GatewayStatus::kClaimedPaid: return 3;
    case GatewayStatus::kFailed: return 2;
    case GatewayStatus::kExpired: return 1;
  }
  return 0;
}

}  // namespace

Result<nlohmann::json> NowPaymentsProvider::get(const std::string& path, const std::string& bearer) {
  std::vector<std::pair<std::string, std::string>> headers = {{"x-api-key", settings_.api_key}};
  if (!bearer.empty()) headers.emplace_back("Authorization", "Bearer " + bearer);
  auto res = detail::exchange(client_, "GET", settings_.api_url + path, std::move(headers), "", settings_.timeout,
                              "NOWPayments");
  if (!res) return fail(std::move(res.error()));
  auto j = detail::json_body(*res, "NOWPayments");
  if (!j) return fail(std::move(j.error()));
  if (res->status == 404) return fail(ErrorCode::kNotFound, "NOWPayments: " + str(*j, "message"));
  if (res->status != 200)
    return fail(detail::code_for_status(res->status),
                "NOWPayments answered HTTP " + std::to_string(res->status) + ": " + str(*j, "message"));
  return j;
}

Result<GatewayReport> NowPaymentsProvider::poll(const ProviderPayment& payment) {
  GatewayReport pending;
  pending.reference = payment.reference;
  pending.status = GatewayStatus::kPending;
  // A report about another order than this payment's is not about it.
  auto ours = [&](const nlohmann::json& body) {
    const std::string order = str(body, "order_id");
    const std::string invoice = str(body, "invoice_id");
    return (order.empty() || order == payment.reference) &&
           (!payment.provider_ref || invoice.empty() || invoice == *payment.provider_ref);
  };
  if (payment.charge_ref) {
    auto body = get("/v1/payment/" + *payment.charge_ref, "");
    if (!body) return fail(std::move(body.error()));
    if (!ours(*body))
      return fail(ErrorCode::kInvalidArgument,
                  "NOWPayments payment " + *payment.charge_ref + " is not for " + payment.reference);
    return report_from(*body);
  }
  if (!payment.provider_ref || settings_.email.empty()) return pending;
  nlohmann::json login = {{"email", settings_.email}, {"password", settings_.password}};
  auto auth = detail::exchange(client_, "POST", settings_.api_url + "/v1/auth", {{"Content-Type", "application/json"}},
                               login.dump(), settings_.timeout, "NOWPayments");
  if (!auth) return fail(std::move(auth.error()));
  auto token = detail::json_body(*auth, "NOWPayments");
  if (!token) return fail(std::move(token.error()));
  if (auth->status != 200 || str(*token, "token").empty())
    return fail(detail::code_for_status(auth->status == 200 ? 401 : auth->status),
                "NOWPayments refused the login: " + str(*token, "message"));
  auto list =
      get("/v1/payment/?invoiceId=" + *payment.provider_ref + "&limit=100&page=0&sortBy=created_at&orderBy=desc",
          str(*token, "token"));
  if (!list) return fail(std::move(list.error()));
  if (!list->contains("data") || !(*list)["data"].is_array())
    return fail(ErrorCode::kUnavailable, "NOWPayments listed an invoice's payments without data");
  std::optional<GatewayReport> best;
  for (const auto& body : (*list)["data"]) {
    if (!body.is_object() || !ours(body)) continue;
    auto r = report_from(body);
    if (!r) continue;
    if (!best || progress(r->status) > progress(best->status)) best = std::move(*r);
  }
  if (!best) return pending;
  if (!best->reference) best->reference = payment.reference;
  return *best;
}

Result<RefundResult> NowPaymentsProvider::refund(const ProviderPayment&, const RefundRequest&) {
  return fail(ErrorCode::kPermissionDenied, "NOWPayments refunds are made from its dashboard");
}

}  // namespace ms::payments
