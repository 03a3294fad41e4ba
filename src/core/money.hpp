// Money: an amount in integer minor units with its currency. Never a float.
//
// Minor units per currency:
//   kIrr  : 1 = one Rial   (shown to people as Toman = Rial / 10 by default)
//   kUsd  : 1 = one cent
//   kUsdt : 1 = one micro-USDT (10^-6), as gateways quote crypto with 6 decimals
//   kXtr  : 1 = one Telegram Star (no fractions)
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ms {

enum class Currency { kIrr, kUsd, kUsdt, kXtr };

// "IRR", "USD", "USDT", "XTR"
std::string_view currency_code(Currency c);
std::optional<Currency> currency_from_code(std::string_view code);
// Minor units in one major unit: IRR 1, USD 100, USDT 1'000'000, XTR 1.
std::int64_t minor_per_major(Currency c);

struct Money {
  std::int64_t minor = 0;
  Currency currency = Currency::kIrr;

  friend bool operator==(const Money&, const Money&) = default;
};

}  // namespace ms
