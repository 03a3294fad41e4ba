#include "core/i18n/digits.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace ms::i18n {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

TEST(DigitsTest, ToPersianReplacesEveryDigit) {
  EXPECT_EQ(to_persian_digits("0123456789"), "۰۱۲۳۴۵۶۷۸۹");
  EXPECT_EQ(to_persian_digits("Order 12 of 3"), "Order ۱۲ of ۳");
  EXPECT_EQ(to_persian_digits("سفارش 42 ثبت شد"), "سفارش ۴۲ ثبت شد");
  EXPECT_EQ(to_persian_digits("-1,250.5"), "-۱,۲۵۰.۵");
}

TEST(DigitsTest, ToPersianLeavesOtherTextAlone) {
  EXPECT_EQ(to_persian_digits(""), "");
  EXPECT_EQ(to_persian_digits("سلام"), "سلام");
  EXPECT_EQ(to_persian_digits("۱۲۳"), "۱۲۳");
  EXPECT_EQ(to_persian_digits("abc"), "abc");
}

TEST(DigitsTest, NormalizeHandlesBothScripts) {
  EXPECT_EQ(normalize_digits("۰۱۲۳۴۵۶۷۸۹"), "0123456789");
  EXPECT_EQ(normalize_digits("٠١٢٣٤٥٦٧٨٩"), "0123456789");
  EXPECT_EQ(normalize_digits("۱2٣"), "123");
  EXPECT_EQ(normalize_digits("سفارش ۴۲ و ٧"), "سفارش 42 و 7");
  EXPECT_EQ(normalize_digits("plain 42"), "plain 42");
  EXPECT_EQ(normalize_digits(""), "");
}

TEST(DigitsTest, NormalizeKeepsNeighboursAndBrokenBytes) {
  // U+06FA and U+066A share lead bytes with the digits but are not digits.
  EXPECT_EQ(normalize_digits("\u06FA\u066A"), "\u06FA\u066A");
  // A lone lead byte at the end is passed through, not read past.
  EXPECT_EQ(normalize_digits("1\xDB"), "1\xDB");
  EXPECT_EQ(normalize_digits("\xD9"), "\xD9");
}

TEST(DigitsTest, PersianAndBackIsIdentity) {
  const std::string ascii = "Invoice 2024-03-20, total 9876543210";
  EXPECT_EQ(normalize_digits(to_persian_digits(ascii)), ascii);
}

TEST(DigitsTest, ParseIntAcceptsAnyScript) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int("۴۲"), 42);
  EXPECT_EQ(parse_int("٤٢"), 42);
  EXPECT_EQ(parse_int("۴2٣"), 423);
  EXPECT_EQ(parse_int("-۱۲۳"), -123);
  EXPECT_EQ(parse_int("+7"), 7);
  EXPECT_EQ(parse_int("0"), 0);
  EXPECT_EQ(parse_int("-0"), 0);
  EXPECT_EQ(parse_int("007"), 7);
  EXPECT_EQ(parse_int("  42\n"), 42);
}

TEST(DigitsTest, ParseIntLimits) {
  EXPECT_EQ(parse_int("9223372036854775807"), kMax);
  EXPECT_EQ(parse_int("۹۲۲۳۳۷۲۰۳۶۸۵۴۷۷۵۸۰۷"), kMax);
  EXPECT_EQ(parse_int("-9223372036854775808"), kMin);
  EXPECT_EQ(parse_int("-٩٢٢٣٣٧٢٠٣٦٨٥٤٧٧٥٨٠٨"), kMin);
  EXPECT_EQ(parse_int("9223372036854775808"), std::nullopt);
  EXPECT_EQ(parse_int("-9223372036854775809"), std::nullopt);
  EXPECT_EQ(parse_int("99999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_int("18446744073709551616"), std::nullopt);  // 2^64 would wrap an unchecked uint64
  EXPECT_EQ(parse_int("00000000000000000000000042"), 42);
}

TEST(DigitsTest, SizesInBothScripts) {
  EXPECT_EQ(format_size(0, false), "0 B");
  EXPECT_EQ(format_size(-5, false), "0 B");
  EXPECT_EQ(format_size(1023, false), "1023 B");
  EXPECT_EQ(format_size(30LL << 30, false), "30 GB");
  EXPECT_EQ(format_size((25LL << 29), false), "12.5 GB");
  EXPECT_EQ(format_size(150LL << 20, false), "150 MB");
  EXPECT_EQ(format_size(3LL << 40, false), "3 TB");
  EXPECT_EQ(format_size((25LL << 29), true), "\u06F1\u06F2\u066B\u06F5 GB");
  EXPECT_EQ(format_size(30LL << 30, true), "\u06F3\u06F0 GB");
}

TEST(DigitsTest, ParseIntRejectsNonNumbers) {
  for (const char* text : {"", " ", "-", "+", "--1", "+-1", "1 2", "1,000", "۱٬۰۰۰", "12a", "a12", "1.5", "0x10", "1e3",
                           "\xDB", "۱\xDB", "٫", "سلام"}) {
    EXPECT_EQ(parse_int(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace ms::i18n
