// Server: the HTTP/1.1 server (keep-alive, timeouts, body limit, graceful stop) that runs
// the middleware chain and the router for each request.
//
// Plain C++ on purpose: Boost.Asio/Beast live only in server.cpp, so code that registers
// routes compiles fast.
//
// Per connection the server reads one request at a time, runs `before` middleware, routes,
// waits for the handler's Responder (at most `handler_timeout`, then 504), runs `after`
// middleware and writes the response. It answers by itself 400 (malformed request), 408
// (request not complete within the read timeouts), 413 (body over `body_limit`), 431
// (header over `header_limit`) and 501 (unknown method); those close the connection.
//
// Network timeouts use the real steady clock (they are Asio timers); the injected Clock
// only stamps Request::received_at, which middleware uses for durations.
//
// Thread-safety: configure (router(), use()) before start(). start(), stop() and
// run_until_signal() may be called from any thread that is not one of the server's own
// threads (calling stop() from a handler would deadlock). bound_port() and running() are
// safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "http/middleware.hpp"
#include "http/router.hpp"

namespace ms::http {

struct ServerOptions {
  // "host:port", "[v6addr]:port" or ":port" (all interfaces); port 0 picks a free port.
  std::string listen = "127.0.0.1:8080";
  int threads = 2;  // event-loop threads
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  // From the first byte of a request to the end of its header.
  std::chrono::milliseconds header_timeout{10'000};
  // For reading the body, and for writing the response to a slow reader.
  std::chrono::milliseconds body_timeout{30'000};
  // How long a connection may wait for its next request (also for the first request).
  std::chrono::milliseconds idle_timeout{60'000};
  // How long a handler may take to call its Responder before the client gets 504.
  std::chrono::milliseconds handler_timeout{30'000};
};

struct ListenAddress {
  std::string host;  // "" means all interfaces
  std::uint16_t port = 0;
};

// Parses ServerOptions::listen. Fails with kInvalidArgument on a malformed value.
Result<ListenAddress> parse_listen(std::string_view listen);

class Server {
 public:
  explicit Server(ServerOptions options, const Clock& clock = SystemClock::instance());
  // Stops with no grace period if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Router& router();
  // Appends a middleware to the chain.
  void use(Middleware middleware);

  // Binds, listens and starts the event-loop threads. Fails with kInvalidArgument for a bad
  // listen address, kUnavailable when the address cannot be bound (e.g. the port is in
  // use), kConflict if already started once.
  Result<void> start();

  // The port actually bound (useful with port 0); 0 before start().
  std::uint16_t bound_port() const;
  bool running() const;

  // True between start() and the beginning of stop().
  bool accepting() const;

  // First half of stop(), returning at once: closes the listening socket (new connections
  // are refused) and idle keep-alive connections. Requests in flight continue.
  void begin_stop();

  // Graceful stop: stops accepting (new connections are refused), closes idle keep-alive
  // connections, lets requests in flight finish and answer with "Connection: close" until
  // `grace` has passed, then closes what remains and joins the threads. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // Blocks until SIGINT or SIGTERM arrives (or stop() is called elsewhere), then stops
  // with `grace`. `on_armed`, if given, runs once the signal handlers are installed.
  void run_until_signal(std::chrono::milliseconds grace = std::chrono::seconds(10),
                        const std::function<void()>& on_armed = {});

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ms::http
