#include "payments/provider.hpp"

#include <charconv>

namespace ms::payments {
namespace {

int decimals_of(Currency c) {
  int d = 0;
  for (std::int64_t m = minor_per_major(c); m > 1; m /= 10) ++d;
  return d;
}

std::string_view kind_name(PayerAction::Kind k) {
  switch (k) {
    case PayerAction::Kind::kNone: return "none";
    case PayerAction::Kind::kCardTransfer: return "card_transfer";
    case PayerAction::Kind::kRedirect: return "redirect";
    case PayerAction::Kind::kStarsInvoice: return "stars_invoice";
  }
  return "none";
}

}  // namespace

std::string_view to_string(GatewayStatus status) {
  switch (status) {
    case GatewayStatus::kPending: return "pending";
    case GatewayStatus::kClaimedPaid: return "claimed_paid";
    case GatewayStatus::kPaid: return "paid";
    case GatewayStatus::kPartiallyPaid: return "partially_paid";
    case GatewayStatus::kFailed: return "failed";
    case GatewayStatus::kExpired: return "expired";
    case GatewayStatus::kRefunded: return "refunded";
  }
  return "pending";
}

nlohmann::json PayerAction::to_json() const {
  nlohmann::json j = {
      {"kind", kind_name(kind)}, {"amount_minor", amount.minor}, {"currency", currency_code(amount.currency)}};
  if (!url.empty()) j["url"] = url;
  if (!card_number.empty()) j["card_number"] = card_number;
  if (!card_holder.empty()) j["card_holder"] = card_holder;
  if (!invoice_title.empty()) j["invoice_title"] = invoice_title;
  if (!invoice_description.empty()) j["invoice_description"] = invoice_description;
  if (!invoice_payload.empty()) j["invoice_payload"] = invoice_payload;
  return j;
}

PayerAction PayerAction::from_json(const nlohmann::json& j) {
  PayerAction a;
  if (!j.is_object()) return a;
  const std::string kind = j.value("kind", "none");
  for (auto k : {Kind::kNone, Kind::kCardTransfer, Kind::kRedirect, Kind::kStarsInvoice})
    if (kind_name(k) == kind) a.kind = k;
  a.amount.minor = j.value("amount_minor", std::int64_t{0});
  a.amount.currency = currency_from_code(j.value("currency", "IRR")).value_or(Currency::kIrr);
  a.url = j.value("url", "");
  a.card_number = j.value("card_number", "");
  a.card_holder = j.value("card_holder", "");
  a.invoice_title = j.value("invoice_title", "");
  a.invoice_description = j.value("invoice_description", "");
  a.invoice_payload = j.value("invoice_payload", "");
  return a;
}

std::string to_decimal(Money money) {
  const int d = decimals_of(money.currency);
  const bool negative = money.minor < 0;
  // Work on the unsigned magnitude so INT64_MIN does not overflow.
  unsigned long long magnitude =
      negative ? 0ULL - static_cast<unsigned long long>(money.minor) : static_cast<unsigned long long>(money.minor);
  std::string digits = std::to_string(magnitude);
  if (d > 0) {
    if (digits.size() <= static_cast<std::size_t>(d))
      digits.insert(0, static_cast<std::size_t>(d) + 1 - digits.size(), '0');
    digits.insert(digits.size() - static_cast<std::size_t>(d), ".");
  }
  return negative ? "-" + digits : digits;
}

Result<Money> from_decimal(std::string_view text, Currency currency) {
  const int d = decimals_of(currency);
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  const auto dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument, "not an amount: '" + std::string(text.substr(0, 32)) + "'");
  };
  if (whole.empty() || whole.size() > 18) return bad();
  if (dot != std::string_view::npos && frac.empty()) return bad();
  for (char c : whole)
    if (c < '0' || c > '9') return bad();
  for (char c : frac)
    if (c < '0' || c > '9') return bad();
  std::int64_t minor = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), minor);
  for (int i = 0; i < d; ++i) {
    const int digit = i < static_cast<int>(frac.size()) ? frac[static_cast<std::size_t>(i)] - '0' : 0;
    if (__builtin_mul_overflow(minor, 10, &minor) || __builtin_add_overflow(minor, digit, &minor)) return bad();
  }
  for (std::size_t i = static_cast<std::size_t>(d); i < frac.size(); ++i)
    if (frac[i] != '0')
      return fail(ErrorCode::kInvalidArgument, "amount has more decimals than " + std::string(currency_code(currency)));
  return Money{negative ? -minor : minor, currency};
}

Result<Money> from_json_amount(const nlohmann::json& value, Currency currency) {
  if (value.is_string()) return from_decimal(value.get<std::string>(), currency);
  if (value.is_number_integer()) return from_decimal(std::to_string(value.get<std::int64_t>()), currency);
  if (value.is_number_float()) {
    // Shortest text that reads back as the same double (what the gateway most likely wrote),
    // then rounded to the currency's decimals: 14.81060000000001 -> 14.8106.
    const double v = value.get<double>();
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals_of(currency));
    if (ec != std::errc()) return fail(ErrorCode::kInvalidArgument, "amount out of range");
    return from_decimal(std::string_view(buf, static_cast<std::size_t>(end - buf)), currency);
  }
  return fail(ErrorCode::kInvalidArgument, "amount is not a number");
}

Result<Money> convert(Money amount, Currency to, const ExchangeRate& rate) {
  if (amount.currency == to) return amount;
  if (rate.quote_minor_per_base_major <= 0) return fail(ErrorCode::kInvalidArgument, "exchange rate must be positive");
  __int128 num = 0;
  __int128 den = 0;
  if (amount.currency == rate.base && to == rate.quote) {
    num = static_cast<__int128>(amount.minor) * rate.quote_minor_per_base_major;
    den = minor_per_major(rate.base);
  } else if (amount.currency == rate.quote && to == rate.base) {
    num = static_cast<__int128>(amount.minor) * minor_per_major(rate.base);
    den = rate.quote_minor_per_base_major;
  } else {
    return fail(ErrorCode::kInvalidArgument, "no exchange rate from " + std::string(currency_code(amount.currency)) +
                                                 " to " + std::string(currency_code(to)));
  }
  if (num < 0) return fail(ErrorCode::kInvalidArgument, "cannot convert a negative amount");
  const __int128 out = (num + den - 1) / den;  // round up: never charge less than the price
  if (out > INT64_MAX) return fail(ErrorCode::kInvalidArgument, "converted amount overflows");
  return Money{static_cast<std::int64_t>(out), to};
}

}  // namespace ms::payments
