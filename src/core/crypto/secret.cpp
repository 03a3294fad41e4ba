#include "core/crypto/secret.hpp"

#include <sodium.h>

#include <algorithm>
#include <ostream>
#include <vector>

#include "core/crypto/primitives.hpp"

namespace ms::crypto {

Secret::Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    wipe();
    value_ = other.value_;
  }
  return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    value_ = std::move(other.value_);
    other.wipe();
  }
  return *this;
}

Secret::~Secret() { wipe(); }

void Secret::wipe() {
  // A moved-from short string may still hold its bytes in the inline buffer.
  if (!value_.empty()) sodium_memzero(value_.data(), value_.size());
  value_.clear();
}

bool operator==(const Secret& a, const Secret& b) { return constant_time_equals(a.value_, b.value_); }

std::ostream& operator<<(std::ostream& os, const Secret&) { return os << kRedacted; }

std::string to_string(const Secret&) { return std::string(kRedacted); }

std::string redact(std::string_view text, std::span<const std::string> secrets) {
  std::vector<std::string_view> sorted;
  for (const auto& s : secrets) {
    if (!s.empty()) sorted.emplace_back(s);
  }
  if (sorted.empty()) return std::string(text);
  std::sort(sorted.begin(), sorted.end(), [](auto a, auto b) { return a.size() > b.size(); });

  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::string_view rest = text.substr(i);
    auto hit = std::find_if(sorted.begin(), sorted.end(), [&](std::string_view s) { return rest.starts_with(s); });
    if (hit != sorted.end()) {
      out += kRedacted;
      i += hit->size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::string mask_bot_token(std::string_view token) {
  auto colon = token.find(':');
  if (colon == std::string_view::npos) return "***";
  std::string out(token.substr(0, colon));
  out += ":***";
  return out;
}

}  // namespace ms::crypto
