// Secret: a string that must never reach a log line, an error message or a JSON dump by
// accident. Every way of printing it (operator<<, fmt/spdlog, to_string) yields
// "[redacted]"; the value is read only through reveal(), which is easy to grep for.
// The bytes are wiped when a Secret is destroyed or reassigned.
//
// redact() and mask_bot_token() clean text that may already contain secrets (an
// upstream error body, a URL with a bot token) before it is logged.
//
// Threads: Secret is a value type (like std::string); the functions are stateless.
#pragma once

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace ms::crypto {

inline constexpr std::string_view kRedacted = "[redacted]";

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret(Secret&& other) noexcept;
  Secret& operator=(const Secret& other);
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  // The only way to the value. Call it at the point of use (an HTTP header, a hash).
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

  // Constant time for equal lengths.
  friend bool operator==(const Secret& a, const Secret& b);

 private:
  void wipe();
  std::string value_;
};

std::ostream& operator<<(std::ostream& os, const Secret& secret);
std::string to_string(const Secret& secret);

// Replaces every occurrence of any non-empty `secrets` entry in `text` with
// "[redacted]". At each position the longest matching secret wins.
std::string redact(std::string_view text, std::span<const std::string> secrets);

// "123456:ABC-DEF..." -> "123456:***" (the bot id is public; the rest is the secret).
// Without a ':' the whole value is masked as "***".
std::string mask_bot_token(std::string_view token);

}  // namespace ms::crypto

template <>
struct fmt::formatter<ms::crypto::Secret> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const ms::crypto::Secret&, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(ms::crypto::kRedacted, ctx);
  }
};
