#include "core/i18n/calendar.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace ms::i18n {
namespace {

CivilDate jalali_of(int y, int m, int d) {
  const auto r = to_jalali({y, m, d});
  EXPECT_TRUE(r.has_value()) << y << "-" << m << "-" << d;
  return r.value_or(CivilDate{});
}

CivilDate gregorian_of(int y, int m, int d) {
  const auto r = to_gregorian({y, m, d});
  EXPECT_TRUE(r.has_value()) << y << "/" << m << "/" << d;
  return r.value_or(CivilDate{});
}

// The next day in the Jalali calendar, computed from month lengths alone.
CivilDate next_jalali_day(CivilDate d) {
  if (d.day < jalali_month_length(d.year, d.month)) return {d.year, d.month, d.day + 1};
  if (d.month < 12) return {d.year, d.month + 1, 1};
  return {d.year + 1, 1, 1};
}

TEST(CalendarTest, KnownNowruzDates) {
  EXPECT_EQ(gregorian_of(1403, 1, 1), (CivilDate{2024, 3, 20}));
  EXPECT_EQ(gregorian_of(1404, 1, 1), (CivilDate{2025, 3, 21}));
  EXPECT_EQ(gregorian_of(1399, 1, 1), (CivilDate{2020, 3, 20}));
  EXPECT_EQ(gregorian_of(1400, 1, 1), (CivilDate{2021, 3, 21}));
  EXPECT_EQ(gregorian_of(1402, 1, 1), (CivilDate{2023, 3, 21}));
  EXPECT_EQ(gregorian_of(1396, 1, 1), (CivilDate{2017, 3, 21}));
  EXPECT_EQ(gregorian_of(1348, 1, 1), (CivilDate{1969, 3, 21}));
  EXPECT_EQ(jalali_of(2024, 3, 20), (CivilDate{1403, 1, 1}));
  EXPECT_EQ(jalali_of(2025, 3, 21), (CivilDate{1404, 1, 1}));
  EXPECT_EQ(jalali_of(2020, 3, 20), (CivilDate{1399, 1, 1}));
}

TEST(CalendarTest, FirstDayOfTheEra) {
  // Also exercises the leap rule across fourteen centuries back from the 1403 anchor.
  EXPECT_EQ(gregorian_of(1, 1, 1), (CivilDate{622, 3, 22}));
  EXPECT_EQ(jalali_of(622, 3, 22), (CivilDate{1, 1, 1}));
}

TEST(CalendarTest, HistoricDates) {
  EXPECT_EQ(gregorian_of(1357, 11, 11), (CivilDate{1979, 1, 31}));
  EXPECT_EQ(jalali_of(1979, 1, 31), (CivilDate{1357, 11, 11}));
  EXPECT_EQ(gregorian_of(1357, 11, 22), (CivilDate{1979, 2, 11}));
  EXPECT_EQ(jalali_of(1970, 1, 1), (CivilDate{1348, 10, 11}));
  EXPECT_EQ(jalali_of(2023, 11, 15), (CivilDate{1402, 8, 24}));
  EXPECT_EQ(gregorian_of(1405, 9, 5), (CivilDate{2026, 11, 26}));
}

TEST(CalendarTest, EsfandThirtyOnlyInLeapYears) {
  EXPECT_TRUE(is_jalali_leap(1403));
  EXPECT_FALSE(is_jalali_leap(1402));
  EXPECT_EQ(jalali_month_length(1403, 12), 30);
  EXPECT_EQ(jalali_month_length(1402, 12), 29);
  EXPECT_EQ(gregorian_of(1403, 12, 30), (CivilDate{2025, 3, 20}));
  EXPECT_EQ(gregorian_of(1402, 12, 29), (CivilDate{2024, 3, 19}));
  const auto missing = to_gregorian({1402, 12, 30});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
}

TEST(CalendarTest, LeapYearsNearNow) {
  for (const int y : {1391, 1395, 1399, 1403, 1408}) EXPECT_TRUE(is_jalali_leap(y)) << y;
  for (const int y : {1396, 1397, 1398, 1400, 1401, 1402, 1404, 1405, 1406, 1407}) EXPECT_FALSE(is_jalali_leap(y)) << y;
}

TEST(CalendarTest, LeapYearsAreFourOrFiveYearsApart) {
  int previous = 0;
  for (int y = kMinJalaliYear; y <= kMaxJalaliYear; ++y) {
    if (!is_jalali_leap(y)) continue;
    if (previous != 0) {
      const int gap = y - previous;
      EXPECT_TRUE(gap == 4 || gap == 5) << previous << " -> " << y;
    }
    previous = y;
  }
}

TEST(CalendarTest, MeanYearMatchesTheTropicalYear) {
  const std::int64_t start = days_from_gregorian(gregorian_of(kMinJalaliYear, 1, 1));
  const std::int64_t end =
      days_from_gregorian(gregorian_of(kMaxJalaliYear, 12, 29)) + 1 + (is_jalali_leap(kMaxJalaliYear) ? 1 : 0);
  const double mean = static_cast<double>(end - start) / (kMaxJalaliYear - kMinJalaliYear + 1);
  EXPECT_GT(mean, 365.2415);
  EXPECT_LT(mean, 365.2430);
}

TEST(CalendarTest, NowruzStaysNearTheEquinox) {
  for (int y = 1200; y <= 1600; ++y) {
    const CivilDate g = gregorian_of(y, 1, 1);
    EXPECT_EQ(g.month, 3) << y;
    EXPECT_GE(g.day, 19) << y;
    EXPECT_LE(g.day, 22) << y;
  }
}

TEST(CalendarTest, EveryDayFrom1950To2100RoundTrips) {
  const std::int64_t first = days_from_gregorian({1950, 1, 1});
  const std::int64_t last = days_from_gregorian({2100, 12, 31});
  CivilDate expected_jalali = jalali_of(1950, 1, 1);
  for (std::int64_t day = first; day <= last; ++day) {
    const CivilDate g = gregorian_from_days(day);
    const auto j = to_jalali(g);
    ASSERT_TRUE(j.has_value());
    ASSERT_EQ(*j, expected_jalali) << g.year << "-" << g.month << "-" << g.day;
    ASSERT_TRUE(is_valid_jalali(*j));
    const auto back = to_gregorian(*j);
    ASSERT_TRUE(back.has_value());
    ASSERT_EQ(*back, g);
    expected_jalali = next_jalali_day(*j);
  }
}

TEST(CalendarTest, EveryJalaliDayFrom1200To1600IsContiguous) {
  std::int64_t expected = days_from_gregorian(gregorian_of(1200, 1, 1));
  for (int y = 1200; y <= 1600; ++y) {
    for (int m = 1; m <= 12; ++m) {
      for (int d = 1; d <= jalali_month_length(y, m); ++d) {
        const auto g = to_gregorian({y, m, d});
        ASSERT_TRUE(g.has_value());
        ASSERT_EQ(days_from_gregorian(*g), expected) << y << "/" << m << "/" << d;
        ASSERT_EQ(to_jalali(*g).value(), (CivilDate{y, m, d}));
        ++expected;
      }
    }
  }
}

TEST(CalendarTest, RangeEdges) {
  EXPECT_FALSE(to_jalali({622, 3, 21}).has_value());
  EXPECT_FALSE(to_gregorian({0, 12, 29}).has_value());
  EXPECT_FALSE(to_gregorian({kMaxJalaliYear + 1, 1, 1}).has_value());
  const CivilDate last_day{kMaxJalaliYear, 12, jalali_month_length(kMaxJalaliYear, 12)};
  const CivilDate g = gregorian_of(last_day.year, last_day.month, last_day.day);
  EXPECT_EQ(jalali_of(g.year, g.month, g.day), last_day);
  const CivilDate after = gregorian_from_days(days_from_gregorian(g) + 1);
  EXPECT_FALSE(to_jalali(after).has_value());
  EXPECT_FALSE(is_jalali_leap(0));
  EXPECT_FALSE(is_jalali_leap(kMaxJalaliYear + 1));
}

TEST(CalendarTest, RejectsImpossibleDates) {
  for (const CivilDate d : {CivilDate{1403, 0, 1}, CivilDate{1403, 13, 1}, CivilDate{1403, 1, 0},
                            CivilDate{1403, 1, 32}, CivilDate{1403, 7, 31}, CivilDate{1403, 6, 32}}) {
    EXPECT_FALSE(to_gregorian(d).has_value()) << d.year << "/" << d.month << "/" << d.day;
  }
  EXPECT_TRUE(to_gregorian({1403, 6, 31}).has_value());
  for (const CivilDate d : {CivilDate{2023, 2, 29}, CivilDate{1900, 2, 29}, CivilDate{2024, 4, 31},
                            CivilDate{2024, 13, 1}, CivilDate{2024, 0, 1}, CivilDate{2024, 1, 0}}) {
    const auto r = to_jalali(d);
    ASSERT_FALSE(r.has_value()) << d.year << "-" << d.month << "-" << d.day;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(to_jalali({2024, 2, 29}).has_value());
  EXPECT_TRUE(to_jalali({2000, 2, 29}).has_value());
}

TEST(CalendarTest, GregorianDayNumbers) {
  EXPECT_EQ(days_from_gregorian({1970, 1, 1}), 0);
  EXPECT_EQ(days_from_gregorian({2000, 3, 1}), 11017);
  EXPECT_EQ(days_from_gregorian({1969, 12, 31}), -1);
  EXPECT_EQ(gregorian_from_days(-1), (CivilDate{1969, 12, 31}));
  EXPECT_EQ(gregorian_from_days(19802), (CivilDate{2024, 3, 20}));
  for (const CivilDate d :
       {CivilDate{-400, 2, 29}, CivilDate{1, 1, 1}, CivilDate{1600, 12, 31}, CivilDate{9999, 12, 31}}) {
    EXPECT_EQ(gregorian_from_days(days_from_gregorian(d)), d);
  }
}

TEST(CalendarTest, MonthNames) {
  EXPECT_EQ(jalali_month_name(1, Lang::kEn), "Farvardin");
  EXPECT_EQ(jalali_month_name(2, Lang::kEn), "Ordibehesht");
  EXPECT_EQ(jalali_month_name(9, Lang::kEn), "Azar");
  EXPECT_EQ(jalali_month_name(12, Lang::kEn), "Esfand");
  EXPECT_EQ(jalali_month_name(1, Lang::kFa), "فروردین");
  EXPECT_EQ(jalali_month_name(9, Lang::kFa), "آذر");
  EXPECT_EQ(jalali_month_name(10, Lang::kFa), "دی");
  EXPECT_EQ(jalali_month_name(12, Lang::kFa), "اسفند");
  EXPECT_EQ(jalali_month_name(0, Lang::kFa), "");
  EXPECT_EQ(jalali_month_name(13, Lang::kEn), "");
}

TEST(CalendarTest, FormatJalali) {
  EXPECT_EQ(format_jalali({1405, 9, 5}, Lang::kFa), "۵ آذر ۱۴۰۵");
  EXPECT_EQ(format_jalali({1405, 9, 5}, Lang::kEn), "5 Azar 1405");
}

// 2026-11-26 00:00 in Tehran is 2026-11-25 20:30 UTC.
constexpr std::int64_t kTehranMidnight = 1795638600;

TEST(CalendarTest, FormatDateInTehran) {
  ASSERT_EQ(kTehranMidnight, days_from_gregorian({2026, 11, 26}) * 86400 - 210 * 60);
  EXPECT_EQ(format_date(kTehranMidnight, Lang::kFa), "۵ آذر ۱۴۰۵");
  EXPECT_EQ(format_date(kTehranMidnight, Lang::kEn), "26 Nov 2026");
  // One second earlier it is still the 25th in Tehran.
  EXPECT_EQ(format_date(kTehranMidnight - 1, Lang::kFa), "۴ آذر ۱۴۰۵");
  EXPECT_EQ(format_date(kTehranMidnight - 1, Lang::kEn), "25 Nov 2026");
  // In UTC the 26th starts 3.5 hours later.
  EXPECT_EQ(format_date(kTehranMidnight, Lang::kEn, 0), "25 Nov 2026");
}

TEST(CalendarTest, FormatDateAcrossNowruz) {
  constexpr std::int64_t kNowruz1403 = 1710880200;  // 2024-03-19 20:30 UTC
  EXPECT_EQ(format_date(kNowruz1403, Lang::kFa), "۱ فروردین ۱۴۰۳");
  EXPECT_EQ(format_date(kNowruz1403 - 1, Lang::kFa), "۲۹ اسفند ۱۴۰۲");
}

TEST(CalendarTest, FormatDateOtherOffsets) {
  EXPECT_EQ(format_date(0, Lang::kEn, 0), "1 Jan 1970");
  EXPECT_EQ(format_date(0, Lang::kFa), "۱۱ دی ۱۳۴۸");
  EXPECT_EQ(format_date(-1, Lang::kEn, 0), "31 Dec 1969");
  EXPECT_EQ(format_date(1700000000, Lang::kEn), "15 Nov 2023");
  EXPECT_EQ(format_date(1700000000, Lang::kEn, 0), "14 Nov 2023");
  EXPECT_EQ(format_date(1700000000, Lang::kEn, -300), "14 Nov 2023");
  EXPECT_EQ(format_date(1700000000, Lang::kFa), "۲۴ آبان ۱۴۰۲");
}

TEST(CalendarTest, FormatDateNeverFailsAtTheLimits) {
  for (const std::int64_t t : {std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    const std::string en = format_date(t, Lang::kEn);
    const std::string fa = format_date(t, Lang::kFa);
    EXPECT_FALSE(en.empty());
    EXPECT_FALSE(fa.empty());
    EXPECT_EQ(fa.find_first_of("0123456789"), std::string::npos) << fa;  // Persian digits only
  }
  // Outside the Jalali range Persian falls back to a Gregorian ISO date.
  const std::int64_t year_500 = days_from_gregorian({500, 6, 1}) * 86400;
  EXPECT_EQ(format_date(year_500, Lang::kFa, 0), "۵۰۰-۰۶-۰۱");
  EXPECT_EQ(format_date(year_500, Lang::kEn, 0), "1 Jun 500");
}

}  // namespace
}  // namespace ms::i18n
