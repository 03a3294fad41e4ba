#include "domain/rules.hpp"

#include <array>
#include <limits>
#include <string>
#include <unordered_set>

namespace ms::domain {
namespace {

constexpr std::size_t kMaxTokenLength = 128;
constexpr std::size_t kMinSecretLength = 30;
constexpr std::size_t kMaxBotIdDigits = 20;
constexpr std::size_t kMaxPanelUsername = 32;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_secret_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
}

std::string base36(std::int64_t value) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  auto v = static_cast<std::uint64_t>(value);
  do {
    out.insert(out.begin(), kDigits[v % 36]);
    v /= 36;
  } while (v != 0);
  return out;
}

bool add_overflows(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum);
}

constexpr auto kRejectionNames = std::to_array<detail::EnumName<DiscountRejection>>({
    {DiscountRejection::kInactive, "inactive"},
    {DiscountRejection::kExpired, "expired"},
    {DiscountRejection::kUsedUp, "used_up"},
    {DiscountRejection::kWrongPlan, "wrong_plan"},
});

}  // namespace

MS_DOMAIN_ENUM_NAMES(DiscountRejection, kRejectionNames)

Result<void> validate_bot_token(std::string_view token) {
  if (token.empty()) return fail(ErrorCode::kInvalidArgument, "bot token is empty");
  if (token.size() > kMaxTokenLength) return fail(ErrorCode::kInvalidArgument, "bot token is too long");
  const auto colon = token.find(':');
  if (colon == std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "bot token must look like 123456789:ABC... (the ':' is missing)");
  }
  const std::string_view id = token.substr(0, colon);
  const std::string_view secret = token.substr(colon + 1);
  if (id.empty() || id.size() > kMaxBotIdDigits || id[0] == '0') {
    return fail(ErrorCode::kInvalidArgument, "bot token must start with the bot's numeric id");
  }
  for (char c : id) {
    if (!is_digit(c)) return fail(ErrorCode::kInvalidArgument, "bot token must start with the bot's numeric id");
  }
  if (secret.size() < kMinSecretLength) {
    return fail(ErrorCode::kInvalidArgument, "bot token is too short after the ':'");
  }
  for (char c : secret) {
    if (!is_secret_char(c)) {
      return fail(ErrorCode::kInvalidArgument, "bot token has a character other than A-Z, a-z, 0-9, '_' or '-'");
    }
  }
  return ok();
}

std::optional<std::int64_t> bot_id_from_token(std::string_view token) {
  if (!validate_bot_token(token)) return std::nullopt;
  std::int64_t id = 0;
  for (char c : token.substr(0, token.find(':'))) {
    if (__builtin_mul_overflow(id, 10, &id) || __builtin_add_overflow(id, c - '0', &id)) return std::nullopt;
  }
  return id;
}

std::string mask_bot_token(std::string_view token) {
  auto id = bot_id_from_token(token);
  if (!id) return "***";
  return std::to_string(*id) + ":***";
}

bool is_valid_panel_username(std::string_view name) {
  if (name.size() < 3 || name.size() > kMaxPanelUsername) return false;
  if (name.front() == '_' || name.back() == '_') return false;
  for (char c : name) {
    if (!(is_digit(c) || (c >= 'a' && c <= 'z') || c == '_')) return false;
  }
  return true;
}

Result<std::string> panel_username(std::int64_t tenant_id, std::int64_t user_id, std::int64_t order_id) {
  if (tenant_id <= 0 || user_id <= 0 || order_id <= 0) {
    return fail(ErrorCode::kInvalidArgument, "panel username needs positive tenant, user and order ids");
  }
  std::string full = "t" + base36(tenant_id) + "_" + base36(user_id) + "_" + base36(order_id);
  if (full.size() <= kMaxPanelUsername) return full;
  // Longest case: 't' + 13 + "_o" + 13 = 29 characters.
  return "t" + base36(tenant_id) + "_o" + base36(order_id);
}

Result<Money> unique_card_amount(Money base, std::uint64_t random, std::span<const std::int64_t> amounts_in_use,
                                 CardAmountRule rule) {
  if (base.minor < 0) return fail(ErrorCode::kInvalidArgument, "card amount: base price is negative");
  if (rule.step_minor <= 0 || rule.max_suffix <= 0) {
    return fail(ErrorCode::kInvalidArgument, "card amount: step and max suffix must be positive");
  }
  std::int64_t widest = 0;
  if (__builtin_mul_overflow(rule.step_minor, rule.max_suffix, &widest) || add_overflows(base.minor, widest)) {
    return fail(ErrorCode::kInvalidArgument, "card amount: price too large");
  }
  const std::unordered_set<std::int64_t> in_use(amounts_in_use.begin(), amounts_in_use.end());
  const auto n = static_cast<std::uint64_t>(rule.max_suffix);
  const std::uint64_t first = random % n;
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::int64_t>((first + i) % n) + 1;
    const std::int64_t candidate = base.minor + k * rule.step_minor;
    if (!in_use.contains(candidate)) return Money{candidate, base.currency};
  }
  return fail(ErrorCode::kUnavailable,
              "card amount: every suffix for this price is taken by an open order; retry later");
}

Result<Money> apply_discount(Money price, const Discount& discount) {
  if (price.minor < 0) return fail(ErrorCode::kInvalidArgument, "discount: price is negative");
  switch (discount.kind) {
    case DiscountKind::kPercent: {
      if (discount.percent < 0 || discount.percent > 100) {
        return fail(ErrorCode::kInvalidArgument, "discount: percent must be between 0 and 100");
      }
      // floor(price * percent / 100) without overflowing: price = 100q + r.
      const std::int64_t q = price.minor / 100;
      const std::int64_t r = price.minor % 100;
      const std::int64_t off = q * discount.percent + (r * discount.percent) / 100;
      return Money{price.minor - off, price.currency};
    }
    case DiscountKind::kFixed: {
      if (discount.fixed.minor < 0) return fail(ErrorCode::kInvalidArgument, "discount: fixed amount is negative");
      if (discount.fixed.currency != price.currency) {
        return fail(ErrorCode::kInvalidArgument,
                    "discount: fixed amount is in " + std::string(currency_code(discount.fixed.currency)) +
                        " but the price is in " + std::string(currency_code(price.currency)));
      }
      const std::int64_t off = discount.fixed.minor < price.minor ? discount.fixed.minor : price.minor;
      return Money{price.minor - off, price.currency};
    }
  }
  return fail(ErrorCode::kInvalidArgument, "discount: unknown kind");
}

std::optional<DiscountRejection> discount_rejection(const DiscountCode& code, std::optional<std::int64_t> plan_id,
                                                    std::int64_t now) {
  if (!code.active) return DiscountRejection::kInactive;
  if (code.expires_at && now >= *code.expires_at) return DiscountRejection::kExpired;
  if (code.max_uses && code.used_count >= *code.max_uses) return DiscountRejection::kUsedUp;
  if (code.plan_id && plan_id != code.plan_id) return DiscountRejection::kWrongPlan;
  return std::nullopt;
}

Result<Money> apply_wallet_delta(Money balance, Money delta) {
  if (balance.currency != delta.currency) {
    return fail(ErrorCode::kInvalidArgument, "wallet: cannot add " + std::string(currency_code(delta.currency)) +
                                                 " to a " + std::string(currency_code(balance.currency)) + " balance");
  }
  std::int64_t sum = 0;
  if (__builtin_add_overflow(balance.minor, delta.minor, &sum)) {
    return fail(ErrorCode::kInvalidArgument, "wallet: amount out of range");
  }
  if (sum < 0) {
    return fail(ErrorCode::kConflict,
                "wallet: balance " + std::to_string(balance.minor) + " is less than " + std::to_string(-delta.minor));
  }
  return Money{sum, balance.currency};
}

}  // namespace ms::domain
