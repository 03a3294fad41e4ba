// The Stripe test server: Checkout sessions, Refunds, and signed events.
#include "gateway_state.hpp"

namespace ms::payments::testing {

// ---- Stripe ------------------------------------------------------------------------------------

void GatewayTestServers::State::add_stripe() {
  auto st_error = [](int status, const std::string& type, const std::string& message, const std::string& param = {},
                     const std::string& code = {}) {
    Json e = {{"type", type}, {"message", message}};
    if (!param.empty()) e["param"] = param;
    if (!code.empty()) e["code"] = code;
    return json_response(status, {{"error", e}});
  };
  auto authorised = [this](const Request& req) {
    auto h = req.header("Authorization");
    if (!h) return false;
    if (*h == "Bearer " + o.stripe_secret_key) return true;
    return *h == "Basic " + crypto::base64_encode(o.stripe_secret_key + ":");
  };
  auto unauthorised = [=] { return st_error(401, "invalid_request_error", "Invalid API Key provided: sk_test_****"); };

  route(Method::kPost, "/v1/checkout/sessions", "stripe", [=, this](Request& req) {
    if (!authorised(req)) return unauthorised();
    const std::string key(req.header("Idempotency-Key").value_or(""));
    if (key.size() > 255) return st_error(400, "invalid_request_error", "Idempotency-Key is too long");
    if (!key.empty()) {
      std::lock_guard lock(mu);
      auto it = st_idempotency.find(key);
      if (it != st_idempotency.end()) {
        if (it->second.first != req.body)
          return st_error(400, "idempotency_error",
                          "Keys for idempotent requests can only be used with the same parameters they were first "
                          "used with.");
        Response replay = it->second.second;
        replay.headers.set("Idempotent-Replayed", "true");
        return replay;
      }
    }
    auto f = parse_form(req.body);
    const std::string mode = f["mode"];
    if (mode.empty()) return st_error(400, "invalid_request_error", "Missing required param: mode.", "mode");
    if (mode != "payment" && mode != "setup" && mode != "subscription")
      return st_error(400, "invalid_request_error", "Invalid mode: must be one of payment, setup, or subscription",
                      "mode");
    std::int64_t total = 0;
    std::string currency;
    int items = 0;
    for (; items < 101 && f.count("line_items[" + std::to_string(items) + "][quantity]"); ++items) {
      const std::string p = "line_items[" + std::to_string(items) + "]";
      const std::string qty = f[p + "[quantity]"];
      const std::string unit = f[p + "[price_data][unit_amount]"];
      const std::string cur = f[p + "[price_data][currency]"];
      if (!is_integer(qty) || std::stoll(qty) < 1)
        return st_error(400, "invalid_request_error", "Invalid integer: " + qty, p + "[quantity]");
      if (f.count(p + "[price]") == 0) {
        if (!is_integer(unit))
          return st_error(400, "invalid_request_error", "Invalid integer: " + unit, p + "[price_data][unit_amount]");
        if (cur.size() != 3 || !std::all_of(cur.begin(), cur.end(), ::islower))
          return st_error(400, "invalid_request_error", "Invalid currency: " + cur, p + "[price_data][currency]");
        if (f[p + "[price_data][product_data][name]"].empty() && f[p + "[price_data][product]"].empty())
          return st_error(400, "invalid_request_error", "Missing required param: product_data[name].",
                          p + "[price_data][product_data][name]");
        total += std::stoll(unit) * std::stoll(qty);
        currency = cur;
      }
    }
    if (mode == "payment" && items == 0)
      return st_error(400, "invalid_request_error", "line_items is required in payment mode.", "line_items");
    if (items > 100) return st_error(400, "invalid_request_error", "At most 100 line items.", "line_items");
    if (f["client_reference_id"].size() > 200)
      return st_error(400, "invalid_request_error", "client_reference_id is at most 200 characters",
                      "client_reference_id");
    Json metadata = Json::object();
    for (const auto& [k, v] : f) {
      if (k.rfind("metadata[", 0) != 0 || k.back() != ']') continue;
      std::string mk = k.substr(9, k.size() - 10);
      if (mk.size() > 40 || mk.find_first_of("[]") != std::string::npos || v.size() > 500)
        return st_error(400, "invalid_request_error", "Invalid metadata", "metadata");
      metadata[mk] = v;
    }
    if (metadata.size() > 50) return st_error(400, "invalid_request_error", "Too many metadata keys", "metadata");
    std::int64_t expires_at = now() + 86400;
    if (f.count("expires_at")) {
      if (!is_integer(f["expires_at"])) return st_error(400, "invalid_request_error", "Invalid integer", "expires_at");
      expires_at = std::stoll(f["expires_at"]);
      if (expires_at < now() + 1800 || expires_at > now() + 86400)
        return st_error(400, "invalid_request_error",
                        "The `expires_at` timestamp must be between 30 minutes and 24 hours from now.", "expires_at");
    }
    const std::string id = "cs_test_" + random_lower(24);
    Json session = {{"id", id},
                    {"object", "checkout.session"},
                    {"amount_subtotal", total},
                    {"amount_total", total},
                    {"currency", currency},
                    {"client_reference_id", f.count("client_reference_id") ? Json(f["client_reference_id"]) : Json()},
                    {"created", now()},
                    {"expires_at", expires_at},
                    {"livemode", false},
                    {"metadata", metadata},
                    {"mode", mode},
                    {"payment_intent", nullptr},
                    {"payment_status", "unpaid"},
                    {"status", "open"},
                    {"success_url", f.count("success_url") ? Json(f["success_url"]) : Json()},
                    {"cancel_url", f.count("cancel_url") ? Json(f["cancel_url"]) : Json()},
                    {"url", base() + "/c/pay/" + id}};
    Response r = json_response(200, session);
    std::lock_guard lock(mu);
    st_sessions[id] = session;
    if (!key.empty()) st_idempotency[key] = {req.body, r};
    return r;
  });
  route(Method::kGet, "/v1/checkout/sessions/{id}", "stripe", [=, this](Request& req) {
    if (!authorised(req)) return unauthorised();
    std::lock_guard lock(mu);
    auto it = st_sessions.find(std::string(*req.path_param("id")));
    if (it == st_sessions.end())
      return st_error(404, "invalid_request_error",
                      "No such checkout.session: '" + std::string(*req.path_param("id")) + "'", "session",
                      "resource_missing");
    return json_response(200, it->second);
  });
  route(Method::kPost, "/v1/checkout/sessions/{id}/expire", "stripe", [=, this](Request& req) {
    if (!authorised(req)) return unauthorised();
    std::lock_guard lock(mu);
    auto it = st_sessions.find(std::string(*req.path_param("id")));
    if (it == st_sessions.end())
      return st_error(404, "invalid_request_error", "No such checkout.session", "session", "resource_missing");
    if (it->second["status"] != "open")
      return st_error(400, "invalid_request_error", "Only Checkout Sessions with a status of `open` can be expired.");
    it->second["status"] = "expired";
    it->second["url"] = nullptr;
    return json_response(200, it->second);
  });
  // Refunds API: POST /v1/refunds (payment_intent, optional amount <= what is left, metadata;
  // Idempotency-Key replays) and GET /v1/refunds?payment_intent= (a list object).
  route(Method::kPost, "/v1/refunds", "stripe_refunds", [=, this](Request& req) {
    if (!authorised(req)) return unauthorised();
    const std::string key(req.header("Idempotency-Key").value_or(""));
    if (key.size() > 255) return st_error(400, "invalid_request_error", "Idempotency-Key is too long");
    std::lock_guard lock(mu);
    ++st_refund_posts;
    if (!key.empty()) {
      auto it = st_idempotency.find(key);
      if (it != st_idempotency.end()) {
        if (it->second.first != req.body)
          return st_error(400, "idempotency_error",
                          "Keys for idempotent requests can only be used with the same parameters they were first "
                          "used with.");
        Response replay = it->second.second;
        replay.headers.set("Idempotent-Replayed", "true");
        return replay;
      }
    }
    auto f = parse_form(req.body);
    const std::string intent = f["payment_intent"];
    if (intent.empty() && f["charge"].empty())
      return st_error(400, "invalid_request_error", "One of `charge` or `payment_intent` is required.");
    const Json* paid = nullptr;
    for (const auto& [id, s] : st_sessions)
      if (!intent.empty() && s["payment_intent"] == intent) paid = &s;
    if (paid == nullptr)
      return st_error(404, "invalid_request_error", "No such payment_intent: '" + intent + "'", "payment_intent",
                      "resource_missing");
    const std::int64_t total = (*paid)["amount_total"].get<std::int64_t>();
    std::int64_t refunded = 0;
    for (const auto& r : st_refunded[intent]) refunded += r["amount"].get<std::int64_t>();
    const std::int64_t left = total - refunded;
    if (left <= 0)
      return st_error(400, "invalid_request_error", "Charge " + intent + " has already been refunded.", "",
                      "charge_already_refunded");
    std::int64_t amount = left;
    if (f.count("amount")) {
      if (!is_integer(f["amount"]) || std::stoll(f["amount"]) < 1)
        return st_error(400, "invalid_request_error", "Invalid positive integer", "amount");
      amount = std::stoll(f["amount"]);
      if (amount > left)
        return st_error(400, "invalid_request_error",
                        "Refund amount (" + std::to_string(amount) + ") is greater than unrefunded amount on charge (" +
                            std::to_string(left) + ")",
                        "amount", "amount_too_large");
    }
    Json metadata = Json::object();
    for (const auto& [k, v] : f)
      if (k.rfind("metadata[", 0) == 0 && k.back() == ']') metadata[k.substr(9, k.size() - 10)] = v;
    Json refund = {{"id", "re_" + random_lower(24)},
                   {"object", "refund"},
                   {"amount", amount},
                   {"currency", (*paid)["currency"]},
                   {"created", now()},
                   {"metadata", metadata},
                   {"payment_intent", intent},
                   {"reason", f.count("reason") ? Json(f["reason"]) : Json()},
                   {"status", "succeeded"}};
    st_refunded[intent].push_back(refund);
    ++st_refunds;
    Response r = json_response(200, refund);
    if (!key.empty()) st_idempotency[key] = {req.body, r};
    return r;
  });
  route(Method::kGet, "/v1/refunds", "stripe", [=, this](Request& req) {
    if (!authorised(req)) return unauthorised();
    const std::string intent(req.query_param("payment_intent").value_or(""));
    const std::string limit_text(req.query_param("limit").value_or("10"));
    if (!is_integer(limit_text) || std::stoll(limit_text) < 1 || std::stoll(limit_text) > 100)
      return st_error(400, "invalid_request_error", "limit must be between 1 and 100", "limit");
    std::lock_guard lock(mu);
    Json data = Json::array();
    auto it = st_refunded.find(intent);
    if (it != st_refunded.end())  // newest first, as Stripe lists
      for (auto r = it->second.rbegin(); r != it->second.rend() && data.size() < std::stoull(limit_text); ++r)
        data.push_back(*r);
    return json_response(200, {{"object", "list"}, {"data", data}, {"has_more", false}, {"url", "/v1/refunds"}});
  });
}

namespace {
Delivery stripe_delivery(GatewayTestServers::State& st, const std::string& type, const Json& session) {
  Json event = {{"id", "evt_" + random_lower(24)},
                {"object", "event"},
                {"api_version", "2024-06-20"},
                {"created", st.now()},
                {"data", {{"object", session}}},
                {"livemode", false},
                {"pending_webhooks", 1},
                {"request", {{"id", nullptr}, {"idempotency_key", nullptr}}},
                {"type", type}};
  Delivery d;
  d.url = st.o.stripe_webhook_url;
  d.body = event.dump(2);  // pretty, as Stripe sends: the signature covers these exact bytes
  const std::string t = std::to_string(st.now());
  const std::string v1 = crypto::hmac_sha256_hex(st.o.stripe_webhook_secret, t + "." + d.body);
  // Test-mode events also carry a v0 signature that receivers must ignore.
  d.headers = {{"Content-Type", "application/json; charset=utf-8"},
               {"User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
               {"Stripe-Signature", "t=" + t + ",v1=" + v1 + ",v0=" + crypto::to_hex(crypto::random_bytes(32))}};
  return d;
}
}  // namespace

Result<Delivery> GatewayTestServers::stripe_complete(const std::string& session_id,
                                                     std::optional<std::int64_t> amount_total) {
  Json session;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->st_sessions.find(session_id);
    if (it == state_->st_sessions.end()) return fail(ErrorCode::kNotFound, "no such session");
    if (it->second["status"] != "open") return fail(ErrorCode::kConflict, "session is not open");
    it->second["status"] = "complete";
    it->second["payment_status"] = "paid";
    it->second["payment_intent"] = "pi_" + random_lower(24);
    it->second["url"] = nullptr;
    if (amount_total) it->second["amount_total"] = *amount_total;
    session = it->second;
  }
  return stripe_delivery(*state_, "checkout.session.completed", session);
}

Result<Delivery> GatewayTestServers::stripe_expire(const std::string& session_id) {
  Json session;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->st_sessions.find(session_id);
    if (it == state_->st_sessions.end()) return fail(ErrorCode::kNotFound, "no such session");
    if (it->second["status"] != "open") return fail(ErrorCode::kConflict, "session is not open");
    it->second["status"] = "expired";
    it->second["url"] = nullptr;
    session = it->second;
  }
  return stripe_delivery(*state_, "checkout.session.expired", session);
}

}  // namespace ms::payments::testing
