// Small pieces shared by admin_catalog*.cpp (internal to src/bots/shop/): how the answers an owner
// types into a form are read. Each reader gives the value to keep, or nullopt when the text is
// not acceptable (the form then asks again).
#pragma once

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/i18n/digits.hpp"
#include "core/i18n/money_format.hpp"
#include "bots/shop/shop_impl.hpp"

namespace ms::shop::admin {

using nlohmann::json;

inline std::string trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t')) text.remove_suffix(1);
  return std::string(text);
}

// "-" (or "—") means "none" for optional answers.
inline bool is_none(std::string_view text) {
  auto t = trimmed(text);
  return t == "-" || t == "—" || t == "0";
}

inline auto text_reader(std::size_t min_bytes, std::size_t max_bytes, bool optional = false) {
  return [=](Turn& turn) -> std::optional<json> {
    auto t = trimmed(turn.text());
    if (optional && (t == "-" || t == "—")) return json("");
    if (t.size() < min_bytes || t.size() > max_bytes) return std::nullopt;
    return json(t);
  };
}

inline auto int_reader(std::int64_t min, std::int64_t max) {
  return [=](Turn& turn) -> std::optional<json> {
    auto n = i18n::parse_int(turn.text());
    if (!n || *n < min || *n > max) return std::nullopt;
    return json(*n);
  };
}

inline auto money_reader(Currency currency) {
  return [=](Turn& turn) -> std::optional<json> {
    auto m = i18n::parse_money(trimmed(turn.text()), currency);
    if (!m || m->minor < 0) return std::nullopt;
    return json(m->minor);
  };
}

// Gigabytes, decimals allowed ("0.5", "۱۰"); 0 when `zero_ok` (unlimited). Stored as bytes.
inline std::optional<std::int64_t> parse_gb(std::string_view text) {
  auto t = i18n::normalize_digits(trimmed(text));
  for (auto& c : t) {
    if (c == ',') c = '.';
  }
  if (t.empty() || t.size() > 12 || t.find_first_not_of("0123456789.") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  const double gb = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !(gb >= 0) || gb > 1'000'000) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(gb * static_cast<double>(1LL << 30)));
}

inline auto gb_reader(bool zero_ok) {
  return [=](Turn& turn) -> std::optional<json> {
    auto b = parse_gb(turn.text());
    if (!b || (*b == 0 && !zero_ok)) return std::nullopt;
    return json(*b);
  };
}

}  // namespace ms::shop::admin
