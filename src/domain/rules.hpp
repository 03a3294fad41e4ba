// Small pure business rules that several subsystems need: bot token format, panel account
// names, unique card-to-card amounts, discounts and wallet arithmetic. Nothing here does I/O
// or reads a clock; randomness and time come in as arguments.
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/money.hpp"
#include "core/result.hpp"
#include "domain/tenant_entities.hpp"

namespace ms::domain {

// ---- Telegram bot tokens ------------------------------------------------------------------

// ok() when `token` looks like a Bot API token: the bot's numeric id (1-20 digits, no leading
// zero), ':', then at least 30 of [A-Za-z0-9_-], at most 128 characters in all. Only the form
// is checked; getMe decides whether Telegram accepts it. kInvalidArgument otherwise, with a
// message that never repeats the token (tokens must not reach chats or logs).
Result<void> validate_bot_token(std::string_view token);
// The bot id before ':' of a well-formed token; nullopt when malformed.
std::optional<std::int64_t> bot_id_from_token(std::string_view token);
// "123456789:***" for logs and chats; "***" when malformed.
std::string mask_bot_token(std::string_view token);

// ---- Panel account names --------------------------------------------------------------------

// Marzban accepts 3-32 characters of a-z, 0-9 and '_' with underscores only in between.
bool is_valid_panel_username(std::string_view name);

// The panel account name of the service bought by `order_id`, so a retried provisioning
// computes the same name (and a 409 means "adopt", never "make another"). Ids are written in
// base 36: "t<tenant>_<user>_<order>", e.g. t1_2s_rs for (1, 100, 1000); when that would
// exceed 32 characters, "t<tenant>_o<order>" (which always fits). Distinct (tenant, order)
// pairs always give distinct names. kInvalidArgument when an id is not positive.
Result<std::string> panel_username(std::int64_t tenant_id, std::int64_t user_id, std::int64_t order_id);

// ---- Card-to-card amounts -------------------------------------------------------------------

// A card transfer carries no reference, so each open order gets its own amount: the base
// price plus a small suffix that an admin (or a bank SMS) can match to one order.
struct CardAmountRule {
  std::int64_t step_minor = 10;   // suffix unit in minor units: 10 Rial = 1 Toman
  std::int64_t max_suffix = 999;  // suffixes 1..max_suffix steps (up to 999 Toman)
};

// base + k * step with k in [1, max_suffix]: k starts at 1 + random % max_suffix and moves
// up (wrapping) past amounts in `amounts_in_use` (minor units of the same currency still
// awaiting payment), so two open orders never share an amount. The suffix is always added,
// never subtracted: the seller never receives less than the price.
// kInvalidArgument for a negative base, a bad rule or overflow; kUnavailable when every
// suffix is taken (retry after some orders expire).
Result<Money> unique_card_amount(Money base, std::uint64_t random, std::span<const std::int64_t> amounts_in_use,
                                 CardAmountRule rule = {});

// ---- Discounts ------------------------------------------------------------------------------

// The price after `discount`, never below zero.
//   percent: discount = floor(price * percent / 100) minor units (rounded down: the buyer
//            gets at most the stated percent; the difference is under one minor unit).
//   fixed:   discount = min(fixed, price).
// kInvalidArgument when price or fixed is negative, percent is outside 0..100, or a fixed
// discount is in another currency than the price.
Result<Money> apply_discount(Money price, const Discount& discount);

enum class DiscountRejection {
  kInactive,
  kExpired,
  kUsedUp,
  kWrongPlan
};  // names: inactive, expired, used_up, wrong_plan
std::string_view to_string(DiscountRejection v);
template <>
std::optional<DiscountRejection> parse<DiscountRejection>(std::string_view text);
template <>
std::span<const DiscountRejection> all_values<DiscountRejection>();

// Why `code` cannot be used for `plan_id` at `now` (expiry is exclusive: at expires_at it
// is expired), or nullopt when it can. The i18n key is "discount." + to_string(rejection).
std::optional<DiscountRejection> discount_rejection(const DiscountCode& code, std::optional<std::int64_t> plan_id,
                                                    std::int64_t now);

// ---- Wallet ---------------------------------------------------------------------------------

// balance + delta. kInvalidArgument on a currency mismatch or overflow; kConflict when the
// balance would go below zero (the wallet never goes negative).
Result<Money> apply_wallet_delta(Money balance, Money delta);

}  // namespace ms::domain
