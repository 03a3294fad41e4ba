// The NOWPayments (invoices, payment status, auth, payment list, IPNs) and Zarinpal (request,
// verify, StartPay) test servers.
#include "gateway_state.hpp"

namespace ms::payments::testing {

// ---- NOWPayments -------------------------------------------------------------------------------

void GatewayTestServers::State::add_nowpayments() {
  auto np_error = [](int status, const std::string& code, const std::string& message) {
    return json_response(status, {{"status", false}, {"statusCode", status}, {"code", code}, {"message", message}});
  };
  auto authorised = [this](const Request& req) { return req.header("x-api-key") == o.nowpayments_api_key; };
  route(Method::kGet, "/v1/status", "nowpayments", [](Request&) { return json_response(200, {{"message", "OK"}}); });
  route(Method::kPost, "/v1/invoice", "nowpayments", [=, this](Request& req) {
    if (!authorised(req)) return np_error(403, "INVALID_API_KEY", "Invalid api key");
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return np_error(400, "INVALID_REQUEST_PARAMS", "body is not JSON");
    if (!body.contains("price_amount") || !body["price_amount"].is_number() || body["price_amount"].get<double>() <= 0)
      return np_error(400, "INVALID_REQUEST_PARAMS", "\"price_amount\" must be a positive number");
    if (!body.contains("price_currency") || !body["price_currency"].is_string())
      return np_error(400, "INVALID_REQUEST_PARAMS", "\"price_currency\" is required");
    for (const char* url : {"ipn_callback_url", "success_url", "cancel_url"})
      if (body.contains(url) && (!body[url].is_string() || body[url].get<std::string>().rfind("http", 0) != 0))
        return np_error(400, "INVALID_REQUEST_PARAMS", std::string("\"") + url + "\" must be a valid uri");
    const std::string id = std::to_string(next_id++);
    OJson invoice = {{"id", id},
                     {"token_id", random_lower(10)},
                     {"order_id", body.value("order_id", Json()).is_string() ? body["order_id"] : Json()},
                     {"order_description", body.contains("order_description") ? body["order_description"] : Json()},
                     {"price_amount", body["price_amount"].dump()},
                     {"price_currency", body["price_currency"]},
                     {"pay_currency", body.contains("pay_currency") ? body["pay_currency"] : Json()},
                     {"ipn_callback_url", body.contains("ipn_callback_url") ? body["ipn_callback_url"] : Json()},
                     {"invoice_url", base() + "/payment/?iid=" + id},
                     {"success_url", body.contains("success_url") ? body["success_url"] : Json()},
                     {"cancel_url", body.contains("cancel_url") ? body["cancel_url"] : Json()},
                     {"created_at", rfc3339(now())},
                     {"updated_at", rfc3339(now())}};
    {
      std::lock_guard lock(mu);
      OJson stored = invoice;
      stored["price_number"] = body["price_amount"];
      np_invoices[id] = stored;
    }
    return Response::text(200, invoice.dump(), "application/json");
  });
  // Status of one payment (x-api-key of the account that created it).
  route(Method::kGet, "/v1/payment/{payment_id}", "nowpayments", [=, this](Request& req) {
    if (!authorised(req)) return np_error(403, "INVALID_API_KEY", "Invalid api key");
    const std::string id(*req.path_param("payment_id"));
    if (!is_integer(id)) return np_error(400, "INVALID_REQUEST_PARAMS", "\"payment_id\" must be a number");
    std::lock_guard lock(mu);
    ++np_status_calls;
    auto it = np_payments.find(id);
    if (it == np_payments.end()) return np_error(404, "PAYMENT_NOT_FOUND", "Payment not found");
    return Response::text(200, it->second.dump(), "application/json");
  });
  // The JWT the list of payments needs (email and password of the account; lives 5 minutes).
  route(Method::kPost, "/v1/auth", "nowpayments", [=, this](Request& req) {
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.value("email", Json()).is_string() ||
        !body.value("password", Json()).is_string())
      return np_error(400, "INVALID_REQUEST_PARAMS", "\"email\" and \"password\" are required");
    if (body["email"] != o.nowpayments_email || body["password"] != o.nowpayments_password)
      return np_error(401, "INVALID_CREDENTIALS", "Invalid email or password");
    const std::string token = "eyJ" + random_lower(40);
    std::lock_guard lock(mu);
    np_tokens[token] = now() + 300;
    return json_response(200, {{"token", token}});
  });
  // The account's payments, filtered by invoiceId (x-api-key and a live Bearer JWT).
  route(Method::kGet, "/v1/payment/", "nowpayments", [=, this](Request& req) {
    if (!authorised(req)) return np_error(403, "INVALID_API_KEY", "Invalid api key");
    const std::string bearer(req.header("Authorization").value_or(""));
    const std::string limit(req.query_param("limit").value_or("10"));
    const std::string page(req.query_param("page").value_or("0"));
    const std::string invoice(req.query_param("invoiceId").value_or(""));
    if (!is_integer(limit) || std::stoll(limit) < 1 || std::stoll(limit) > 500 || !is_integer(page) ||
        (!invoice.empty() && !is_integer(invoice)))
      return np_error(400, "INVALID_REQUEST_PARAMS", "limit 1-500, page >= 0 and invoiceId are numbers");
    std::lock_guard lock(mu);
    auto t = bearer.rfind("Bearer ", 0) == 0 ? np_tokens.find(bearer.substr(7)) : np_tokens.end();
    if (t == np_tokens.end() || t->second < now()) return np_error(401, "AUTH_REQUIRED", "Authorization required");
    OJson data = OJson::array();
    for (auto it = np_payments.rbegin(); it != np_payments.rend(); ++it)  // newest first
      if (invoice.empty() || it->second["invoice_id"].dump() == invoice) data.push_back(it->second);
    const auto total = data.size();
    OJson out = {
        {"data", data}, {"limit", std::stoll(limit)}, {"page", std::stoll(page)}, {"pagesCount", 1}, {"total", total}};
    return Response::text(200, out.dump(), "application/json");
  });
}

Result<Delivery> GatewayTestServers::nowpayments_pay(const std::string& invoice_id, const std::string& status,
                                                     double paid_fraction) {
  OJson invoice;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->np_invoices.find(invoice_id);
    if (it == state_->np_invoices.end()) return fail(ErrorCode::kNotFound, "no such invoice");
    invoice = it->second;
  }
  if (!invoice["ipn_callback_url"].is_string()) return fail(ErrorCode::kInvalidArgument, "invoice has no IPN url");
  const double price = invoice["price_number"].get<double>();
  const double pay_amount = price;  // 1 USDT per USD in this gateway
  OJson ipn = {{"payment_id", state_->next_id++},
               {"invoice_id", std::stoll(invoice_id)},
               {"payment_status", status},
               {"pay_address", "TXYZtestaddress"},
               {"payin_extra_id", nullptr},
               {"price_amount", invoice["price_number"]},
               {"price_currency", invoice["price_currency"]},
               {"pay_amount", pay_amount},
               {"actually_paid", pay_amount * paid_fraction},
               {"actually_paid_at_fiat", 0},
               {"pay_currency", "usdttrc20"},
               {"order_id", invoice["order_id"]},
               {"order_description", invoice["order_description"]},
               {"purchase_id", std::to_string(state_->next_id++)},
               {"outcome_amount", pay_amount * paid_fraction * 0.995},
               {"outcome_currency", "usdttrc20"},
               {"payment_extra_ids", nullptr},
               {"fee", {{"currency", "usdttrc20"}, {"depositFee", 0}, {"withdrawalFee", 0}, {"serviceFee", 0}}}};
  {
    std::lock_guard lock(state_->mu);
    state_->np_payments[ipn["payment_id"].dump()] = ipn;
  }
  return state_->np_delivery(invoice["ipn_callback_url"].get<std::string>(), ipn);
}

Result<Delivery> GatewayTestServers::nowpayments_update(std::int64_t payment_id, const std::string& status,
                                                        double paid_fraction) {
  OJson ipn;
  std::string url;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->np_payments.find(std::to_string(payment_id));
    if (it == state_->np_payments.end()) return fail(ErrorCode::kNotFound, "no such payment");
    it->second["payment_status"] = status;
    it->second["actually_paid"] = it->second["pay_amount"].get<double>() * paid_fraction;
    it->second["outcome_amount"] = it->second["pay_amount"].get<double>() * paid_fraction * 0.995;
    ipn = it->second;
    url = state_->np_invoices[ipn["invoice_id"].dump()]["ipn_callback_url"].get<std::string>();
  }
  return state_->np_delivery(url, ipn);
}

int GatewayTestServers::nowpayments_status_calls() const {
  std::lock_guard lock(state_->mu);
  return state_->np_status_calls;
}

Delivery GatewayTestServers::State::np_delivery(const std::string& url, const OJson& ipn) {
  Delivery d;
  d.url = url;
  d.body = ipn.dump();  // documented field order, not sorted: the receiver must sort
  d.headers = {{"Content-Type", "application/json"},
               {"x-nowpayments-sig", crypto::hmac_sha512_hex(o.nowpayments_ipn_secret, sorted(ipn).dump())}};
  return d;
}

// ---- Zarinpal ----------------------------------------------------------------------------------

void GatewayTestServers::State::add_zarinpal() {
  auto zp_error = [](int code, const std::string& message, Json validations = Json::array()) {
    return json_response(
        code == -9 ? 422 : 400,
        {{"data", Json::array()}, {"errors", {{"code", code}, {"message", message}, {"validations", validations}}}});
  };
  route(Method::kPost, "/pg/v4/payment/request.json", "zarinpal", [=, this](Request& req) {
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return zp_error(-9, "The input params invalid, validation error.");
    Json validations = Json::array();
    const std::string merchant =
        body.value("merchant_id", Json()).is_string() ? body["merchant_id"].get<std::string>() : "";
    if (merchant.size() != 36) validations.push_back({{"merchant_id", "The merchant id field is required."}});
    if (!body.contains("amount") || !body["amount"].is_number_integer() || body["amount"].get<std::int64_t>() < 1000)
      validations.push_back({{"amount", "The amount must be at least 1000."}});
    const std::string description =
        body.value("description", Json()).is_string() ? body["description"].get<std::string>() : "";
    if (description.empty() || description.size() > 500)
      validations.push_back({{"description", "The description field is required (at most 500 characters)."}});
    const std::string callback =
        body.value("callback_url", Json()).is_string() ? body["callback_url"].get<std::string>() : "";
    if (callback.rfind("http://", 0) != 0 && callback.rfind("https://", 0) != 0)
      validations.push_back({{"callback_url", "The callback url field is required."}});
    if (body.contains("currency") && body["currency"] != "IRR" && body["currency"] != "IRT")
      validations.push_back({{"currency", "The selected currency is invalid."}});
    if (!validations.empty()) return zp_error(-9, "The input params invalid, validation error.", validations);
    if (merchant != o.zarinpal_merchant_id)
      return zp_error(-10, "Terminal is not valid, please check merchant_id or ip address.");
    std::string authority = "A" + std::string(35 - 10, '0') + std::to_string(next_id++).substr(0, 10);
    authority.resize(36, '0');
    {
      std::lock_guard lock(mu);
      zp[authority] = Zp{body["amount"].get<std::int64_t>(), callback};
    }
    return json_response(200, {{"data",
                                {{"code", 100},
                                 {"message", "Success"},
                                 {"authority", authority},
                                 {"fee_type", "Merchant"},
                                 {"fee", body["amount"].get<std::int64_t>() / 100}}},
                               {"errors", Json::array()}});
  });
  route(Method::kPost, "/pg/v4/payment/verify.json", "zarinpal", [=, this](Request& req) {
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("authority") || !body.contains("amount") ||
        !body["amount"].is_number_integer())
      return zp_error(-9, "The input params invalid, validation error.");
    if (body.value("merchant_id", "") != o.zarinpal_merchant_id)
      return zp_error(-10, "Terminal is not valid, please check merchant_id or ip address.");
    std::lock_guard lock(mu);
    ++zp_verify_calls;
    auto it = zp.find(body["authority"].get<std::string>());
    if (it == zp.end()) return zp_error(-54, "Invalid authority.");
    if (it->second.amount != body["amount"].get<std::int64_t>())
      return zp_error(-50, "Session is not valid, amounts values is not the same.");
    if (!it->second.paid) return zp_error(-51, "Session is not valid, session is not active paid try.");
    const int code = it->second.verified ? 101 : 100;
    it->second.verified = true;
    return json_response(200, {{"data",
                                {{"code", code},
                                 {"message", code == 100 ? "Paid" : "Verified"},
                                 {"card_hash", crypto::sha256_hex("5022291234565995")},
                                 {"card_pan", "502229******5995"},
                                 {"ref_id", it->second.ref_id},
                                 {"fee_type", "Merchant"},
                                 {"fee", it->second.amount / 100}}},
                               {"errors", Json::array()}});
  });
  route(Method::kGet, "/pg/StartPay/{authority}", "zarinpal", [this](Request& req) {
    std::lock_guard lock(mu);
    auto it = zp.find(std::string(*req.path_param("authority")));
    if (it == zp.end()) return Response::text(404, "Invalid authority");
    auto result = req.query_param("result");
    if (!result) return Response::text(200, "<html><body>Zarinpal test payment page</body></html>", "text/html");
    if (*result == "OK") {
      it->second.paid = true;
      it->second.ref_id = next_id++;
    }
    Response r = Response::text(302, "");
    r.headers.set("Location", it->second.callback + (it->second.callback.find('?') == std::string::npos ? "?" : "&") +
                                  "Authority=" + it->first + "&Status=" + std::string(*result == "OK" ? "OK" : "NOK"));
    return r;
  });
}

Result<std::string> GatewayTestServers::zarinpal_pay(const std::string& authority, bool success) {
  std::lock_guard lock(state_->mu);
  auto it = state_->zp.find(authority);
  if (it == state_->zp.end()) return fail(ErrorCode::kNotFound, "no such authority");
  if (success) {
    it->second.paid = true;
    it->second.ref_id = state_->next_id++;
  }
  return it->second.callback + (it->second.callback.find('?') == std::string::npos ? "?" : "&") +
         "Authority=" + authority + "&Status=" + (success ? "OK" : "NOK");
}

}  // namespace ms::payments::testing
