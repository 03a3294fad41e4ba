#include "core/i18n/calendar.hpp"

#include <array>
#include <vector>

#include <fmt/format.h>

#include "core/i18n/digits.hpp"

namespace ms::i18n {

namespace {

// Years at which the 33-year pattern changes phase (Borkowski, "The Persian calendar for
// 3000 years", 1996). The last entry is one past the last year the model covers.
constexpr std::array<int, 20> kBreaks = {-61,  9,    38,   199,  426,  686,  756,  818,  1111, 1181,
                                         1210, 1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456, 3178};
static_assert(kBreaks.back() == kMaxJalaliYear + 1);

bool leap_by_model(int year) {
  for (std::size_t i = 1; i < kBreaks.size(); ++i) {
    if (year >= kBreaks[i]) continue;
    const int length = kBreaks[i] - kBreaks[i - 1];
    int n = year - kBreaks[i - 1];
    // An interval is not a whole number of cycles; its last five years already follow the
    // next interval's phase, so leap years stay four or five years apart across the break.
    if (length - n < 6) n += (length + 4) / 33 * 33 - length;
    const int r = n % 33;
    return r <= 28 && r % 4 == 0;
  }
  return false;
}

// A Gregorian date whose year may exceed int (instants far from now).
struct WideDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

constexpr std::int64_t kDaysPer400Years = 146097;
// Days from 0000-03-01 to 1970-01-01: counting from March puts the leap day last.
constexpr std::int64_t kEpochShift = 719468;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::int64_t days_from_wide(std::int64_t year, unsigned month, unsigned day) {
  // Years start in March so February's variable length sits at the end.
  const std::int64_t y = month <= 2 ? year - 1 : year;
  const std::int64_t era = floor_div(y, 400);
  const auto year_of_era = static_cast<unsigned>(y - era * 400);            // 0..399
  const unsigned month_from_march = month > 2 ? month - 3 : month + 9;      // 0..11
  const unsigned day_of_year = (153 * month_from_march + 2) / 5 + day - 1;  // 0..365
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * kDaysPer400Years + day_of_era - kEpochShift;
}

WideDate wide_from_days(std::int64_t days) {
  const std::int64_t shifted = days + kEpochShift;
  const std::int64_t era = floor_div(shifted, kDaysPer400Years);
  const auto day_of_era = static_cast<unsigned>(shifted - era * kDaysPer400Years);  // 0..146096
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;  // 0..399
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_from_march = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
  const unsigned month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
  const std::int64_t year = static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

// Day number (days since 1970-01-01) of 1 Farvardin for every year kMinJalaliYear ..
// kMaxJalaliYear + 1, built from one known Nowruz and the leap rule.
const std::vector<std::int64_t>& nowruz_table() {
  static const std::vector<std::int64_t> table = [] {
    constexpr int kAnchorYear = 1403;  // 1 Farvardin 1403 = 20 March 2024
    std::vector<std::int64_t> t(kMaxJalaliYear - kMinJalaliYear + 2);
    const auto at = [&](int year) -> std::int64_t& { return t[static_cast<std::size_t>(year - kMinJalaliYear)]; };
    at(kAnchorYear) = days_from_wide(2024, 3, 20);
    for (int y = kAnchorYear + 1; y <= kMaxJalaliYear + 1; ++y)
      at(y) = at(y - 1) + 365 + (leap_by_model(y - 1) ? 1 : 0);
    for (int y = kAnchorYear - 1; y >= kMinJalaliYear; --y) at(y) = at(y + 1) - 365 - (leap_by_model(y) ? 1 : 0);
    return t;
  }();
  return table;
}

std::int64_t nowruz(int year) { return nowruz_table()[static_cast<std::size_t>(year - kMinJalaliYear)]; }

constexpr std::array<std::string_view, 12> kMonthsEn = {"Farvardin", "Ordibehesht", "Khordad", "Tir",
                                                        "Mordad",    "Shahrivar",   "Mehr",    "Aban",
                                                        "Azar",      "Dey",         "Bahman",  "Esfand"};
constexpr std::array<std::string_view, 12> kMonthsFa = {"فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
                                                        "مهر",     "آبان",     "آذر",   "دی",  "بهمن",  "اسفند"};
constexpr std::array<std::string_view, 12> kGregorianShort = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

bool is_jalali_leap(int year) {
  if (year < kMinJalaliYear || year > kMaxJalaliYear) return false;
  return leap_by_model(year);
}

int jalali_month_length(int year, int month) {
  if (year < kMinJalaliYear || year > kMaxJalaliYear || month < 1 || month > 12) return 0;
  if (month <= 6) return 31;
  if (month <= 11) return 30;
  return is_jalali_leap(year) ? 30 : 29;
}

bool is_gregorian_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int gregorian_month_length(int year, int month) {
  static constexpr std::array<int, 12> kLengths = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  if (month == 2 && is_gregorian_leap(year)) return 29;
  return kLengths[static_cast<std::size_t>(month - 1)];
}

bool is_valid_jalali(const CivilDate& date) {
  return date.day >= 1 && date.day <= jalali_month_length(date.year, date.month);
}

bool is_valid_gregorian(const CivilDate& date) {
  return date.day >= 1 && date.day <= gregorian_month_length(date.year, date.month);
}

std::int64_t days_from_gregorian(const CivilDate& date) {
  return days_from_wide(date.year, static_cast<unsigned>(date.month), static_cast<unsigned>(date.day));
}

CivilDate gregorian_from_days(std::int64_t days) {
  const WideDate w = wide_from_days(days);
  return {static_cast<int>(w.year), static_cast<int>(w.month), static_cast<int>(w.day)};
}

Result<CivilDate> to_jalali(const CivilDate& gregorian) {
  if (!is_valid_gregorian(gregorian)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("no such Gregorian date {}-{}-{}", gregorian.year, gregorian.month, gregorian.day));
  }
  const std::int64_t days = days_from_gregorian(gregorian);
  if (days < nowruz(kMinJalaliYear) || days >= nowruz(kMaxJalaliYear + 1)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("Gregorian date {}-{}-{} is outside the Jalali calendar's supported range", gregorian.year,
                            gregorian.month, gregorian.day));
  }
  // Nowruz falls in March, so the Jalali year is gregorian - 621 or one less.
  int year = gregorian.year - 621;
  if (year > kMaxJalaliYear) year = kMaxJalaliYear;
  if (days < nowruz(year)) --year;
  const auto day_of_year = static_cast<int>(days - nowruz(year));  // 0-based
  constexpr int kFirstHalfDays = 6 * 31;
  if (day_of_year < kFirstHalfDays) return CivilDate{year, day_of_year / 31 + 1, day_of_year % 31 + 1};
  const int rest = day_of_year - kFirstHalfDays;
  return CivilDate{year, 7 + rest / 30, rest % 30 + 1};
}

Result<CivilDate> to_gregorian(const CivilDate& jalali) {
  if (!is_valid_jalali(jalali)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("no such Jalali date {}/{}/{} (supported years {}..{})", jalali.year, jalali.month,
                            jalali.day, kMinJalaliYear, kMaxJalaliYear));
  }
  const int day_of_year = jalali.month <= 7 ? (jalali.month - 1) * 31 : 6 * 31 + (jalali.month - 7) * 30;
  return gregorian_from_days(nowruz(jalali.year) + day_of_year + jalali.day - 1);
}

std::string_view jalali_month_name(int month, Lang lang) {
  if (month < 1 || month > 12) return {};
  const auto i = static_cast<std::size_t>(month - 1);
  return lang == Lang::kFa ? kMonthsFa[i] : kMonthsEn[i];
}

std::string format_jalali(const CivilDate& jalali, Lang lang) {
  const std::string text = fmt::format("{} {} {}", jalali.day, jalali_month_name(jalali.month, lang), jalali.year);
  return lang == Lang::kFa ? to_persian_digits(text) : text;
}

std::string format_date(std::int64_t unix_seconds, Lang lang, int tz_offset_minutes) {
  // Split before adding the offset so that no input near the int64 limits overflows.
  constexpr std::int64_t kSecondsPerDay = 86400;
  std::int64_t days = unix_seconds / kSecondsPerDay;
  std::int64_t second_of_day = unix_seconds % kSecondsPerDay;
  if (second_of_day < 0) {
    second_of_day += kSecondsPerDay;
    --days;
  }
  days += floor_div(second_of_day + std::int64_t{tz_offset_minutes} * 60, kSecondsPerDay);
  const WideDate g = wide_from_days(days);

  if (lang == Lang::kEn) return fmt::format("{} {} {}", g.day, kGregorianShort[g.month - 1], g.year);

  if (days >= nowruz(kMinJalaliYear) && days < nowruz(kMaxJalaliYear + 1)) {
    const auto jalali =
        to_jalali(CivilDate{static_cast<int>(g.year), static_cast<int>(g.month), static_cast<int>(g.day)});
    if (jalali) return format_jalali(*jalali, Lang::kFa);
  }
  return to_persian_digits(fmt::format("{}-{:02}-{:02}", g.year, g.month, g.day));
}

}  // namespace ms::i18n
