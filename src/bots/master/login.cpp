#include "bots/master/login.hpp"

#include <spdlog/spdlog.h>

#include <cctype>

#include <nlohmann/json.hpp>

#include "core/crypto/primitives.hpp"

namespace ms::master {

Result<std::string> issue_login_token(storage::Database& master, const LoginSubject& subject, std::int64_t now,
                                      std::chrono::seconds ttl) {
  std::string token = crypto::random_token(32);
  auto inserted = master.with_session([&](storage::Session& s) {
    return s.exec(
        "INSERT INTO login_tokens (token_hash, subject_kind, subject_id, created_at, expires_at) "
        "VALUES (:h, :k, :id, :now, :exp)",
        {{"h", crypto::sha256_hex(token)},
         {"k", subject.kind},
         {"id", subject.id},
         {"now", now},
         {"exp", now + static_cast<std::int64_t>(ttl.count())}});
  });
  if (!inserted) return fail(std::move(inserted.error()));
  return token;
}

Result<LoginSubject> consume_login_token(storage::Database& master, const std::string& token, std::int64_t now) {
  const Error refused{ErrorCode::kUnauthenticated, "this login link is not valid (unknown, expired or already used)"};
  if (token.empty() || token.size() > 200) return tl::unexpected(refused);
  const std::string hash = crypto::sha256_hex(token);
  return master.transaction([&](storage::Session& s) -> Result<LoginSubject> {
    // Used once: of two concurrent uses only one UPDATE changes the row.
    auto used =
        s.exec("UPDATE login_tokens SET used_at = :now WHERE token_hash = :h AND used_at IS NULL AND expires_at > :now",
               {{"now", now}, {"h", hash}});
    if (!used) return fail(std::move(used.error()));
    if (*used == 0) return tl::unexpected(refused);
    auto row = s.query_one("SELECT subject_kind, subject_id FROM login_tokens WHERE token_hash = :h", {{"h", hash}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return tl::unexpected(refused);
    return LoginSubject{(*row)->get_string("subject_kind"), (*row)->get_int("subject_id")};
  });
}

Result<WebSession> open_web_session(storage::Database& master, const LoginSubject& subject, std::int64_t now,
                                    std::chrono::seconds ttl) {
  WebSession session{crypto::random_token(32), now + static_cast<std::int64_t>(ttl.count())};
  auto inserted = master.with_session([&](storage::Session& s) {
    return s.exec(
        "INSERT INTO auth_sessions (subject_kind, subject_id, refresh_token_hash, created_at, expires_at) "
        "VALUES (:k, :id, :h, :now, :exp)",
        {{"k", subject.kind},
         {"id", subject.id},
         {"h", crypto::sha256_hex(session.token)},
         {"now", now},
         {"exp", session.expires_at}});
  });
  if (!inserted) return fail(std::move(inserted.error()));
  return session;
}

namespace {

// Tokens are URL-safe base64 (random_token); anything else is refused before it is shown.
bool token_shape(std::string_view token) {
  if (token.empty() || token.size() > 200) return false;
  for (char c : token) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

// The token from a form body "token=..." (application/x-www-form-urlencoded).
std::string form_token(std::string_view body) {
  for (std::size_t at = 0; at <= body.size();) {
    std::size_t end = body.find('&', at);
    if (end == std::string_view::npos) end = body.size();
    std::string_view pair = body.substr(at, end - at);
    if (pair.rfind("token=", 0) == 0) return std::string(pair.substr(6));
    at = end + 1;
  }
  return {};
}

// What the link opens: a page that signs in only when the person presses the button. A
// GET changes nothing, so Telegram's link preview (or any prefetcher) cannot use it up.
std::string sign_in_page(const std::string& token) {
  return "<!doctype html><html lang=\"fa\" dir=\"rtl\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"referrer\" content=\"no-referrer\"><title>Mothership</title></head>"
         "<body style=\"font-family:sans-serif;text-align:center;margin-top:20vh\">"
         "<form method=\"post\" action=\"/panel/login\"><input type=\"hidden\" name=\"token\" value=\"" +
         token +
         "\"><p>ورود به پنل مادرشیپ<br><span dir=\"ltr\">Sign in to the Mothership panel</span></p>"
         "<button type=\"submit\" style=\"font-size:1.2em;padding:.5em 2em\">ورود · Sign in</button>"
         "</form></body></html>";
}

}  // namespace

void add_login_routes(http::Router& router, LoginRoutes routes) {
  if (!routes.pool) throw std::invalid_argument("add_login_routes: a worker pool is required");
  auto shared = std::make_shared<LoginRoutes>(std::move(routes));
  router.add(http::Method::kGet, "/panel/login", [](http::Request& request, http::Responder respond) {
    std::string token(request.query_param("token").value_or(""));
    if (!token_shape(token)) {
      respond(http::Response::error(401, "unauthenticated", "this login link is not valid"));
      return;
    }
    auto page = http::Response::text(200, sign_in_page(token), "text/html; charset=utf-8");
    page.headers.add("Cache-Control", "no-store");
    page.headers.add("Referrer-Policy", "no-referrer");
    respond(std::move(page));
  });
  router.add(http::Method::kPost, "/panel/login", [shared](http::Request& request, http::Responder respond) {
    std::string token = form_token(request.body);
    if (!token_shape(token)) {
      respond(http::Response::error(401, "unauthenticated", "this login link is not valid"));
      return;
    }
    auto posted = shared->pool->post([shared, token = std::move(token), respond] {
      storage::Database* db = shared->master ? shared->master() : nullptr;
      if (!db) {
        respond(http::Response::error(503, "unavailable", "the database is not ready yet"));
        return;
      }
      const std::int64_t now = shared->clock->unix_seconds();
      auto subject = consume_login_token(*db, token, now);
      if (!subject) {
        if (subject.error().code == ErrorCode::kUnauthenticated) {
          respond(http::Response::error(401, "unauthenticated", subject.error().message));
        } else {
          spdlog::warn("panel login: {}", subject.error().to_string());
          respond(http::Response::error(503, "unavailable", "try again in a moment"));
        }
        return;
      }
      auto session = open_web_session(*db, *subject, now);
      if (!session) {
        spdlog::warn("panel login: opening a session failed: {}", session.error().to_string());
        respond(http::Response::error(503, "unavailable", "try again in a moment"));
        return;
      }
      auto response = http::Response::json(200, {{"ok", true},
                                                 {"subject", {{"kind", subject->kind}, {"id", subject->id}}},
                                                 {"expires_at", session->expires_at}});
      std::string cookie = std::string(kSessionCookie) + "=" + session->token +
                           "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" + std::to_string(session->expires_at - now);
      if (shared->secure_cookie) cookie += "; Secure";
      response.headers.add("Set-Cookie", cookie);
      response.headers.add("Cache-Control", "no-store");
      respond(std::move(response));
    });
    if (!posted) respond(http::Response::error(503, "unavailable", "the server is busy"));
  });
}

}  // namespace ms::master
