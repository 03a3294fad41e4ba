// Internal to the gateway test servers (gateway_servers*.cpp): the shared state of the
// servers, and the helpers they sign and answer with. Not for tests to include.
#pragma once

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

namespace detail {

// ---- independent signing helpers (deliberately not src/payments/signatures) ----

// Keys sorted at every level, written compact: the message NOWPayments signs.
inline OJson sorted(const OJson& in) {
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
inline std::uint32_t crc32_bitwise(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline std::string random_upper(std::size_t n) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string bytes = crypto::random_bytes(n);
  std::string out;
  for (unsigned char b : bytes) out += kChars[b % 36];
  return out;
}

inline std::string random_lower(std::size_t n) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string bytes = crypto::random_bytes(n);
  std::string out;
  for (unsigned char b : bytes) out += kChars[b % 36];
  return out;
}

inline std::string rfc3339(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

inline Response json_response(int status, const Json& body) { return Response::json(status, body); }

inline std::map<std::string, std::string> parse_form(const std::string& body) {
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

inline bool is_integer(const std::string& s) {
  return !s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct Pkey {
  EVP_PKEY* key = nullptr;
  ~Pkey() { EVP_PKEY_free(key); }
};

}  // namespace detail

using namespace detail;

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

}  // namespace ms::payments::testing
