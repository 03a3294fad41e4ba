// Showing money to people and reading amounts they type, in Persian or English.
//
// Display rules (the currency's minor units are described in core/money.hpp):
//   IRR  Toman by default (Rial / 10): en "125,000 Toman", fa "۱۲۵٬۰۰۰ تومان". Toman is shown
//        only when the amount is a whole number of Toman; otherwise the exact amount is shown
//        in Rial ("1,250,005 Rial") so rounding never hides a remainder. IrrDisplay::kRial
//        always shows Rial ("۱٬۲۵۰٬۰۰۰ ریال").
//   USD  en "$12.50", fa "۱۲٫۵۰ دلار"; always two decimals.
//   USDT en "12.50 USDT", fa "۱۲٫۵۰ تتر"; at least two decimals, more only when non-zero (up to 6).
//   XTR  en "150 ⭐", fa "۱۵۰ ستاره".
// Thousands are grouped by three: ',' in en, U+066C '٬' in fa; the decimal separator is '.'
// in en and U+066B '٫' in fa; fa uses Persian digits. Negative amounts start with '-'
// (before '$' in en: "-$12.50").
//
// All functions are pure and safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/i18n/lang.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace ms::i18n {

// The unit in which Rial amounts are shown to, and typed by, people.
enum class IrrDisplay { kToman, kRial };

std::string format_money(const Money& money, Lang lang, IrrDisplay irr = IrrDisplay::kToman);

// Reads an amount typed by a person, in major units of `currency` (for IRR: in `irr` units,
// Toman by default, so "125,000" is 1,250,000 Rial). Accepts ASCII, Persian and Arabic-Indic
// digits, an optional leading '+' or '-', thousands separators ',' or '٬' (groups of exactly
// three digits), a decimal separator '.' or '٫', and surrounding spaces. Decimals are limited
// to what the currency can hold: USD 2, USDT 6, Toman 1, Rial and XTR none.
// Fails with kInvalidArgument for anything else, including an amount beyond int64 minor units.
Result<Money> parse_money(std::string_view text, Currency currency, IrrDisplay irr = IrrDisplay::kToman);

}  // namespace ms::i18n
