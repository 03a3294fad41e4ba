// A Redis reachability check (PING) for /readyz and `doctor`. Blocking, with a timeout.
#pragma once

#include <chrono>
#include <string>

#include "core/result.hpp"

namespace ms::app {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // never logged
  int db = 0;
};

// Parses redis://[:password@]host[:port][/db]. Failure: kInvalidArgument.
Result<RedisAddress> parse_redis_url(const std::string& url);

// Connects, authenticates if needed, selects the db and sends PING.
// Failure: kInvalidArgument (bad URL), kUnavailable (cannot connect, no PONG).
Result<void> redis_ping(const std::string& url, std::chrono::milliseconds timeout);

}  // namespace ms::app
