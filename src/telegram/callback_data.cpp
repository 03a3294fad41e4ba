#include "telegram/callback_data.hpp"

#include <charconv>
#include <utility>

#include "core/crypto/primitives.hpp"
#include "telegram/limits.hpp"

namespace ms::telegram {
namespace {

constexpr std::size_t kTagBytes = 9;  // 72 bits = exactly 12 base64 characters, no padding bits
constexpr std::string_view kDomain = "ms.cb.v1\n";

std::string tag_for(std::string_view body, std::string_view key) {
  std::string message(kDomain);
  message.append(body);
  const std::string mac = crypto::hmac_sha256(key, message);
  return crypto::base64_encode(std::string_view(mac).substr(0, kTagBytes), crypto::Base64Variant::kUrlSafeNoPadding);
}

bool valid_action(std::string_view action) {
  if (action.empty() || action.size() > kCallbackActionMaxChars) return false;
  for (char c : action) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<CallbackArg> parse_arg(std::string_view field) {
  if (!field.empty() && field.front() == '\'') {
    std::string out;
    for (std::size_t i = 1; i < field.size(); ++i) {
      if (field[i] != '~') {
        out += field[i];
        continue;
      }
      if (i + 1 >= field.size()) return fail(ErrorCode::kInvalidArgument, "callback data: dangling escape");
      const char next = field[++i];
      if (next == '~') {
        out += '~';
      } else if (next == '!') {
        out += '|';
      } else {
        return fail(ErrorCode::kInvalidArgument, "callback data: unknown escape");
      }
    }
    return CallbackArg{std::move(out)};
  }
  std::int64_t value = 0;
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (field.empty() || ec != std::errc() || ptr != end) {
    return fail(ErrorCode::kInvalidArgument, "callback data: bad integer argument");
  }
  return CallbackArg{value};
}

}  // namespace

Result<std::int64_t> CallbackPayload::int_at(std::size_t i) const {
  if (i >= args.size() || !std::holds_alternative<std::int64_t>(args[i])) {
    return fail(ErrorCode::kInvalidArgument,
                "callback " + action + ": argument " + std::to_string(i) + " is not an integer");
  }
  return std::get<std::int64_t>(args[i]);
}

Result<std::string> CallbackPayload::string_at(std::size_t i) const {
  if (i >= args.size() || !std::holds_alternative<std::string>(args[i])) {
    return fail(ErrorCode::kInvalidArgument,
                "callback " + action + ": argument " + std::to_string(i) + " is not a string");
  }
  return std::get<std::string>(args[i]);
}

Result<std::string> encode_callback(std::string_view action, const std::vector<CallbackArg>& args,
                                    std::string_view key) {
  if (key.empty()) return fail(ErrorCode::kInvalidArgument, "callback data: empty key");
  if (!valid_action(action)) {
    return fail(ErrorCode::kInvalidArgument, "callback data: action must be 1-16 characters of [A-Za-z0-9_.-]");
  }
  std::string body(action);
  for (const auto& arg : args) {
    body += '|';
    if (const auto* n = std::get_if<std::int64_t>(&arg)) {
      body += std::to_string(*n);
      continue;
    }
    const std::string& s = std::get<std::string>(arg);
    if (!limits::is_valid_utf8(s)) return fail(ErrorCode::kInvalidArgument, "callback data: argument is not UTF-8");
    body += '\'';
    for (char c : s) {
      if (c == '~') {
        body += "~~";
      } else if (c == '|') {
        body += "~!";
      } else {
        body += c;
      }
    }
  }
  const std::size_t total = body.size() + 1 + kCallbackTagChars;
  if (total > kCallbackDataMaxBytes) {
    return fail(ErrorCode::kInvalidArgument, "callback data for \"" + std::string(action) + "\" would be " +
                                                 std::to_string(total) + " bytes; Telegram allows 64");
  }
  std::string tag = tag_for(body, key);
  body += '|';
  body += tag;
  return body;
}

Result<CallbackPayload> decode_callback(std::string_view data, std::string_view key) {
  if (key.empty()) return fail(ErrorCode::kInvalidArgument, "callback data: empty key");
  const auto denied = [] { return fail(ErrorCode::kPermissionDenied, "callback data: signature does not match"); };
  if (data.size() > kCallbackDataMaxBytes || data.size() < kCallbackTagChars + 2) return denied();
  const std::size_t sep = data.size() - kCallbackTagChars - 1;
  if (data[sep] != '|') return denied();
  const std::string_view body = data.substr(0, sep);
  const std::string_view tag = data.substr(sep + 1);
  if (!crypto::constant_time_equals(tag, tag_for(body, key))) return denied();

  // Signed by us, so a parse failure below means a bug on our side, not an attack.
  CallbackPayload out;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const std::size_t bar = body.find('|', start);
    const std::string_view field = body.substr(start, bar == std::string_view::npos ? bar : bar - start);
    if (first) {
      if (!valid_action(field)) return fail(ErrorCode::kInvalidArgument, "callback data: bad action");
      out.action = std::string(field);
      first = false;
    } else {
      auto arg = parse_arg(field);
      if (!arg) return fail(arg.error());
      out.args.push_back(std::move(*arg));
    }
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  return out;
}

}  // namespace ms::telegram
