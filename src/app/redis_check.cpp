#include "app/redis_check.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <memory>

namespace ms::app {

Result<RedisAddress> parse_redis_url(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.rfind(kScheme, 0) != 0) return fail(ErrorCode::kInvalidArgument, "a Redis URL starts with redis://");
  std::string rest = url.substr(kScheme.size());
  RedisAddress a;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    a.password = auth.substr(auth.find(':') == std::string::npos ? 0 : auth.find(':') + 1);
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), a.db);
      if (ec != std::errc() || p != db.data() + db.size() || a.db < 0)
        return fail(ErrorCode::kInvalidArgument, "the Redis database in the URL must be a number");
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos && rest.find(']') == std::string::npos) {
    std::string port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
    if (ec != std::errc() || p != port.data() + port.size() || a.port <= 0 || a.port > 65535)
      return fail(ErrorCode::kInvalidArgument, "the Redis port in the URL must be 1-65535");
  }
  if (!rest.empty()) a.host = rest;
  return a;
}

Result<void> redis_ping(const std::string& url, std::chrono::milliseconds timeout) {
  auto address = parse_redis_url(url);
  if (!address) return fail(address.error());
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  std::unique_ptr<redisContext, decltype(&redisFree)> ctx(
      redisConnectWithTimeout(address->host.c_str(), address->port, tv), &redisFree);
  const std::string where = address->host + ":" + std::to_string(address->port);
  if (!ctx) return fail(ErrorCode::kUnavailable, "cannot allocate a Redis connection");
  if (ctx->err) return fail(ErrorCode::kUnavailable, "cannot connect to Redis at " + where + ": " + ctx->errstr);
  redisSetTimeout(ctx.get(), tv);
  auto command = [&](const char* fmt, auto... args) -> Result<std::string> {
    auto* reply = static_cast<redisReply*>(redisCommand(ctx.get(), fmt, args...));
    if (reply == nullptr) return fail(ErrorCode::kUnavailable, "Redis at " + where + " did not answer: " + ctx->errstr);
    std::unique_ptr<redisReply, decltype(&freeReplyObject)> guard(reply, &freeReplyObject);
    if (reply->type == REDIS_REPLY_ERROR)
      return fail(ErrorCode::kUnavailable, "Redis at " + where + " refused: " + std::string(reply->str, reply->len));
    if (reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_STRING)
      return std::string(reply->str, reply->len);
    return std::string();
  };
  if (!address->password.empty()) {
    if (auto r = command("AUTH %s", address->password.c_str()); !r) return fail(r.error());
  }
  if (address->db != 0) {
    if (auto r = command("SELECT %d", address->db); !r) return fail(r.error());
  }
  auto pong = command("PING");
  if (!pong) return fail(pong.error());
  if (*pong != "PONG") return fail(ErrorCode::kUnavailable, "Redis at " + where + " answered PING with " + *pong);
  return ok();
}

}  // namespace ms::app
