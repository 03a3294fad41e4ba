#include "core/i18n/digits.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace ms::i18n {

namespace {

// UTF-8 of U+06F0..U+06F9 is DB B0..DB B9; of U+0660..U+0669 is D9 A0..D9 A9.
constexpr unsigned char kPersianLead = 0xDB;
constexpr unsigned char kPersianZero = 0xB0;
constexpr unsigned char kArabicLead = 0xD9;
constexpr unsigned char kArabicZero = 0xA0;

// If text[i..] starts with a digit of any script, returns its value and sets `len` to its
// byte length.
std::optional<int> digit_at(std::string_view text, std::size_t i, std::size_t& len) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c >= '0' && c <= '9') {
    len = 1;
    return c - '0';
  }
  if (i + 1 < text.size()) {
    const auto next = static_cast<unsigned char>(text[i + 1]);
    if (c == kPersianLead && next >= kPersianZero && next <= kPersianZero + 9) {
      len = 2;
      return next - kPersianZero;
    }
    if (c == kArabicLead && next >= kArabicZero && next <= kArabicZero + 9) {
      len = 2;
      return next - kArabicZero;
    }
  }
  return std::nullopt;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string to_persian_digits(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      out.push_back(static_cast<char>(kPersianLead));
      out.push_back(static_cast<char>(kPersianZero + (c - '0')));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string normalize_digits(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t len = 0;
    if (const auto d = digit_at(text, i, len)) {
      out.push_back(static_cast<char>('0' + *d));
      i += len;
    } else {
      out.push_back(text[i]);
      ++i;
    }
  }
  return out;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;

  bool negative = false;
  if (text.front() == '+' || text.front() == '-') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;

  // Accumulate the magnitude as unsigned so that INT64_MIN's magnitude (2^63) fits.
  const std::uint64_t limit =
      negative ? std::uint64_t{1} << 63 : static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t magnitude = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t len = 0;
    const auto d = digit_at(text, i, len);
    if (!d) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(*d);
    if (magnitude > (limit - digit) / 10) return std::nullopt;
    magnitude = magnitude * 10 + digit;
    i += len;
  }
  if (!negative) return static_cast<std::int64_t>(magnitude);
  // -(2^63) has no positive counterpart: build it without negating an out-of-range value.
  if (magnitude == (std::uint64_t{1} << 63)) return std::numeric_limits<std::int64_t>::min();
  return -static_cast<std::int64_t>(magnitude);
}

std::string format_size(std::int64_t bytes, bool persian) {
  static constexpr const char* kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(std::max<std::int64_t>(bytes, 0));
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  const bool whole = unit == 0 || v >= 100 || v == static_cast<double>(static_cast<std::int64_t>(v));
  std::snprintf(buf, sizeof buf, whole ? "%.0f %s" : "%.1f %s", v, kUnits[unit]);
  if (!persian) return buf;
  std::string text = to_persian_digits(buf);
  if (auto dot = text.find('.'); dot != std::string::npos) text.replace(dot, 1, "\u066B");
  return text;
}

}  // namespace ms::i18n
