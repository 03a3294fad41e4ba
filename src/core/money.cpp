#include "core/money.hpp"

namespace ms {

std::string_view currency_code(Currency c) {
  switch (c) {
    case Currency::kIrr: return "IRR";
    case Currency::kUsd: return "USD";
    case Currency::kUsdt: return "USDT";
    case Currency::kXtr: return "XTR";
  }
  return "IRR";
}

std::optional<Currency> currency_from_code(std::string_view code) {
  if (code == "IRR") return Currency::kIrr;
  if (code == "USD") return Currency::kUsd;
  if (code == "USDT") return Currency::kUsdt;
  if (code == "XTR") return Currency::kXtr;
  return std::nullopt;
}

std::int64_t minor_per_major(Currency c) {
  switch (c) {
    case Currency::kIrr: return 1;
    case Currency::kUsd: return 100;
    case Currency::kUsdt: return 1'000'000;
    case Currency::kXtr: return 1;
  }
  return 1;
}

}  // namespace ms
