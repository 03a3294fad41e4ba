#include "gateway_servers.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/crypto/primitives.hpp"
#include "http/client.hpp"
#include "http/server.hpp"

namespace ms::payments::testing {

using http::Method;
using http::Request;
using http::Responder;
using http::Response;
using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

namespace {

// ---- independent signing helpers (deliberately not src/payments/signatures) ----

// Keys sorted at every level, written compact: the message NOWPayments signs.
OJson sorted(const OJson& in) {
  if (in.is_object()) {
    std::vector<std::string> keys;
    for (auto it = in.begin(); it != in.end(); ++it) keys.push_back(it.key());
    std::sort(keys.begin(), keys.end());
    OJson out = OJson::object();
    for (const auto& k : keys) out[k] = sorted(in.at(k));
    return out;
  }
  if (in.is_array()) {
    OJson out = OJson::array();
    for (const auto& v : in) out.push_back(sorted(v));
    return out;
  }
  return in;
}

// Bitwise CRC-32 (IEEE 802.3, reflected), as java.util.zip.CRC32.
std::uint32_t crc32_bitwise(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string random_upper(std::size_t n) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string bytes = crypto::random_bytes(n);
  std::string out;
  for (unsigned char b : bytes) out += kChars[b % 36];
  return out;
}

std::string random_lower(std::size_t n) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string bytes = crypto::random_bytes(n);
  std::string out;
  for (unsigned char b : bytes) out += kChars[b % 36];
  return out;
}

std::string rfc3339(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Response json_response(int status, const Json& body) { return Response::json(status, body); }

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    std::string pair = body.substr(start, end - start);
    auto eq = pair.find('=');
    auto key = http::percent_decode(pair.substr(0, eq), true);
    auto value = http::percent_decode(eq == std::string::npos ? "" : pair.substr(eq + 1), true);
    if (key && value) out[*key] = *value;
    start = end + 1;
  }
  return out;
}

bool is_integer(const std::string& s) {
  return !s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct Pkey {
  EVP_PKEY* key = nullptr;
  ~Pkey() { EVP_PKEY_free(key); }
};

}  // namespace

struct GatewayTestServers::State {
  GatewayServerOptions o;
  const Clock* clock = nullptr;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<http::CurlClient> client;
  mutable std::mutex mu;
  std::map<std::string, std::pair<Fault, int>> faults;
  std::vector<Responder> parked;
  std::atomic<std::int64_t> next_id{5'077'000'000};

  std::map<std::string, OJson> np_invoices;
  std::map<std::string, OJson> np_payments;       // payment_id -> its status body
  std::map<std::string, std::int64_t> np_tokens;  // JWT -> expiry (5 minutes)
  int np_status_calls = 0;

  struct Zp {
    std::int64_t amount = 0;
    std::string callback;
    bool paid = false;
    bool verified = false;
    std::int64_t ref_id = 0;
  };
  std::map<std::string, Zp> zp;
  int zp_verify_calls = 0;

  std::map<std::string, Json> st_sessions;
  std::map<std::string, std::pair<std::string, Response>> st_idempotency;  // key -> (body, response)
  std::map<std::string, std::vector<Json>> st_refunded;  // payment_intent -> its refunds, oldest first
  int st_refunds = 0;
  int st_refund_posts = 0;

  std::map<std::string, std::int64_t> pp_tokens;  // token -> expiry
  std::map<std::string, Json> pp_orders;
  std::map<std::string, std::string> pp_return_urls;
  std::map<std::string, Response> pp_request_ids;
  int pp_captures = 0;
  int pp_refunds = 0;
  int pp_refund_posts = 0;
  Pkey pp_key;
  std::string pp_cert_pem;

  std::int64_t now() const { return clock->unix_seconds(); }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server->bound_port()); }

  // Consumes one pending fault of `gateway`; true if the request was answered by it.
  // kLoseAnswer lets `work` run first, then drops its answer.
  bool fault(const std::string& gateway, const Responder& respond, const std::function<void()>& work) {
    Fault f = Fault::kNone;
    {
      std::lock_guard lock(mu);
      auto it = faults.find(gateway);
      if (it == faults.end() || it->second.second <= 0) return false;
      f = it->second.first;
      --it->second.second;
      if (f == Fault::kHang) {
        parked.push_back(respond);
        return true;
      }
    }
    if (f == Fault::kLoseAnswer) work();
    if (f == Fault::kGarbage || f == Fault::kLoseAnswer)
      respond(Response::text(200, "<html><body>502 Bad Gateway</body></html>", "text/html"));
    if (f == Fault::kServerError) respond(Response::text(500, "upstream error"));
    return f != Fault::kNone;
  }

  void route(Method m, const std::string& pattern, const std::string& gateway, std::function<Response(Request&)> fn) {
    server->router().add(m, pattern, [this, gateway, fn = std::move(fn)](Request& req, Responder respond) {
      if (fault(gateway, respond, [&] { fn(req); })) return;
      respond(fn(req));
    });
  }

  void make_paypal_key() {
    pp_key.key = EVP_RSA_gen(2048);
    if (pp_key.key == nullptr) throw std::runtime_error("cannot generate an RSA key");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 365);
    X509_set_pubkey(cert, pp_key.key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("messageverificationcerts.test.local"), -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, pp_key.key, EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    pp_cert_pem.assign(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    X509_free(cert);
  }

  std::string paypal_sign(const std::string& message) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pp_key.key);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(message.data()), message.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return crypto::base64_encode(sig);
  }

  void add_nowpayments();
  Delivery np_delivery(const std::string& url, const OJson& ipn);
  void add_zarinpal();
  void add_stripe();
  void add_paypal();
};

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

std::string sign_nowpayments_ipn(const std::string& ipn_secret, const std::string& body) {
  return crypto::hmac_sha512_hex(ipn_secret, sorted(OJson::parse(body)).dump());
}

std::string sign_stripe(const std::string& secret, std::int64_t timestamp, const std::string& payload) {
  return crypto::hmac_sha256_hex(secret, std::to_string(timestamp) + "." + payload);
}

Result<bool> paypal_verify_offline(const std::string& cert_pem, const std::string& transmission_id,
                                   const std::string& transmission_time, const std::string& webhook_id,
                                   const std::string& body, const std::string& signature_base64) {
  auto sig = crypto::base64_decode(signature_base64);
  if (!sig) return fail(ErrorCode::kInvalidArgument, "signature is not base64");
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return fail(ErrorCode::kInvalidArgument, "certificate is not PEM");
  EVP_PKEY* key = X509_get_pubkey(cert);
  X509_free(cert);
  if (key == nullptr) return fail(ErrorCode::kInvalidArgument, "certificate has no public key");
  const std::string message =
      transmission_id + "|" + transmission_time + "|" + webhook_id + "|" + std::to_string(crc32_bitwise(body));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool valid = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
               EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                                reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return valid;
}

// ---- the whole -------------------------------------------------------------------------------

GatewayTestServers::GatewayTestServers(GatewayServerOptions options) : state_(std::make_unique<State>()) {
  state_->o = std::move(options);
  state_->clock = state_->o.clock ? state_->o.clock : &SystemClock::instance();
  http::ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.threads = 2;
  so.handler_timeout = std::chrono::seconds(20);
  state_->server = std::make_unique<http::Server>(so);
  state_->client = std::make_unique<http::CurlClient>();
  state_->make_paypal_key();
  state_->add_nowpayments();
  state_->add_zarinpal();
  state_->add_stripe();
  state_->add_paypal();
}

GatewayTestServers::~GatewayTestServers() { stop(); }

Result<void> GatewayTestServers::start(const std::string& listen) {
  if (listen != "127.0.0.1:0") {
    // The listen address is fixed at construction; rebuild the server for another one.
    return fail(ErrorCode::kInvalidArgument, "use port 0 (the bound port is reported by port())");
  }
  return state_->server->start();
}

void GatewayTestServers::stop() {
  std::vector<Responder> parked;
  {
    std::lock_guard lock(state_->mu);
    parked.swap(state_->parked);
  }
  for (auto& r : parked) r(Response::text(504, "gateway test server stopping"));
  if (state_->server) state_->server->stop(std::chrono::seconds(1));
}

std::uint16_t GatewayTestServers::port() const { return state_->server->bound_port(); }
std::string GatewayTestServers::base_url() const { return state_->base(); }
GatewayServerOptions& GatewayTestServers::options() { return state_->o; }

void GatewayTestServers::set_fault(const std::string& gateway, Fault fault, int count) {
  std::lock_guard lock(state_->mu);
  state_->faults[gateway] = {fault, count};
}

Result<int> GatewayTestServers::deliver(const Delivery& d) {
  http::ClientRequest req;
  req.method = "POST";
  req.url = d.url;
  req.headers = d.headers;
  req.body = d.body;
  req.timeout = std::chrono::seconds(20);
  auto res = state_->client->send_sync(std::move(req));
  if (!res) return fail(std::move(res.error()));
  return res->status;
}

int GatewayTestServers::zarinpal_verify_calls() const {
  std::lock_guard lock(state_->mu);
  return state_->zp_verify_calls;
}
int GatewayTestServers::paypal_capture_calls() const {
  std::lock_guard lock(state_->mu);
  return state_->pp_captures;
}
int GatewayTestServers::paypal_refunds() const {
  std::lock_guard lock(state_->mu);
  return state_->pp_refunds;
}
int GatewayTestServers::paypal_refund_posts() const {
  std::lock_guard lock(state_->mu);
  return state_->pp_refund_posts;
}
std::string GatewayTestServers::paypal_capture_status(const std::string& capture_id) const {
  std::lock_guard lock(state_->mu);
  for (const auto& [id, order] : state_->pp_orders)
    for (const auto& pu : order["purchase_units"])
      if (pu.contains("payments"))
        for (const auto& c : pu["payments"]["captures"])
          if (c["id"] == capture_id) return c["status"].get<std::string>();
  return {};
}
int GatewayTestServers::stripe_refunds() const {
  std::lock_guard lock(state_->mu);
  return state_->st_refunds;
}
int GatewayTestServers::stripe_refund_posts() const {
  std::lock_guard lock(state_->mu);
  return state_->st_refund_posts;
}
std::int64_t GatewayTestServers::stripe_refunded(const std::string& session_id) const {
  std::lock_guard lock(state_->mu);
  auto s = state_->st_sessions.find(session_id);
  if (s == state_->st_sessions.end() || !s->second["payment_intent"].is_string()) return 0;
  std::int64_t total = 0;
  auto it = state_->st_refunded.find(s->second["payment_intent"].get<std::string>());
  if (it != state_->st_refunded.end())
    for (const auto& r : it->second) total += r["amount"].get<std::int64_t>();
  return total;
}

}  // namespace ms::payments::testing
