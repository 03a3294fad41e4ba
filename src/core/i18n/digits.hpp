// Digit scripts. Iranians type numbers with Persian digits (۰-۹, U+06F0..U+06F9), Arabic-Indic
// digits (٠-٩, U+0660..U+0669, from Arabic keyboards) or ASCII digits, often mixed. Everything
// stored or compared uses ASCII; Persian digits are for display only.
//
// All functions are pure and safe from any thread. Text is UTF-8; bytes that are not digits
// (including invalid UTF-8) pass through unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ms::i18n {

// Replaces every ASCII digit with its Persian digit, wherever it is ("Order 12" -> "Order ۱۲").
std::string to_persian_digits(std::string_view text);

// Replaces Persian and Arabic-Indic digits with ASCII digits; everything else is kept.
std::string normalize_digits(std::string_view text);

// Parses a whole decimal integer written with any of the three digit scripts (mixing allowed),
// with an optional leading '+' or '-' and optional surrounding ASCII spaces/tabs/newlines.
// Returns nullopt for empty text, any other character (no thousands separators here: this is
// for ids and counts), or a value outside int64 (checked without overflow; INT64_MIN parses).
std::optional<std::int64_t> parse_int(std::string_view text);

// A size for people: "12.5 GB", "۱۲٫۵ GB" in Persian (Persian digits and decimal separator;
// the unit stays Latin in both languages, as VPN apps and panels show it). Binary units
// (1 GB = 1024 MB); one decimal below 100 unless whole; negative sizes show as 0.
std::string format_size(std::int64_t bytes, bool persian);

}  // namespace ms::i18n
