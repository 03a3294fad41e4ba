// HttpClient: the outgoing HTTP client every integration uses (Telegram Bot API, panels,
// payment gateways), and CurlClient, its implementation over libcurl's multi interface.
//
// Failures of the exchange are values: a deadline -> kTimeout; connection refused, DNS or
// TLS failure -> kUnavailable with curl's message; a malformed or non-HTTP(S) URL ->
// kInvalidArgument; a response over `max_response_bytes` -> kLimitExceeded; a request still
// queued or in flight when the client is destroyed -> kUnavailable "client is shutting
// down". An HTTP error status (4xx, 5xx) is NOT an error: the caller reads status and body.
//
// Logs and metrics never carry a URL's path or query (the Telegram token lives in the
// path) nor any body: only scheme://host[:port], method and status.
//
// Thread-safety: send() and send_sync() may be called from any number of threads at once.
// CurlClient runs every transfer on ONE thread of its own (curl_multi_poll), so thousands
// of requests can be in flight without a thread each; `done` callbacks run on that thread,
// one at a time, and must not block (hand slow work to a WorkerPool). A callback may call
// send(); it must not call send_sync() (that fails at once with kInternal) nor destroy the
// client.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "http/request.hpp"

namespace ms::http {

// One part of a multipart/form-data body: a plain field (empty filename) or a file.
struct MultipartField {
  std::string name;
  std::string filename;      // empty for a plain form field
  std::string content_type;  // empty: curl's default (text for fields, octet-stream for files)
  std::string data;          // any bytes, including NUL

  static MultipartField field(std::string name, std::string value) {
    return MultipartField{std::move(name), {}, {}, std::move(value)};
  }
  static MultipartField file(std::string name, std::string filename, std::string content_type, std::string bytes) {
    return MultipartField{std::move(name), std::move(filename), std::move(content_type), std::move(bytes)};
  }
};

// How one request checks the server's certificate, overriding the client's options.
struct TlsPolicy {
  enum class Mode {
    kVerify,    // the chain must lead to a trusted CA (ca_file, or the system's) and name the host
    kInsecure,  // no check at all: anyone on the path can read and change the exchange
    kPinned,    // exactly the certificate whose SHA-256 is `pin`: for a self-signed certificate
  };
  Mode mode = Mode::kVerify;
  std::string ca_file;  // kVerify: trust this CA bundle instead of the system's (empty: system's)
  // kPinned: SHA-256 of the leaf certificate's DER, 64 hex digits, ':' separators allowed
  // (what `openssl x509 -noout -fingerprint -sha256` prints). Chain and host name are not
  // checked: the pin identifies the certificate. A pinned request never shares a connection
  // with another request (each one makes and checks its own).
  std::string pin;
};

// The 32 bytes of a fingerprint written as TlsPolicy::pin wants; kInvalidArgument otherwise.
Result<std::string> parse_sha256_fingerprint(std::string_view text);

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // absolute http:// or https:// URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent as is; set a Content-Type header yourself
  // When non-empty the request is a multipart/form-data POST (unless `method` says
  // otherwise) and `body` is ignored.
  std::vector<MultipartField> multipart;
  // Whole exchange, counted from when the transfer starts (after any wait for a free
  // in-flight slot or connection).
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  // TLS checks for this request (https only); nullopt: the client's options.
  std::optional<TlsPolicy> tls;
  // Open a new connection for this request. libcurl silently sends a request again when a
  // reused keep-alive connection turns out dead before any answer byte; for a call that must
  // not run twice (a POST that creates something) that would be a hidden retry.
  bool fresh_connection = false;
  // Refuse to connect to a loopback, private, link-local or other internal address
  // (http/address_policy.hpp): for a URL a customer gave. Checked at each connect, so a
  // name that resolves to such an address fails with kPermissionDenied "address not allowed".
  bool refuse_private_addresses = false;
};

struct ClientResponse {
  int status = 0;
  Headers headers;  // case-insensitive lookup; those of the final response only
  std::string body;
  double total_seconds = 0;  // from send() to completion, on the client's Clock
};

using ClientCallback = std::function<void(Result<ClientResponse>)>;

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Starts the request and returns at once, without blocking. `done` is called exactly once
  // with the response or the error, on the client's own thread.
  virtual void send(ClientRequest request, ClientCallback done) = 0;

  // Sends and waits for the outcome (same values as send()). Not from a `done` callback.
  virtual Result<ClientResponse> send_sync(ClientRequest request);
};

struct CurlClientOptions {
  // Transfers running at once; more requests wait in a queue inside the client.
  std::size_t max_in_flight = 4096;
  // Connections to one host at once (0: no cap); transfers beyond it wait for a connection.
  long max_host_connections = 64;
  // Idle connections kept open for reuse.
  long max_idle_connections = 256;
  bool verify_tls = true;
  std::string ca_file;  // empty: the system's CA bundle
  // Optional public-key pin, CURLOPT_PINNEDPUBLICKEY form: "sha256//<base64>[;sha256//...]".
  std::string pinned_sha256;
  std::string user_agent = default_user_agent();
  // A larger response body fails the request with kLimitExceeded.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  // Every request as if it set ClientRequest::refuse_private_addresses (a client for panels).
  bool refuse_private_addresses = false;

  static std::string default_user_agent();  // "mothership/<version>"
};

class CurlClient final : public HttpClient {
 public:
  // Starts the client's thread. Throws std::runtime_error if libcurl cannot be initialised
  // (a start-up error).
  explicit CurlClient(CurlClientOptions options = {}, const Clock& clock = SystemClock::instance());
  // Completes every queued and in-flight request with kUnavailable "client is shutting
  // down", then joins the thread. Must not run on the client's own thread.
  ~CurlClient() override;
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  // If the client is already being destroyed, `done` runs at once on the calling thread
  // with the shutting-down error.
  void send(ClientRequest request, ClientCallback done) override;
  Result<ClientResponse> send_sync(ClientRequest request) override;

  // Requests accepted but not yet completed (queued + in flight).
  std::size_t pending() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// "scheme://host[:port]" of a URL: the only part of a URL that may be logged. Fails with
// kInvalidArgument on a malformed URL.
Result<std::string> loggable_origin(const std::string& url);

}  // namespace ms::http
