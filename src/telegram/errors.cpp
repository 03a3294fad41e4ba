#include "telegram/errors.hpp"

#include <utility>

namespace ms::telegram {

using nlohmann::json;

std::string TelegramError::to_string() const { return std::to_string(error_code) + " " + description; }

namespace {

TelegramError malformed(std::string what) {
  TelegramError err;
  err.description = "malformed Bot API response: " + std::move(what);
  return err;
}

}  // namespace

tl::expected<json, TelegramError> parse_envelope(const json& body) {
  if (!body.is_object()) return tl::unexpected(malformed("not a JSON object"));
  auto ok = body.find("ok");
  if (ok == body.end() || !ok->is_boolean()) return tl::unexpected(malformed("no boolean \"ok\""));
  if (ok->get<bool>()) {
    auto result = body.find("result");
    if (result == body.end()) return tl::unexpected(malformed("ok:true without \"result\""));
    return *result;
  }
  auto code = body.find("error_code");
  if (code == body.end() || !code->is_number_integer()) {
    return tl::unexpected(malformed("ok:false without an integer \"error_code\""));
  }
  TelegramError err;
  err.error_code = code->get<int>();
  if (auto d = body.find("description"); d != body.end() && d->is_string()) err.description = d->get<std::string>();
  if (auto p = body.find("parameters"); p != body.end() && p->is_object()) {
    if (auto r = p->find("retry_after"); r != p->end() && r->is_number_integer()) err.retry_after = r->get<int>();
    if (auto m = p->find("migrate_to_chat_id"); m != p->end() && m->is_number_integer()) {
      err.migrate_to_chat_id = m->get<std::int64_t>();
    }
  }
  return tl::unexpected(std::move(err));
}

tl::expected<json, TelegramError> parse_envelope_text(std::string_view body, int http_status) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    TelegramError err;
    err.error_code = http_status >= 400 ? http_status : 0;
    err.description = "non-JSON response with HTTP status " + std::to_string(http_status);
    return tl::unexpected(std::move(err));
  }
  return parse_envelope(parsed);
}

json error_envelope(const TelegramError& err) {
  json j{{"ok", false}, {"error_code", err.error_code}, {"description", err.description}};
  if (err.retry_after || err.migrate_to_chat_id) {
    json params = json::object();
    if (err.migrate_to_chat_id) params["migrate_to_chat_id"] = *err.migrate_to_chat_id;
    if (err.retry_after) params["retry_after"] = *err.retry_after;
    j["parameters"] = std::move(params);
  }
  return j;
}

json ok_envelope(json result, std::optional<std::string> description) {
  json j{{"ok", true}, {"result", std::move(result)}};
  if (description) j["description"] = std::move(*description);
  return j;
}

TelegramError from_limit(const limits::LimitError& err) {
  TelegramError out;
  out.error_code = err.code;
  out.description = err.description;
  return out;
}

TelegramError too_many_requests(int retry_after) {
  TelegramError err = from_limit(limits::make_error(429, "", retry_after));
  err.retry_after = retry_after;
  return err;
}

bool is_blocked(const TelegramError& err) {
  return err.error_code == 403 && err.description == "Forbidden: bot was blocked by the user";
}

bool is_unreachable_user(const TelegramError& err) {
  return is_blocked(err) ||
         (err.error_code == 403 && (err.description == "Forbidden: user is deactivated" ||
                                    err.description == "Forbidden: bot can't initiate conversation with a user"));
}

bool is_rate_limited(const TelegramError& err) { return err.error_code == 429; }
bool is_unauthorized(const TelegramError& err) { return err.error_code == 401; }
bool is_conflict(const TelegramError& err) { return err.error_code == 409; }

bool is_not_modified(const TelegramError& err) {
  return err.error_code == 400 && err.description.rfind("Bad Request: message is not modified", 0) == 0;
}

TelegramError local_error(std::string description) {
  TelegramError err;
  err.description = std::move(description);
  return err;
}

bool is_transient(const TelegramError& err) { return err.error_code == 0 || err.error_code >= 500; }

ErrorCode error_code_for(int telegram_code) {
  switch (telegram_code) {
    case 400:
    case 413: return ErrorCode::kInvalidArgument;
    case 401: return ErrorCode::kUnauthenticated;
    case 403: return ErrorCode::kPermissionDenied;
    case 404: return ErrorCode::kNotFound;
    case 409: return ErrorCode::kConflict;
    case 429: return ErrorCode::kLimitExceeded;
    default: break;
  }
  if (telegram_code == 0 || telegram_code >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kInternal;
}

Error to_error(const TelegramError& err) {
  std::string message = "telegram " + std::to_string(err.error_code) + ": " + err.description;
  if (err.retry_after) message += " (retry after " + std::to_string(*err.retry_after) + " s)";
  if (err.migrate_to_chat_id) message += " (migrated to chat " + std::to_string(*err.migrate_to_chat_id) + ")";
  return Error{error_code_for(err.error_code), std::move(message)};
}

}  // namespace ms::telegram
