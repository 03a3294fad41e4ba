// Telegram's error envelope as a value: {"ok":false,"error_code":N,"description":"...",
// "parameters":{"retry_after":S,"migrate_to_chat_id":ID}}, how to recognise the errors a
// bot must react to, and how they map to ms::Error for logs and callers.
//
// Threads: plain values and stateless functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "core/result.hpp"
#include "telegram/limits.hpp"

namespace ms::telegram {

struct TelegramError {
  int error_code = 0;  // Telegram's code (= HTTP status); 0 when the response was not a Bot API answer
  std::string description;
  std::optional<int> retry_after;
  std::optional<std::int64_t> migrate_to_chat_id;

  bool operator==(const TelegramError&) const = default;
  // "400 Bad Request: chat not found"
  std::string to_string() const;
};

// Splits a Bot API response body. Success: the `result` value. Failure: the error from an
// ok:false envelope; a body that is not an envelope at all (not an object, no boolean "ok",
// ok:false without error_code) gives error_code 0 and a description saying what was wrong.
tl::expected<nlohmann::json, TelegramError> parse_envelope(const nlohmann::json& body);
// Same for raw response text. A body that is not JSON (a proxy's HTML 502, the server's empty
// 413) becomes an error with `http_status` as its code when that is >= 400, else 0.
tl::expected<nlohmann::json, TelegramError> parse_envelope_text(std::string_view body, int http_status);

// The envelope the Bot API server writes for an error (used by the sandbox emulator):
// {"ok":false,"error_code":..,"description":..[,"parameters":{..}]}.
nlohmann::json error_envelope(const TelegramError& err);
// {"ok":true,"result":..} with an optional description ("Webhook was set").
nlohmann::json ok_envelope(nlohmann::json result, std::optional<std::string> description = std::nullopt);

// A failure that is not a Bot API answer (transport, unexpected shape): error_code 0.
TelegramError local_error(std::string description);

// A limit check's result as the error Telegram would have returned.
TelegramError from_limit(const limits::LimitError& err);
// 429 with retry_after, worded like the server: "Too Many Requests: retry after N".
TelegramError too_many_requests(int retry_after);

// 403 "Forbidden: bot was blocked by the user".
bool is_blocked(const TelegramError& err);
// 403 for a person who can no longer be written to: blocked, deactivated, never started the bot.
bool is_unreachable_user(const TelegramError& err);
// 429 (with or without retry_after).
bool is_rate_limited(const TelegramError& err);
// 401: the token is wrong or was revoked.
bool is_unauthorized(const TelegramError& err);
// 409: another getUpdates, or a webhook is set.
bool is_conflict(const TelegramError& err);
// 400 "...message is not modified..." (an edit that changed nothing; harmless).
bool is_not_modified(const TelegramError& err);
// 5xx or a non-API answer: worth retrying later.
bool is_transient(const TelegramError& err);

// 400 -> kInvalidArgument, 401 -> kUnauthenticated, 403 -> kPermissionDenied,
// 404 -> kNotFound, 409 -> kConflict, 413 -> kInvalidArgument, 429 -> kLimitExceeded,
// 5xx and 0 -> kUnavailable, anything else -> kInternal. The message is
// "telegram <code>: <description>" plus " (retry after N s)" when present.
ErrorCode error_code_for(int telegram_code);
Error to_error(const TelegramError& err);

}  // namespace ms::telegram
