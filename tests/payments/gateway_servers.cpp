// The gateway test servers as a whole (start, stop, faults, deliveries, counters) and the
// signing helpers exposed for the vector tests. Each gateway lives in its own file.
#include "gateway_state.hpp"

namespace ms::payments::testing {

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
