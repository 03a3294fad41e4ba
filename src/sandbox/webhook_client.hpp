// A small blocking HTTP/1.1 client over POSIX sockets that the emulator uses to push
// updates to webhooks. Plain http:// to loopback addresses only: the sandbox never talks to
// the outside network. One request per connection ("Connection: close").
//
// Stateless functions: safe from any thread; each call blocks its caller up to `timeout`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace ms::sandbox {

struct WebhookUrl {
  std::string host;  // as written in the URL
  std::uint16_t port = 80;
  std::string target;  // path and query, at least "/"
};

// Parses "http://host[:port][/path]". Fails with kInvalidArgument when the URL does not
// parse or is not http, and with kPermissionDenied when the host is not a loopback address
// (127.0.0.0/8, localhost, ::1).
Result<WebhookUrl> parse_webhook_url(std::string_view url);

struct WebhookResponse {
  int status = 0;
  std::string reason;  // "OK", "Internal Server Error", ...
};

// POSTs `body` as application/json with `headers` ("Name", "value") added. Success: the
// response status line (any status, the caller judges it). Failure: kUnavailable when the
// connection cannot be made or breaks, kTimeout when the peer is too slow.
Result<WebhookResponse> post_json(const WebhookUrl& url, std::string_view body,
                                  const std::vector<std::pair<std::string, std::string>>& headers,
                                  std::chrono::milliseconds timeout);

}  // namespace ms::sandbox
