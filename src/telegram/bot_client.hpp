// BotClient: the Bot API for one bot, over an http::HttpClient (libcurl multi in
// production). Base URL from MOTHERSHIP_TELEGRAM_API_URL: Telegram itself, a self-hosted
// telegram-bot-api server, or the sandbox (".../sandbox").
//
// Every answer is a value: the method's typed result, or a TelegramError. Transport
// failures (timeout, refused connection) become error_code 0 with a description that says
// so (is_transient() is true for them), so callers handle one kind of failure.
// The token is part of the URL path; it is never logged (the HTTP client logs only
// scheme://host) and never appears in an error description.
//
// Threads: call() may be used from any thread; `done` runs on the HTTP client's thread and
// must not block. The HttpClient must outlive the BotClient and its pending calls.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <string>

#include <tl/expected.hpp>

#include "http/client.hpp"
#include "telegram/errors.hpp"
#include "telegram/methods.hpp"

namespace ms::telegram {

template <class M>
using Reply = tl::expected<typename M::Response, TelegramError>;
using RawReply = tl::expected<Json, TelegramError>;

// A raw answer as method M's typed result.
template <class M>
Reply<M> parse_reply(RawReply raw) {
  if (!raw) return tl::unexpected(std::move(raw.error()));
  auto typed = from_json<typename M::Response>(*raw);
  if (!typed) return tl::unexpected(local_error("unexpected result shape: " + typed.error().message));
  return std::move(*typed);
}

class BotClient {
 public:
  // `api_base_url` without a trailing slash, e.g. "https://api.telegram.org".
  BotClient(http::HttpClient& http, std::string api_base_url, std::string token);

  // Sends one validated request. Long polls (getUpdates with a timeout) get that timeout
  // plus a margin as their HTTP timeout; other calls `request_timeout`.
  void call_raw(Request request, std::function<void(RawReply)> done);

  // Validates `method` like Telegram would (answering at once on a limit), sends it,
  // and parses the result into M::Response.
  template <class M>
  void call(const M& method, std::function<void(Reply<M>)> done) {
    auto request = make_request(method);
    if (!request) {
      done(tl::unexpected(std::move(request.error())));
      return;
    }
    call_raw(std::move(*request), [done = std::move(done)](RawReply raw) { done(parse_reply<M>(std::move(raw))); });
  }

  // Blocking form, for tools and tests; never call it on the HTTP client's thread.
  template <class M>
  Reply<M> call_sync(const M& method) {
    std::promise<Reply<M>> promise;
    auto future = promise.get_future();
    call(method, [&promise](Reply<M> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  // Like call_sync, but answers the raw `result` JSON without the typed parse.
  template <class M>
  RawReply call_raw_sync(const M& method) {
    auto request = make_request(method);
    if (!request) return tl::unexpected(std::move(request.error()));
    std::promise<RawReply> promise;
    auto future = promise.get_future();
    call_raw(std::move(*request), [&promise](RawReply r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  void set_request_timeout(std::chrono::milliseconds timeout) { request_timeout_ = timeout; }
  // The bot id: the digits before the colon of the token (0 for a malformed token).
  std::int64_t bot_id() const { return bot_id_; }
  const std::string& token() const { return token_; }

 private:
  http::HttpClient& http_;
  std::string base_url_;
  std::string token_;
  std::int64_t bot_id_ = 0;
  std::chrono::milliseconds request_timeout_{30'000};
};

}  // namespace ms::telegram
