#include "core/i18n/money_format.hpp"

#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "core/i18n/digits.hpp"

namespace ms::i18n {

namespace {

constexpr std::string_view kFaThousands = "\u066C";  // ARABIC THOUSANDS SEPARATOR
constexpr std::string_view kFaDecimal = "\u066B";    // ARABIC DECIMAL SEPARATOR

// "1234567" -> "1,234,567" (en) or "۱٬۲۳۴٬۵۶۷" (fa).
std::string group_thousands(std::uint64_t value, Lang lang) {
  const std::string digits = std::to_string(value);
  const std::string_view sep = lang == Lang::kFa ? kFaThousands : std::string_view(",");
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.append(sep);
    out.push_back(digits[i]);
  }
  return lang == Lang::kFa ? to_persian_digits(out) : out;
}

// Integer part grouped, then `decimals` fraction digits (trailing zeros beyond `min_decimals`
// dropped).
std::string decimal_number(std::uint64_t magnitude, std::uint64_t scale, int decimals, int min_decimals, Lang lang) {
  std::string out = group_thousands(magnitude / scale, lang);
  if (decimals == 0) return out;
  std::string fraction = fmt::format("{:0{}}", magnitude % scale, decimals);
  while (static_cast<int>(fraction.size()) > min_decimals && fraction.back() == '0') fraction.pop_back();
  if (fraction.empty()) return out;
  out.append(lang == Lang::kFa ? kFaDecimal : std::string_view("."));
  out.append(lang == Lang::kFa ? to_persian_digits(fraction) : fraction);
  return out;
}

std::uint64_t magnitude_of(std::int64_t v) {
  // Negating in unsigned arithmetic is defined for INT64_MIN too.
  return v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Minor units per typed unit, and decimals allowed after the typed unit.
struct InputUnit {
  std::uint64_t minor_per_unit;
  int max_decimals;
};

InputUnit input_unit(Currency currency, IrrDisplay irr) {
  switch (currency) {
    case Currency::kIrr: return irr == IrrDisplay::kToman ? InputUnit{10, 1} : InputUnit{1, 0};
    case Currency::kUsd: return {100, 2};
    case Currency::kUsdt: return {1'000'000, 6};
    case Currency::kXtr: return {1, 0};
  }
  return {1, 0};
}

// Replaces every occurrence of `from` with `to`.
std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

bool all_digits(std::string_view s) {
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Checks "1,234,567"-style grouping and returns the digits alone, or nullopt.
std::optional<std::string> ungroup(std::string_view integer) {
  if (integer.find(',') == std::string_view::npos) {
    if (integer.empty() || !all_digits(integer)) return std::nullopt;
    return std::string(integer);
  }
  std::string digits;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const std::size_t comma = integer.find(',', start);
    const std::string_view group =
        integer.substr(start, comma == std::string_view::npos ? integer.npos : comma - start);
    const bool size_ok = first ? (!group.empty() && group.size() <= 3) : group.size() == 3;
    if (!size_ok || !all_digits(group)) return std::nullopt;
    digits.append(group);
    if (comma == std::string_view::npos) return digits;
    start = comma + 1;
    first = false;
  }
}

tl::unexpected<Error> bad_amount(std::string_view text, std::string_view why) {
  return fail(ErrorCode::kInvalidArgument, fmt::format("not an amount ({}): '{}'", why, text));
}

}  // namespace

std::string format_money(const Money& money, Lang lang, IrrDisplay irr) {
  const bool fa = lang == Lang::kFa;
  const std::uint64_t magnitude = magnitude_of(money.minor);
  const std::string_view sign = money.minor < 0 ? "-" : "";

  switch (money.currency) {
    case Currency::kIrr: {
      // Toman only when exact: a rounded price would be a wrong price.
      if (irr == IrrDisplay::kToman && magnitude % 10 == 0) {
        return fmt::format("{}{} {}", sign, group_thousands(magnitude / 10, lang), fa ? "تومان" : "Toman");
      }
      return fmt::format("{}{} {}", sign, group_thousands(magnitude, lang), fa ? "ریال" : "Rial");
    }
    case Currency::kUsd: {
      const std::string number = decimal_number(magnitude, 100, 2, 2, lang);
      return fa ? fmt::format("{}{} دلار", sign, number) : fmt::format("{}${}", sign, number);
    }
    case Currency::kUsdt:
      return fmt::format("{}{} {}", sign, decimal_number(magnitude, 1'000'000, 6, 2, lang), fa ? "تتر" : "USDT");
    case Currency::kXtr: return fmt::format("{}{} {}", sign, group_thousands(magnitude, lang), fa ? "ستاره" : "⭐");
  }
  return std::to_string(money.minor);
}

Result<Money> parse_money(std::string_view text, Currency currency, IrrDisplay irr) {
  std::string_view trimmed = text;
  while (!trimmed.empty() && is_space(trimmed.front())) trimmed.remove_prefix(1);
  while (!trimmed.empty() && is_space(trimmed.back())) trimmed.remove_suffix(1);
  if (trimmed.empty()) return bad_amount(text, "empty");

  std::string s = normalize_digits(trimmed);
  s = replace_all(std::move(s), kFaThousands, ",");
  s = replace_all(std::move(s), kFaDecimal, ".");

  std::string_view rest = s;
  bool negative = false;
  if (rest.front() == '+' || rest.front() == '-') {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }

  const std::size_t dot = rest.find('.');
  const std::string_view integer_text = rest.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  const auto integer = ungroup(integer_text);
  if (!integer) return bad_amount(text, "expected digits with optional thousands separators");
  if (dot != std::string_view::npos && (fraction.empty() || !all_digits(fraction))) {
    return bad_amount(text, "expected digits after the decimal separator");
  }

  const InputUnit unit = input_unit(currency, irr);
  if (static_cast<int>(fraction.size()) > unit.max_decimals) {
    return bad_amount(text, fmt::format("at most {} decimals", unit.max_decimals));
  }

  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t major = 0;
  for (const char c : *integer) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (major > (kMax - d) / 10) return bad_amount(text, "too large");
    major = major * 10 + d;
  }
  if (major > kMax / unit.minor_per_unit) return bad_amount(text, "too large");
  std::uint64_t minor = major * unit.minor_per_unit;

  // The fraction has at most max_decimals digits, so each digit is a whole number of minor units.
  std::uint64_t place = unit.minor_per_unit;
  for (const char c : fraction) {
    place /= 10;
    minor += static_cast<std::uint64_t>(c - '0') * place;
  }
  if (minor > kMax) return bad_amount(text, "too large");

  const auto value = static_cast<std::int64_t>(minor);
  return Money{negative ? -value : value, currency};
}

}  // namespace ms::i18n
