// CurlClient: libcurl multi on one thread. The thread owns the multi handle and every easy
// handle; other threads only touch the incoming queue (under mutex_) and wake the thread
// with curl_multi_wakeup, which libcurl documents as safe from any thread.
#include "http/client.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "core/metrics.hpp"
#include "core/version.hpp"
#include "http/address_policy.hpp"

namespace ms::http {
namespace {

constexpr const char* kShuttingDown = "client is shutting down";
// Easy handles kept for reuse; beyond this they are freed.
constexpr std::size_t kMaxFreeHandles = 64;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

bool is_token_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

struct Origin {
  std::string text;  // scheme://host[:port]
  std::string host;
};

Result<Origin> parse_origin(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  if (!u) throw std::bad_alloc();
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return fail(ErrorCode::kInvalidArgument, "malformed URL");
  }
  auto part = [&](CURLUPart which, unsigned flags) -> std::string {
    char* value = nullptr;
    if (curl_url_get(u.get(), which, &value, flags) != CURLUE_OK || value == nullptr) return {};
    std::string out(value);
    curl_free(value);
    return out;
  };
  std::string scheme = part(CURLUPART_SCHEME, 0);
  std::string host = part(CURLUPART_HOST, 0);
  if (scheme != "http" && scheme != "https") {
    return fail(ErrorCode::kInvalidArgument, "unsupported URL scheme '" + scheme + "' (only http and https)");
  }
  if (host.empty()) return fail(ErrorCode::kInvalidArgument, "URL has no host");
  Origin origin{scheme + "://" + host, host};
  std::string port = part(CURLUPART_PORT, CURLU_NO_DEFAULT_PORT);
  if (!port.empty()) origin.text += ":" + port;
  return origin;
}

// ---- Certificate pinning ----------------------------------------------------------------
// libcurl only pins public keys; owners see (and paste) certificate fingerprints. So a pinned
// request turns curl's own checks off and gives OpenSSL a verify callback that accepts the
// handshake only when the leaf certificate's SHA-256 equals the pin: nothing is sent before.

int pin_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int verify_pinned(int /*preverify_ok*/, X509_STORE_CTX* store) {
  // Chain problems above the leaf do not matter: the leaf itself is pinned.
  if (X509_STORE_CTX_get_error_depth(store) > 0) {
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
  }
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* pin =
      ssl ? static_cast<const std::string*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pin_index())) : nullptr;
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (pin == nullptr || cert == nullptr || X509_digest(cert, EVP_sha256(), digest, &length) != 1 ||
      length != pin->size() || CRYPTO_memcmp(digest, pin->data(), length) != 0) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

CURLcode install_pin(CURL* /*easy*/, void* ssl_ctx, void* pin) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  SSL_CTX_set_ex_data(ctx, pin_index(), pin);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &verify_pinned);
  return CURLE_OK;
}

struct Transfer {
  ClientRequest request;
  std::string pin;  // raw 32 bytes when the request is pinned
  ClientCallback done;
  std::chrono::steady_clock::time_point queued_at;
  Origin origin;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_mime* mime = nullptr;
  ClientResponse response;
  std::size_t max_body = 0;
  bool too_large = false;
  std::string refused;  // why the address policy refused a connection ("127.0.0.1 is loopback")
  char error[CURL_ERROR_SIZE] = {};
};

// The connect-time half of the address policy: every socket of a checked request is opened
// here for the address curl is about to connect to, so no later DNS answer gets around it.
curl_socket_t open_checked_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN) {
    if (auto range = refused_range(&address->addr)) {
      char text[INET6_ADDRSTRLEN] = {};
      if (address->family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address->addr)->sin_addr, text, sizeof text);
      } else if (address->family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address->addr)->sin6_addr, text, sizeof text);
      }
      t->refused = std::string(text) + " is " + std::string(*range);
      return CURL_SOCKET_BAD;
    }
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  if (t->response.body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;  // anything but n aborts the transfer
  }
  t->response.body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new status line: an interim (100) or earlier response's headers do not count.
    t->response.headers = Headers{};
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  t->response.headers.add(line.substr(0, colon), value);
  return n;
}

}  // namespace

Result<std::string> parse_sha256_fingerprint(std::string_view text) {
  std::string out;
  int nibble = -1;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) return fail(ErrorCode::kInvalidArgument, "a SHA-256 fingerprint is 64 hex digits");
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<char>(nibble * 16 + v));
      nibble = -1;
    }
  }
  if (nibble >= 0 || out.size() != 32)
    return fail(ErrorCode::kInvalidArgument, "a SHA-256 fingerprint is 64 hex digits");
  return out;
}

std::string CurlClientOptions::default_user_agent() { return std::string("mothership/") + kVersion; }

Result<std::string> loggable_origin(const std::string& url) {
  global_init();
  auto origin = parse_origin(url);
  if (!origin) return fail(origin.error());
  return origin->text;
}

Result<ClientResponse> HttpClient::send_sync(ClientRequest request) {
  auto promise = std::make_shared<std::promise<Result<ClientResponse>>>();
  auto future = promise->get_future();
  send(std::move(request), [promise](Result<ClientResponse> result) { promise->set_value(std::move(result)); });
  return future.get();
}

class CurlClient::Impl {
 public:
  Impl(CurlClientOptions options, const Clock& clock)
      : options_(std::move(options)),
        clock_(clock),
        requests_(metrics::counter_family("http_client_requests_total",
                                          "Outgoing HTTP requests by host and status (or error code)")),
        duration_(metrics::histogram_family("http_client_request_duration_seconds",
                                            "Outgoing HTTP request duration, queueing included")) {
    global_init();
    if (options_.max_in_flight == 0) options_.max_in_flight = 1;
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_host_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options_.max_idle_connections);
    thread_ = std::thread([this] { run(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    if (thread_.joinable()) thread_.join();
    for (CURL* easy : free_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
  }

  void send(ClientRequest request, ClientCallback done) {
    auto t = std::make_unique<Transfer>();
    t->request = std::move(request);
    t->done = std::move(done);
    t->queued_at = clock_.steady_now();
    t->max_body = options_.max_response_bytes;
    std::unique_ptr<Transfer> rejected;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        rejected = std::move(t);
      } else {
        incoming_.push_back(std::move(t));
        ++pending_;
      }
    }
    if (rejected) {
      // Only while the client is being destroyed: its thread may be gone already.
      invoke(*rejected, fail(ErrorCode::kUnavailable, kShuttingDown));
      return;
    }
    curl_multi_wakeup(multi_);
  }

  bool on_own_thread() const { return std::this_thread::get_id() == thread_.get_id(); }
  std::size_t pending() const { return pending_.load(); }

 private:
  void run() {
    for (;;) {
      bool stop = false;
      {
        std::lock_guard lock(mutex_);
        while (!incoming_.empty()) {
          waiting_.push_back(std::move(incoming_.front()));
          incoming_.pop_front();
        }
        stop = stopping_;
      }
      if (stop) {
        fail_everything();
        return;
      }
      while (active_.size() < options_.max_in_flight && !waiting_.empty()) {
        auto t = std::move(waiting_.front());
        waiting_.pop_front();
        start(std::move(t));
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      collect_finished();
      // Slots freed up and work is waiting: start it before sleeping.
      if (!waiting_.empty() && active_.size() < options_.max_in_flight) continue;
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
  }

  void start(std::unique_ptr<Transfer> t) {
    auto prepared = prepare(*t);
    if (!prepared) {
      release(*t);
      finish(*t, fail(prepared.error()));
      return;
    }
    CURLMcode rc = curl_multi_add_handle(multi_, t->easy);
    if (rc != CURLM_OK) {
      release(*t);
      finish(*t, fail(ErrorCode::kInternal, std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc)));
      return;
    }
    CURL* easy = t->easy;
    active_.emplace(easy, std::move(t));
  }

  Result<void> prepare(Transfer& t) {
    auto origin = parse_origin(t.request.url);
    if (!origin) return fail(origin.error());
    t.origin = std::move(*origin);
    const std::string& method = t.request.method;
    if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char)) {
      return fail(ErrorCode::kInvalidArgument, "malformed HTTP method");
    }
    for (const auto& [name, value] : t.request.headers) {
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char) || has_line_break(value)) {
        return fail(ErrorCode::kInvalidArgument, "malformed header field");
      }
    }

    if (!free_.empty()) {
      t.easy = free_.back();
      free_.pop_back();
      curl_easy_reset(t.easy);
    } else {
      t.easy = curl_easy_init();
      if (t.easy == nullptr) return fail(ErrorCode::kInternal, "curl_easy_init failed");
    }
    CURL* e = t.easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_URL, t.request.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t.request.timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(t.request.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
    if (!t.request.tls) {
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
      if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
      if (!options_.pinned_sha256.empty()) {
        curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, options_.pinned_sha256.c_str());
      }
    } else {
      const TlsPolicy& tls = *t.request.tls;
      bool verify = tls.mode == TlsPolicy::Mode::kVerify;
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
      if (verify && !tls.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, tls.ca_file.c_str());
      if (tls.mode == TlsPolicy::Mode::kPinned) {
        auto pin = parse_sha256_fingerprint(tls.pin);
        if (!pin) return fail(pin.error());
        t.pin = std::move(*pin);
        curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, &install_pin);
        curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, &t.pin);
        // curl does not tell connections apart by our callback: never reuse one across pins.
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        // A resumed TLS session shows no certificate, so the pin could not be checked.
        curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
      }
    }
    if (t.request.fresh_connection) curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    if (t.request.refuse_private_addresses || options_.refuse_private_addresses) {
      curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &open_checked_socket);
      curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &t);
      // A kept connection may have been opened by an unchecked request of this client.
      if (!options_.refuse_private_addresses) curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    }
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);

    for (const auto& [name, value] : t.request.headers) {
      // "Name;" is curl's way of sending a header with an empty value.
      std::string line = name;
      line.append(value.empty() ? ";" : ": ").append(value);
      t.headers = curl_slist_append(t.headers, line.c_str());
    }
    // No "Expect: 100-continue" round trip before large bodies.
    t.headers = curl_slist_append(t.headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);

    if (!t.request.multipart.empty()) {
      t.mime = curl_mime_init(e);
      for (const auto& field : t.request.multipart) {
        curl_mimepart* part = curl_mime_addpart(t.mime);
        curl_mime_name(part, field.name.c_str());
        curl_mime_data(part, field.data.data(), field.data.size());
        if (!field.filename.empty()) curl_mime_filename(part, field.filename.c_str());
        if (!field.content_type.empty()) curl_mime_type(part, field.content_type.c_str());
      }
      curl_easy_setopt(e, CURLOPT_MIMEPOST, t.mime);
      if (method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
    } else if (method == "GET" && t.request.body.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      if (method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
      bool sends_body = !t.request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
      if (sends_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.request.body.size()));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.request.body.data());
      }
    }
    return ok();
  }

  void collect_finished() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode rc = msg->data.result;
      auto it = active_.find(easy);
      if (it == active_.end()) continue;
      std::unique_ptr<Transfer> t = std::move(it->second);
      active_.erase(it);
      curl_multi_remove_handle(multi_, easy);
      Result<ClientResponse> outcome = outcome_of(*t, rc);
      release(*t);
      finish(*t, std::move(outcome));
    }
  }

  Result<ClientResponse> outcome_of(Transfer& t, CURLcode rc) {
    if (rc == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
      t.response.status = static_cast<int>(status);
      return std::move(t.response);
    }
    std::string prefix = t.request.method + " " + t.origin.text + ": ";
    if (t.too_large) {
      return fail(ErrorCode::kLimitExceeded,
                  prefix + "response body over " + std::to_string(options_.max_response_bytes) + " bytes");
    }
    if (!t.refused.empty()) {
      return fail(ErrorCode::kPermissionDenied, prefix + std::string(kAddressRefused) + ": " + t.refused);
    }
    std::string detail = t.error[0] != '\0' ? std::string(t.error) : std::string(curl_easy_strerror(rc));
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT: return fail(ErrorCode::kTimeout, prefix + detail);
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL: return fail(ErrorCode::kInvalidArgument, prefix + detail);
      default:
        // Refused, DNS, TLS (handshake, verification, pin), reset, bad response.
        return fail(ErrorCode::kUnavailable, prefix + detail);
    }
  }

  // Frees what the easy handle pointed at and returns the handle to the pool.
  void release(Transfer& t) {
    if (t.easy != nullptr) {
      if (free_.size() < kMaxFreeHandles) {
        free_.push_back(t.easy);
      } else {
        curl_easy_cleanup(t.easy);
      }
      t.easy = nullptr;
    }
    if (t.headers != nullptr) curl_slist_free_all(t.headers);
    t.headers = nullptr;
    if (t.mime != nullptr) curl_mime_free(t.mime);
    t.mime = nullptr;
  }

  void finish(Transfer& t, Result<ClientResponse> outcome) {
    double seconds = std::chrono::duration<double>(clock_.steady_now() - t.queued_at).count();
    if (seconds < 0) seconds = 0;
    std::string status = outcome ? std::to_string(outcome->status) : std::string(ms::to_string(outcome.error().code));
    const std::string& host = t.origin.host.empty() ? std::string("invalid") : t.origin.host;
    requests_.Add({{"host", host}, {"status", status}}).Increment();
    duration_.Add({{"host", host}}, metrics::default_latency_buckets()).Observe(seconds);
    const std::string& where = t.origin.text.empty() ? std::string("<invalid url>") : t.origin.text;
    if (outcome) {
      outcome->total_seconds = seconds;
      spdlog::debug("http client: {} {} -> {} in {:.3f}s", t.request.method, where, status, seconds);
    } else {
      spdlog::debug("http client: {} {} failed in {:.3f}s: {}", t.request.method, where, seconds,
                    outcome.error().to_string());
    }
    --pending_;
    invoke(t, std::move(outcome));
  }

  static void invoke(Transfer& t, Result<ClientResponse> outcome) {
    if (!t.done) return;
    try {
      t.done(std::move(outcome));
    } catch (const std::exception& e) {
      spdlog::error("http client: a completion callback threw: {}", e.what());
    } catch (...) {
      spdlog::error("http client: a completion callback threw");
    }
  }

  void fail_everything() {
    for (auto& [easy, t] : active_) {
      curl_multi_remove_handle(multi_, easy);
      release(*t);
      finish(*t, fail(ErrorCode::kUnavailable, kShuttingDown));
    }
    active_.clear();
    for (auto& t : waiting_) finish(*t, fail(ErrorCode::kUnavailable, kShuttingDown));
    waiting_.clear();
  }

  CurlClientOptions options_;
  const Clock& clock_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  CURLM* multi_ = nullptr;

  std::mutex mutex_;
  std::deque<std::unique_ptr<Transfer>> incoming_;  // guarded by mutex_
  bool stopping_ = false;                           // guarded by mutex_
  std::atomic<std::size_t> pending_{0};

  // Touched only on thread_.
  std::deque<std::unique_ptr<Transfer>> waiting_;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;
  std::vector<CURL*> free_;

  std::thread thread_;  // last: starts after everything above exists
};

CurlClient::CurlClient(CurlClientOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), clock)) {}

CurlClient::~CurlClient() = default;

void CurlClient::send(ClientRequest request, ClientCallback done) { impl_->send(std::move(request), std::move(done)); }

Result<ClientResponse> CurlClient::send_sync(ClientRequest request) {
  if (impl_->on_own_thread()) {
    return fail(ErrorCode::kInternal, "send_sync called from a completion callback would deadlock");
  }
  return HttpClient::send_sync(std::move(request));
}

std::size_t CurlClient::pending() const { return impl_->pending(); }

}  // namespace ms::http
