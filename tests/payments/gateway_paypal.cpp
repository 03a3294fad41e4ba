// The PayPal test server: OAuth, Orders v2, captures, refunds and signed webhooks.
#include "gateway_state.hpp"

namespace ms::payments::testing {

// ---- PayPal ------------------------------------------------------------------------------------

namespace {
Json pp_error_body(const std::string& name, const std::string& message, Json details = Json::array()) {
  return {{"name", name},
          {"message", message},
          {"debug_id", random_lower(13)},
          {"details", details},
          {"links", Json::array()}};
}
Response pp_401() {
  return json_response(401, pp_error_body("AUTHENTICATION_FAILURE",
                                          "Authentication failed due to missing authorization header, or invalid "
                                          "authentication credentials."));
}
Response pp_400(const std::string& field, const std::string& issue) {
  return json_response(
      400, pp_error_body("INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema.",
                         Json::array({{{"field", field}, {"location", "body"}, {"issue", issue}}})));
}
Response pp_404() {
  return json_response(404, pp_error_body("RESOURCE_NOT_FOUND", "The specified resource does not exist.",
                                          Json::array({{{"issue", "INVALID_RESOURCE_ID"}}})));
}
Response pp_422(const std::string& issue) {
  return json_response(422, pp_error_body("UNPROCESSABLE_ENTITY",
                                          "The requested action could not be performed, semantically incorrect, or "
                                          "failed business validation.",
                                          Json::array({{{"issue", issue}}})));
}
}  // namespace

void GatewayTestServers::State::add_paypal() {
  auto bearer_ok = [this](const Request& req) {
    auto h = req.header("Authorization");
    if (!h || h->rfind("Bearer ", 0) != 0) return false;
    std::lock_guard lock(mu);
    auto it = pp_tokens.find(std::string(h->substr(7)));
    return it != pp_tokens.end() && it->second > now();
  };
  route(Method::kPost, "/v1/oauth2/token", "paypal", [this](Request& req) {
    if (req.header("Authorization") !=
        "Basic " + crypto::base64_encode(o.paypal_client_id + ":" + o.paypal_client_secret))
      return json_response(401, {{"error", "invalid_client"}, {"error_description", "Client Authentication failed"}});
    if (parse_form(req.body)["grant_type"] != "client_credentials")
      return json_response(
          400, {{"error", "unsupported_grant_type"}, {"error_description", "Grant Type is NULL or not supported"}});
    const std::string token = "A21AA" + random_lower(40);
    {
      std::lock_guard lock(mu);
      pp_tokens[token] = now() + 32400;
    }
    return json_response(200, {{"scope", "https://uri.paypal.com/services/payments/payment"},
                               {"access_token", token},
                               {"token_type", "Bearer"},
                               {"app_id", "APP-80W284485P519543T"},
                               {"expires_in", 32400},
                               {"nonce", rfc3339(now()) + random_lower(8)}});
  });
  route(Method::kPost, "/v2/checkout/orders", "paypal", [=, this](Request& req) {
    if (!bearer_ok(req)) return pp_401();
    const std::string request_id(req.header("PayPal-Request-Id").value_or(""));
    if (request_id.size() > 108) return pp_400("PayPal-Request-Id", "INVALID_STRING_LENGTH");
    if (!request_id.empty()) {
      std::lock_guard lock(mu);
      auto it = pp_request_ids.find("create:" + request_id);
      if (it != pp_request_ids.end()) {
        Response replay = it->second;
        replay.status = 200;
        return replay;
      }
    }
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return pp_400("", "MALFORMED_REQUEST_JSON");
    if (!body.contains("intent")) return pp_400("/intent", "MISSING_REQUIRED_PARAMETER");
    if (body["intent"] != "CAPTURE" && body["intent"] != "AUTHORIZE")
      return pp_400("/intent", "INVALID_PARAMETER_VALUE");
    if (!body.contains("purchase_units") || !body["purchase_units"].is_array() || body["purchase_units"].empty())
      return pp_400("/purchase_units", "MISSING_REQUIRED_PARAMETER");
    if (body["purchase_units"].size() > 10) return pp_400("/purchase_units", "INVALID_ARRAY_MAX_ITEMS");
    static const std::regex kValue(R"(^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$)");
    for (std::size_t i = 0; i < body["purchase_units"].size(); ++i) {
      const auto& pu = body["purchase_units"][i];
      const std::string at = "/purchase_units/" + std::to_string(i);
      if (!pu.contains("amount")) return pp_400(at + "/amount", "MISSING_REQUIRED_PARAMETER");
      const auto& amount = pu["amount"];
      if (!amount.contains("currency_code") || !amount["currency_code"].is_string() ||
          amount["currency_code"].get<std::string>().size() != 3)
        return pp_400(at + "/amount/currency_code", "INVALID_PARAMETER_VALUE");
      if (!amount.contains("value") || !amount["value"].is_string() ||
          !std::regex_match(amount["value"].get<std::string>(), kValue) ||
          amount["value"].get<std::string>().size() > 32)
        return pp_400(at + "/amount/value", "INVALID_PARAMETER_SYNTAX");
      for (const char* f : {"custom_id", "description", "invoice_id"})
        if (pu.contains(f) &&
            (!pu[f].is_string() || pu[f].get<std::string>().empty() || pu[f].get<std::string>().size() > 127))
          return pp_400(at + "/" + f, "INVALID_STRING_LENGTH");
    }
    const std::string id = random_upper(17);
    const bool payer_action = body.contains("payment_source");
    std::string return_url;
    if (payer_action)
      return_url = body["payment_source"]["paypal"]["experience_context"].value("return_url", "");
    else if (body.contains("application_context"))
      return_url = body["application_context"].value("return_url", "");
    Json order = {
        {"id", id},
        {"intent", body["intent"]},
        {"status", payer_action ? "PAYER_ACTION_REQUIRED" : "CREATED"},
        {"purchase_units", body["purchase_units"]},
        {"create_time", rfc3339(now())},
        {"links",
         Json::array(
             {{{"href", base() + "/v2/checkout/orders/" + id}, {"rel", "self"}, {"method", "GET"}},
              {{"href", base() + "/checkoutnow?token=" + id},
               {"rel", payer_action ? "payer-action" : "approve"},
               {"method", "GET"}},
              {{"href", base() + "/v2/checkout/orders/" + id + "/capture"}, {"rel", "capture"}, {"method", "POST"}}})}};
    for (auto& pu : order["purchase_units"])
      if (!pu.contains("reference_id")) pu["reference_id"] = "default";
    Response r = json_response(201, order);
    std::lock_guard lock(mu);
    pp_orders[id] = order;
    pp_return_urls[id] = return_url;
    if (!request_id.empty()) pp_request_ids["create:" + request_id] = r;
    return r;
  });
  route(Method::kGet, "/v2/checkout/orders/{id}", "paypal", [=, this](Request& req) {
    if (!bearer_ok(req)) return pp_401();
    std::lock_guard lock(mu);
    auto it = pp_orders.find(std::string(*req.path_param("id")));
    if (it == pp_orders.end()) return pp_404();
    return json_response(200, it->second);
  });
  route(Method::kPost, "/v2/checkout/orders/{id}/capture", "paypal", [=, this](Request& req) {
    if (!bearer_ok(req)) return pp_401();
    const std::string request_id(req.header("PayPal-Request-Id").value_or(""));
    std::lock_guard lock(mu);
    if (!request_id.empty()) {
      auto it = pp_request_ids.find("capture:" + request_id);
      if (it != pp_request_ids.end()) {
        Response replay = it->second;
        replay.status = 200;
        return replay;
      }
    }
    auto it = pp_orders.find(std::string(*req.path_param("id")));
    if (it == pp_orders.end()) return pp_404();
    Json& order = it->second;
    if (order["status"] == "COMPLETED") return pp_422("ORDER_ALREADY_CAPTURED");
    if (order["status"] != "APPROVED") return pp_422("ORDER_NOT_APPROVED");
    ++pp_captures;
    order["status"] = "COMPLETED";
    for (auto& pu : order["purchase_units"]) {
      Json capture = {{"id", random_upper(17)}, {"status", "COMPLETED"},         {"amount", pu["amount"]},
                      {"final_capture", true},  {"create_time", rfc3339(now())}, {"update_time", rfc3339(now())}};
      if (pu.contains("custom_id")) capture["custom_id"] = pu["custom_id"];
      pu["payments"] = {{"captures", Json::array({capture})}};
    }
    Response r = json_response(201, order);
    if (!request_id.empty()) pp_request_ids["capture:" + request_id] = r;
    return r;
  });
  // Payments v2 refunds. Amounts here are USD-style two-decimal values in cents.
  auto cents = [](const Json& value) -> std::optional<std::int64_t> {
    static const std::regex kMoney(R"(^([0-9]{1,13})(\.([0-9]{1,2}))?$)");
    std::smatch m;
    if (!value.is_string()) return std::nullopt;
    const std::string text = value.get<std::string>();
    if (!std::regex_match(text, m, kMoney)) return std::nullopt;
    std::int64_t out = std::stoll(m[1].str()) * 100;
    if (m[3].matched) out += std::stoll(m[3].str()) * (m[3].length() == 1 ? 10 : 1);
    return out;
  };
  auto decimal = [](std::int64_t c) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(c / 100), static_cast<long long>(c % 100));
    return std::string(buf);
  };
  route(Method::kPost, "/v2/payments/captures/{id}/refund", "paypal", [=, this](Request& req) {
    if (!bearer_ok(req)) return pp_401();
    const std::string request_id(req.header("PayPal-Request-Id").value_or(""));
    if (request_id.size() > 108) return pp_400("PayPal-Request-Id", "INVALID_STRING_LENGTH");
    std::lock_guard lock(mu);
    ++pp_refund_posts;
    if (!request_id.empty()) {
      auto it = pp_request_ids.find("refund:" + request_id);
      if (it != pp_request_ids.end()) {
        Response replay = it->second;
        replay.status = 200;
        return replay;
      }
    }
    const std::string capture_id(*req.path_param("id"));
    Json* capture = nullptr;
    Json* payments = nullptr;
    for (auto& [id, order] : pp_orders)
      for (auto& pu : order["purchase_units"])
        if (pu.contains("payments"))
          for (auto& c : pu["payments"]["captures"])
            if (c["id"] == capture_id) {
              capture = &c;
              payments = &pu["payments"];
            }
    if (capture == nullptr) return pp_404();
    Json body = Json::object();
    if (!req.body.empty()) {
      body = Json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return pp_400("", "MALFORMED_REQUEST_JSON");
    }
    for (const char* f : {"invoice_id", "note_to_payer"})
      if (body.contains(f) &&
          (!body[f].is_string() || body[f].get<std::string>().empty() || body[f].get<std::string>().size() > 127))
        return pp_400(std::string("/") + f, "INVALID_STRING_LENGTH");
    if ((*capture)["status"] == "REFUNDED") return pp_422("CAPTURE_FULLY_REFUNDED");
    if ((*capture)["status"] != "COMPLETED" && (*capture)["status"] != "PARTIALLY_REFUNDED")
      return pp_422("REFUND_NOT_ALLOWED");
    const std::int64_t captured = cents((*capture)["amount"]["value"]).value_or(0);
    std::int64_t refunded = 0;
    if (payments->contains("refunds"))
      for (const auto& r : (*payments)["refunds"])
        if (r["status"] == "COMPLETED" || r["status"] == "PENDING") refunded += cents(r["amount"]["value"]).value_or(0);
    std::int64_t amount = captured - refunded;  // no amount: what is left
    if (body.contains("amount")) {
      const Json& a = body["amount"];
      if (!a.is_object() || !a.contains("currency_code") || !a.contains("value"))
        return pp_400("/amount", "MISSING_REQUIRED_PARAMETER");
      auto v = cents(a["value"]);
      if (!v) return pp_400("/amount/value", "INVALID_PARAMETER_SYNTAX");
      if (a["currency_code"] != (*capture)["amount"]["currency_code"])
        return pp_422("REFUND_CAPTURE_CURRENCY_MISMATCH");
      if (*v <= 0) return pp_422("CANNOT_BE_ZERO_OR_NEGATIVE");
      if (*v > captured - refunded) return pp_422("REFUND_AMOUNT_EXCEEDED");
      amount = *v;
    }
    const std::string id = random_upper(17);
    Json refund = {
        {"id", id},
        {"status", "COMPLETED"},
        {"amount", {{"currency_code", (*capture)["amount"]["currency_code"]}, {"value", decimal(amount)}}},
        {"create_time", rfc3339(now())},
        {"update_time", rfc3339(now())},
        {"links",
         Json::array({{{"href", base() + "/v2/payments/refunds/" + id}, {"rel", "self"}, {"method", "GET"}},
                      {{"href", base() + "/v2/payments/captures/" + capture_id}, {"rel", "up"}, {"method", "GET"}}})}};
    if (body.contains("invoice_id")) refund["invoice_id"] = body["invoice_id"];
    if (body.contains("note_to_payer")) refund["note_to_payer"] = body["note_to_payer"];
    (*payments)["refunds"].push_back(refund);
    (*capture)["status"] = refunded + amount >= captured ? "REFUNDED" : "PARTIALLY_REFUNDED";
    (*capture)["update_time"] = rfc3339(now());
    ++pp_refunds;
    Response r = json_response(201, refund);
    if (!request_id.empty()) pp_request_ids["refund:" + request_id] = r;
    return r;
  });
  route(Method::kGet, "/v2/payments/refunds/{id}", "paypal", [=, this](Request& req) {
    if (!bearer_ok(req)) return pp_401();
    const std::string id(*req.path_param("id"));
    std::lock_guard lock(mu);
    for (const auto& [oid, order] : pp_orders)
      for (const auto& pu : order["purchase_units"])
        if (pu.contains("payments") && pu["payments"].contains("refunds"))
          for (const auto& r : pu["payments"]["refunds"])
            if (r["id"] == id) return json_response(200, r);
    return pp_404();
  });
  route(Method::kGet, "/checkoutnow", "paypal", [](Request&) {
    return Response::text(200, "<html><body>PayPal test approval page</body></html>", "text/html");
  });
  route(Method::kGet, "/_test/paypal/cert.pem", "paypal-cert",
        [this](Request&) { return Response::text(200, pp_cert_pem, "application/x-pem-file"); });
  route(Method::kPost, "/v1/notifications/verify-webhook-signature", "paypal", [=, this](Request& req) {
    if (!bearer_ok(req)) return pp_401();
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return pp_400("", "MALFORMED_REQUEST_JSON");
    for (const char* f : {"auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time",
                          "webhook_id", "webhook_event"})
      if (!body.contains(f)) return pp_400(std::string("/") + f, "MISSING_REQUIRED_PARAMETER");
    for (const char* f :
         {"auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id"})
      if (!body[f].is_string()) return pp_400(std::string("/") + f, "INVALID_PARAMETER_SYNTAX");
    static const std::regex kAlnum("^[a-zA-Z0-9]+$");
    const std::string webhook_id = body["webhook_id"];
    if (webhook_id.size() > 50 || !std::regex_match(webhook_id, kAlnum))
      return pp_400("/webhook_id", "INVALID_PARAMETER_SYNTAX");
    std::string status = "FAILURE";
    // Only our own certificate is trusted, and only for SHA256withRSA.
    if (body["cert_url"] == base() + "/_test/paypal/cert.pem" && body["auth_algo"] == "SHA256withRSA") {
      // PayPal checks the event as it re-serialises it.
      auto valid = paypal_verify_offline(pp_cert_pem, body["transmission_id"], body["transmission_time"], webhook_id,
                                         body["webhook_event"].dump(), body["transmission_sig"]);
      if (valid && *valid) status = "SUCCESS";
    }
    return json_response(200, {{"verification_status", status}});
  });
}

Result<std::string> GatewayTestServers::paypal_approve(const std::string& order_id) {
  std::lock_guard lock(state_->mu);
  auto it = state_->pp_orders.find(order_id);
  if (it == state_->pp_orders.end()) return fail(ErrorCode::kNotFound, "no such order");
  if (it->second["status"] != "CREATED" && it->second["status"] != "PAYER_ACTION_REQUIRED")
    return fail(ErrorCode::kConflict, "order is " + it->second["status"].get<std::string>());
  it->second["status"] = "APPROVED";
  it->second["payer"] = {{"payer_id", "TESTPAYER01"}, {"email_address", "buyer@example.com"}};
  const std::string url = state_->pp_return_urls[order_id];
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "token=" + order_id + "&PayerID=TESTPAYER01";
}

Result<Delivery> GatewayTestServers::paypal_event(const std::string& order_id, const std::string& event_type) {
  Json resource;
  std::string resource_type;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->pp_orders.find(order_id);
    if (it == state_->pp_orders.end()) return fail(ErrorCode::kNotFound, "no such order");
    const Json& order = it->second;
    if (event_type == "CHECKOUT.ORDER.APPROVED") {
      resource = order;
      resource_type = "checkout-order";
    } else if (event_type == "PAYMENT.CAPTURE.COMPLETED") {
      const auto& pu = order["purchase_units"][0];
      if (!pu.contains("payments")) return fail(ErrorCode::kConflict, "order not captured");
      resource = pu["payments"]["captures"][0];
      resource["supplementary_data"] = {{"related_ids", {{"order_id", order_id}}}};
      resource_type = "capture";
    } else {
      return fail(ErrorCode::kInvalidArgument, "unsupported event type");
    }
  }
  Json event = {{"id", "WH-" + random_upper(17) + "-" + random_upper(17)},
                {"event_version", "1.0"},
                {"create_time", rfc3339(state_->now())},
                {"resource_type", resource_type},
                {"resource_version", "2.0"},
                {"event_type", event_type},
                {"summary", event_type},
                {"resource", resource},
                {"links", Json::array()}};
  Delivery d;
  d.url = state_->o.paypal_webhook_url;
  d.body = event.dump();
  const std::string transmission_id =
      random_lower(8) + "-" + random_lower(4) + "-11e7-" + random_lower(4) + "-" + random_lower(12);
  const std::string time = rfc3339(state_->now());
  const std::string message =
      transmission_id + "|" + time + "|" + state_->o.paypal_webhook_id + "|" + std::to_string(crc32_bitwise(d.body));
  d.headers = {{"Content-Type", "application/json"},
               {"PAYPAL-TRANSMISSION-ID", transmission_id},
               {"PAYPAL-TRANSMISSION-TIME", time},
               {"PAYPAL-TRANSMISSION-SIG", state_->paypal_sign(message)},
               {"PAYPAL-CERT-URL", state_->base() + "/_test/paypal/cert.pem"},
               {"PAYPAL-AUTH-ALGO", "SHA256withRSA"}};
  return d;
}

}  // namespace ms::payments::testing
