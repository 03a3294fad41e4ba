// Compact, tamper-proof callback data for inline buttons (Telegram allows 1-64 bytes).
//
// Layout: <action>{|<arg>}|<tag>, where an integer arg is its decimal digits, a string arg
// is "'" followed by the UTF-8 text with '~' and '|' escaped as "~~" and "~!", and <tag>
// is the first 9 bytes of HMAC-SHA256(key, "ms.cb.v1\n" + everything before the tag), as
// 12 URL-safe base64 characters. 72 bits make a forged button a hopeless guess, and 13
// bytes of overhead leave 51 for the action and arguments.
//
// Threads: stateless functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace ms::telegram {

using CallbackArg = std::variant<std::int64_t, std::string>;

struct CallbackPayload {
  std::string action;
  std::vector<CallbackArg> args;

  bool operator==(const CallbackPayload&) const = default;
  // The i-th argument as that type; kInvalidArgument when absent or of the other type.
  Result<std::int64_t> int_at(std::size_t i) const;
  Result<std::string> string_at(std::size_t i) const;
};

inline constexpr std::size_t kCallbackDataMaxBytes = 64;
inline constexpr std::size_t kCallbackTagChars = 12;
inline constexpr std::size_t kCallbackActionMaxChars = 16;

// Fails with kInvalidArgument when the key is empty, the action is not 1-16 characters of
// [A-Za-z0-9_.-], a string arg is not valid UTF-8, or the result would exceed 64 bytes.
Result<std::string> encode_callback(std::string_view action, const std::vector<CallbackArg>& args,
                                    std::string_view key);
// Fails with kPermissionDenied when the data was not made by encode_callback with this key
// (forged, altered, truncated, or signed by another bot), kInvalidArgument for an empty key.
Result<CallbackPayload> decode_callback(std::string_view data, std::string_view key);

}  // namespace ms::telegram
