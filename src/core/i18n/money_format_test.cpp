#include "core/i18n/money_format.hpp"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace ms::i18n {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

Money irr(std::int64_t rial) { return {rial, Currency::kIrr}; }
Money usd(std::int64_t cents) { return {cents, Currency::kUsd}; }
Money usdt(std::int64_t micro) { return {micro, Currency::kUsdt}; }
Money xtr(std::int64_t stars) { return {stars, Currency::kXtr}; }

TEST(FormatMoneyTest, TomanByDefault) {
  EXPECT_EQ(format_money(irr(1'250'000), Lang::kEn), "125,000 Toman");
  EXPECT_EQ(format_money(irr(1'250'000), Lang::kFa), "۱۲۵٬۰۰۰ تومان");
  EXPECT_EQ(format_money(irr(10), Lang::kEn), "1 Toman");
  EXPECT_EQ(format_money(irr(1000), Lang::kEn), "100 Toman");
  EXPECT_EQ(format_money(irr(10'000), Lang::kEn), "1,000 Toman");
  EXPECT_EQ(format_money(irr(0), Lang::kEn), "0 Toman");
  EXPECT_EQ(format_money(irr(0), Lang::kFa), "۰ تومان");
  EXPECT_EQ(format_money(irr(12'345'678'900), Lang::kFa), "۱٬۲۳۴٬۵۶۷٬۸۹۰ تومان");
}

TEST(FormatMoneyTest, TomanNeverHidesARialRemainder) {
  EXPECT_EQ(format_money(irr(1'250'005), Lang::kEn), "1,250,005 Rial");
  EXPECT_EQ(format_money(irr(1'250'005), Lang::kFa), "۱٬۲۵۰٬۰۰۵ ریال");
  EXPECT_EQ(format_money(irr(999), Lang::kEn), "999 Rial");
  EXPECT_EQ(format_money(irr(1), Lang::kEn), "1 Rial");
}

TEST(FormatMoneyTest, RialDisplay) {
  EXPECT_EQ(format_money(irr(1'250'000), Lang::kEn, IrrDisplay::kRial), "1,250,000 Rial");
  EXPECT_EQ(format_money(irr(1'250'000), Lang::kFa, IrrDisplay::kRial), "۱٬۲۵۰٬۰۰۰ ریال");
  EXPECT_EQ(format_money(irr(100), Lang::kEn, IrrDisplay::kRial), "100 Rial");
}

TEST(FormatMoneyTest, Dollars) {
  EXPECT_EQ(format_money(usd(1250), Lang::kEn), "$12.50");
  EXPECT_EQ(format_money(usd(1250), Lang::kFa), "۱۲٫۵۰ دلار");
  EXPECT_EQ(format_money(usd(5), Lang::kEn), "$0.05");
  EXPECT_EQ(format_money(usd(1200), Lang::kEn), "$12.00");
  EXPECT_EQ(format_money(usd(0), Lang::kEn), "$0.00");
  EXPECT_EQ(format_money(usd(123'456'789), Lang::kEn), "$1,234,567.89");
  EXPECT_EQ(format_money(usd(123'456'789), Lang::kFa), "۱٬۲۳۴٬۵۶۷٫۸۹ دلار");
}

TEST(FormatMoneyTest, Tether) {
  EXPECT_EQ(format_money(usdt(12'500'000), Lang::kEn), "12.50 USDT");
  EXPECT_EQ(format_money(usdt(12'500'000), Lang::kFa), "۱۲٫۵۰ تتر");
  EXPECT_EQ(format_money(usdt(12'000'000), Lang::kEn), "12.00 USDT");
  EXPECT_EQ(format_money(usdt(12'123'400), Lang::kEn), "12.1234 USDT");
  EXPECT_EQ(format_money(usdt(12'000'001), Lang::kEn), "12.000001 USDT");
  EXPECT_EQ(format_money(usdt(1), Lang::kEn), "0.000001 USDT");
  EXPECT_EQ(format_money(usdt(1'500'000'000), Lang::kEn), "1,500.00 USDT");
}

TEST(FormatMoneyTest, Stars) {
  EXPECT_EQ(format_money(xtr(150), Lang::kEn), "150 ⭐");
  EXPECT_EQ(format_money(xtr(150), Lang::kFa), "۱۵۰ ستاره");
  EXPECT_EQ(format_money(xtr(1500), Lang::kEn), "1,500 ⭐");
}

TEST(FormatMoneyTest, NegativeAmountsKeepTheirSign) {
  EXPECT_EQ(format_money(usd(-1250), Lang::kEn), "-$12.50");
  EXPECT_EQ(format_money(usd(-1250), Lang::kFa), "-۱۲٫۵۰ دلار");
  EXPECT_EQ(format_money(irr(-1'250'000), Lang::kEn), "-125,000 Toman");
  EXPECT_EQ(format_money(irr(-15), Lang::kEn), "-15 Rial");
  EXPECT_EQ(format_money(usdt(-500'000), Lang::kEn), "-0.50 USDT");
  EXPECT_EQ(format_money(xtr(-3), Lang::kFa), "-۳ ستاره");
  EXPECT_EQ(format_money(usd(-5), Lang::kEn), "-$0.05");
}

TEST(FormatMoneyTest, Int64Limits) {
  EXPECT_EQ(format_money(irr(kMin), Lang::kEn), "-9,223,372,036,854,775,808 Rial");
  EXPECT_EQ(format_money(irr(kMax), Lang::kEn), "9,223,372,036,854,775,807 Rial");
  EXPECT_EQ(format_money(usd(kMax), Lang::kEn), "$92,233,720,368,547,758.07");
  EXPECT_EQ(format_money(usd(kMin), Lang::kEn), "-$92,233,720,368,547,758.08");
  EXPECT_EQ(format_money(usdt(kMax), Lang::kEn), "9,223,372,036,854.775807 USDT");
}

Money parsed(std::string_view text, Currency c, IrrDisplay irr_unit = IrrDisplay::kToman) {
  const auto r = parse_money(text, c, irr_unit);
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message);
  return r.value_or(Money{-999, c});
}

TEST(ParseMoneyTest, TomanInAnyDigits) {
  EXPECT_EQ(parsed("125,000", Currency::kIrr), irr(1'250'000));
  EXPECT_EQ(parsed("۱۲۵٬۰۰۰", Currency::kIrr), irr(1'250'000));
  EXPECT_EQ(parsed("١٢٥,٠٠٠", Currency::kIrr), irr(1'250'000));
  EXPECT_EQ(parsed("۱۲۵,000", Currency::kIrr), irr(1'250'000));
  EXPECT_EQ(parsed("125000", Currency::kIrr), irr(1'250'000));
  EXPECT_EQ(parsed("12.5", Currency::kIrr), irr(125));
  EXPECT_EQ(parsed("  50 ", Currency::kIrr), irr(500));
  EXPECT_EQ(parsed("0", Currency::kIrr), irr(0));
}

TEST(ParseMoneyTest, RialInput) {
  EXPECT_EQ(parsed("125,000", Currency::kIrr, IrrDisplay::kRial), irr(125'000));
  EXPECT_FALSE(parse_money("1.5", Currency::kIrr, IrrDisplay::kRial).has_value());
  EXPECT_FALSE(parse_money("12.55", Currency::kIrr).has_value());  // a hundredth of a Toman is not a Rial
}

TEST(ParseMoneyTest, Decimals) {
  EXPECT_EQ(parsed("12.50", Currency::kUsd), usd(1250));
  EXPECT_EQ(parsed("۱۲٫۵۰", Currency::kUsd), usd(1250));
  EXPECT_EQ(parsed("12.5", Currency::kUsd), usd(1250));
  EXPECT_EQ(parsed("12", Currency::kUsd), usd(1200));
  EXPECT_EQ(parsed("0.01", Currency::kUsd), usd(1));
  EXPECT_EQ(parsed("1,234.56", Currency::kUsd), usd(123'456));
  EXPECT_EQ(parsed("۱٬۲۳۴٫۵۶", Currency::kUsd), usd(123'456));
  EXPECT_EQ(parsed("12.123456", Currency::kUsdt), usdt(12'123'456));
  EXPECT_EQ(parsed("12.50", Currency::kUsdt), usdt(12'500'000));
  EXPECT_EQ(parsed("150", Currency::kXtr), xtr(150));
  EXPECT_FALSE(parse_money("12.505", Currency::kUsd).has_value());
  EXPECT_FALSE(parse_money("12.1234567", Currency::kUsdt).has_value());
  EXPECT_FALSE(parse_money("1.5", Currency::kXtr).has_value());
}

TEST(ParseMoneyTest, Signs) {
  EXPECT_EQ(parsed("-12.50", Currency::kUsd), usd(-1250));
  EXPECT_EQ(parsed("+5", Currency::kUsd), usd(500));
  EXPECT_EQ(parsed("-۱۲۵٬۰۰۰", Currency::kIrr), irr(-1'250'000));
}

TEST(ParseMoneyTest, RejectsGarbage) {
  for (const char* text :
       {"",   "   ",   "abc", "12a", "$12", "12$",   "1,2",      "12,50", "1,,000", ",100", "100,",   "1,0000", "12.",
        ".5", "1.2.3", "--5", "-",   "+",   "12 50", "۱۲ تومان", "1e5",   "0x10",   "1.-5", "1,000.", "\xDB",   "٫۵"}) {
    const auto r = parse_money(text, Currency::kUsd);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(ParseMoneyTest, Overflow) {
  EXPECT_EQ(parsed("9223372036854775807", Currency::kXtr), xtr(kMax));
  EXPECT_EQ(parsed("-9223372036854775807", Currency::kXtr), xtr(-kMax));
  EXPECT_EQ(parsed("92233720368547758.07", Currency::kUsd), usd(kMax));
  EXPECT_EQ(parsed("9,223,372,036,854.775807", Currency::kUsdt), usdt(kMax));
  for (const auto& [text, currency] :
       {std::pair{"9223372036854775808", Currency::kXtr}, std::pair{"92233720368547758.08", Currency::kUsd},
        std::pair{"92233720368547759", Currency::kUsd}, std::pair{"922337203685477581", Currency::kIrr},
        std::pair{"9223372036854.775808", Currency::kUsdt}, std::pair{"18446744073709551616", Currency::kXtr},
        std::pair{"123456789012345678901234567890", Currency::kXtr}}) {
    EXPECT_FALSE(parse_money(text, currency).has_value()) << text;
  }
}

TEST(ParseMoneyTest, FormattedNumbersParseBack) {
  // The number part of what format_money shows is accepted as input.
  for (const std::int64_t cents : {0LL, 5LL, 1250LL, 123'456'789LL, 999'999'999'999LL}) {
    const std::string shown = format_money(usd(cents), Lang::kFa);
    const std::string number = shown.substr(0, shown.find(' '));
    EXPECT_EQ(parsed(number, Currency::kUsd), usd(cents)) << shown;
  }
}

}  // namespace
}  // namespace ms::i18n
