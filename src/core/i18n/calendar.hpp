// The Solar Hijri (Jalali) calendar used in Iran, and conversion to and from the proleptic
// Gregorian calendar.
//
// Leap years follow Borkowski's arithmetic model of the astronomical calendar: between a
// short list of "break" years, leap years recur on a 33-year cycle. It agrees with the
// official calendar (Nowruz at the vernal equinox relative to Tehran noon) for the whole
// supported range, Jalali years 1..3177 (Gregorian 22 March 622 .. March 3799); the simpler
// pure 33-year rule is not used because it drifts outside roughly 1210..1634.
//
// Months 1..6 have 31 days, 7..11 have 30, and Esfand (12) has 29, or 30 in a leap year.
//
// All functions are pure and safe from any thread (the year table is built once, on first use,
// under C++ static-initialisation guarantees).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/i18n/lang.hpp"
#include "core/result.hpp"

namespace ms::i18n {

// A calendar date. Whether it is Gregorian or Jalali depends on the function taking it.
struct CivilDate {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..31

  friend bool operator==(const CivilDate&, const CivilDate&) = default;
};

inline constexpr int kMinJalaliYear = 1;
inline constexpr int kMaxJalaliYear = 3177;

// Iran Standard Time, +03:30, with no daylight saving since 2022.
inline constexpr int kIranOffsetMinutes = 210;

// True if Esfand of `year` has 30 days. Years outside [kMinJalaliYear, kMaxJalaliYear] are
// reported as not leap (the model does not cover them).
bool is_jalali_leap(int year);

// Days in a Jalali month (29..31), or 0 if year or month is out of range.
int jalali_month_length(int year, int month);

bool is_gregorian_leap(int year);
// Days in a Gregorian month (28..31), or 0 if the month is out of range.
int gregorian_month_length(int year, int month);

bool is_valid_jalali(const CivilDate& date);
bool is_valid_gregorian(const CivilDate& date);

// Days since 1970-01-01 of a proleptic Gregorian date, and back. Valid for any date whose
// year fits in int (no range check on the fields: callers validate first).
std::int64_t days_from_gregorian(const CivilDate& date);
CivilDate gregorian_from_days(std::int64_t days);

// Gregorian -> Jalali. Fails with kInvalidArgument if the date does not exist (30 February)
// or lies outside the supported range.
Result<CivilDate> to_jalali(const CivilDate& gregorian);

// Jalali -> Gregorian. Fails with kInvalidArgument if the date does not exist (30 Esfand of a
// common year, month 13) or its year is outside [kMinJalaliYear, kMaxJalaliYear].
Result<CivilDate> to_gregorian(const CivilDate& jalali);

// "Farvardin".."Esfand" (en) or "فروردین".."اسفند" (fa); "" for a month outside 1..12.
std::string_view jalali_month_name(int month, Lang lang);

// A Jalali date for people: fa "۵ آذر ۱۴۰۵", en "5 Azar 1405". The date is not validated.
std::string format_jalali(const CivilDate& jalali, Lang lang);

// The calendar date of an instant as a person in the given UTC offset sees it:
// fa -> Jalali with Persian digits ("۵ آذر ۱۴۰۵"); en -> Gregorian ("26 Nov 2026").
// Instants outside the Jalali range are shown in fa as a Gregorian ISO date in Persian digits.
// Never fails; any int64 input gives some text.
std::string format_date(std::int64_t unix_seconds, Lang lang, int tz_offset_minutes = kIranOffsetMinutes);

}  // namespace ms::i18n
