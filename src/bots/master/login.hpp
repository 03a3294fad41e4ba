// One-time login links for the web panel, sent by the master bot's /panel: a random token
// whose SHA-256 alone is stored in master `login_tokens` (it expires after a few minutes and
// works once), and `POST /panel/login` (sent by the page `GET /panel/login?token=...` shows),
// which consumes it and opens a web session (auth_sessions, the session token again stored
// only as its hash) set as a cookie.
//
// Threads: the functions are thread-safe as far as the Database is; they block on it. The
// route runs its database work on the given WorkerPool, never on the event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/worker_pool.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"

namespace ms::master {

inline constexpr const char* kSessionCookie = "ms_session";

struct LoginSubject {
  std::string kind;  // "customer" or "operator"
  std::int64_t id = 0;
};

// A new login token for `subject`, valid until now + ttl. Success: the clear token (only its
// hash is kept); it is URL-safe.
Result<std::string> issue_login_token(storage::Database& master, const LoginSubject& subject, std::int64_t now,
                                      std::chrono::seconds ttl = std::chrono::minutes(10));

// Uses a login token once. Success: whose it was. kUnauthenticated for a token that is
// unknown, expired or already used (the same answer for all three, so nothing leaks).
Result<LoginSubject> consume_login_token(storage::Database& master, const std::string& token, std::int64_t now);

struct WebSession {
  std::string token;  // the cookie's value; only its hash is stored
  std::int64_t expires_at = 0;
};
// Opens a web session (auth_sessions) for `subject`.
Result<WebSession> open_web_session(storage::Database& master, const LoginSubject& subject, std::int64_t now,
                                    std::chrono::seconds ttl = std::chrono::hours(24 * 14));

struct LoginRoutes {
  // The master database, or nullptr while it is not ready (the route answers 503).
  std::function<storage::Database*()> master;
  WorkerPool* pool = nullptr;  // required
  const Clock* clock = &SystemClock::instance();
  bool secure_cookie = false;  // add "Secure" (the public URL is https)
};
// GET /panel/login?token=...: a page whose button posts the token (a GET uses nothing up:
// Telegram's link preview fetches the link too). POST /panel/login, form body token=...:
// 200 {"ok":true,"subject":{kind,id}} with Set-Cookie, or 401
// {"error":{"code":"unauthenticated",...}} for a bad, expired or used token.
void add_login_routes(http::Router& router, LoginRoutes routes);

}  // namespace ms::master
