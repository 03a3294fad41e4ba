// Middleware: hooks around routing.
//
// The server resolves the route first (request.route and request.path_params are set; route
// is empty when nothing matched), then runs the chain in order: each `before` may modify
// the request or answer it at once (auth, rate limits), which skips the later hooks and the
// handler (and the 404/405).
// After the response exists (from a handler, a short-circuit, a 404/405, a 500 for a
// throwing handler or a 504 for a handler timeout), the `after` hooks of the middleware
// whose `before` ran are run in reverse order; they may observe or modify the response.
// Responses the server makes before a request exists (400 malformed, 408, 413) skip the chain.
//
// Thread-safety: hooks run on the server's event-loop threads, possibly several at once,
// so they must be thread-safe and must not block. A hook that throws makes the response
// 500 (`before`) or is logged and skipped (`after`).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "http/request.hpp"

namespace spdlog {
class logger;
}

namespace ms::http {

struct Middleware {
  std::string name;
  // Returns a response to answer at once, or nullopt to continue. May be empty.
  std::function<std::optional<Response>(Request&)> before;
  // May be empty.
  std::function<void(const Request&, Response&)> after;
};

using MiddlewareChain = std::vector<Middleware>;

struct BeforeOutcome {
  std::size_t ran = 0;               // how many `before` hooks ran (pass this to run_after)
  std::optional<Response> response;  // set when a hook answered
};

// Runs the `before` hooks in order until one answers.
BeforeOutcome run_before(const MiddlewareChain& chain, Request& request);
// Runs the `after` hooks of the first `ran` middleware in reverse order.
void run_after(const MiddlewareChain& chain, std::size_t ran, const Request& request, Response& response);

// Sets request.id from a well-formed incoming X-Request-Id (1-128 chars of [A-Za-z0-9._:-])
// or a fresh random one, and echoes it in the response's X-Request-Id header.
Middleware request_id_middleware();

// One log line per request at info level (warn for 5xx): method, path without the query
// string (it may carry secrets; the path is logged still percent-encoded, so it cannot
// forge log lines), status, duration, request id, peer. Never the body.
// `logger` defaults to spdlog's default logger.
Middleware access_log_middleware(std::shared_ptr<spdlog::logger> logger = nullptr,
                                 const Clock& clock = SystemClock::instance());

// http_requests_total{method,route,status} and http_request_duration_seconds{method,route},
// labelled by route pattern (or "unmatched"), never by raw path, to bound cardinality.
Middleware metrics_middleware(const Clock& clock = SystemClock::instance());

// Random 32 hex digit id.
std::string generate_request_id();

}  // namespace ms::http
