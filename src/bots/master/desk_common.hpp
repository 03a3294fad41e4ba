// What the master bot's desk features (support.hpp, operators.hpp, lifecycle.hpp) share:
// their texts (the compiled-in catalog: master_desk_messages.cpp), keyboards mirrored for
// Persian, sends from inside a turn (text, or a photo with the text as its caption), and
// the customer row of a Telegram user. Internal to src/bots/master/.
//
// Threads: stateless functions (the catalog is read-only); safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/i18n/catalog.hpp"
#include "core/money.hpp"
#include "bots/master/feature.hpp"
#include "telegram/keyboard.hpp"

namespace ms::master::desk {

using i18n::Lang;

// The person's language in the master bot (MasterContext::language_of; Persian by default).
Lang lang_of(const MasterContext& ctx, std::int64_t telegram_id);
std::string t(Lang lang, std::string_view key, const i18n::Args& args = {});
std::string number(std::int64_t n, Lang lang);  // Persian digits in fa
std::string money(Money m, Lang lang);
std::string date(std::int64_t unix_seconds, Lang lang);  // Jalali in fa (Tehran time)
// "2025-05-01 14:03" style moments shown to operators, in the reader's digits.
std::string moment(std::int64_t unix_seconds, Lang lang);

telegram::InlineKeyboardBuilder keyboard(const MasterContext& ctx, Lang lang);
// Our own keyboards are within Telegram's limits: a failure is a bug (throws).
telegram::InlineKeyboardMarkup built(const telegram::InlineKeyboardBuilder& b);

// Sends `text` (HTML; long texts split) to a chat through the turn's bot, or, with a photo,
// the photo with the text as its caption (cut to Telegram's 1024 characters). Queued; never blocks.
void send(telegram::BotContext& bot, std::int64_t chat_id, const std::string& text,
          const std::optional<std::string>& photo_file_id = std::nullopt,
          std::optional<telegram::InlineKeyboardMarkup> markup = std::nullopt);

// The largest photo of the turn's message, if it has one.
std::optional<std::string> photo_of(const telegram::Turn& turn);

struct CustomerRow {
  std::int64_t id = 0;
  std::optional<std::int64_t> telegram_id;
  std::optional<std::int64_t> tenant_id;
  std::string name;
  std::string username;  // lower case, without '@'; "" when unknown
  std::string status;
  std::int64_t created_at = 0;
};

// The customer of this Telegram user, entered when new (the master bot's /start usually
// did that already); keeps their @username current for the operators' lookup.
Result<CustomerRow> ensure_customer(storage::Database& db, const telegram::User& user, std::int64_t now);
Result<std::optional<CustomerRow>> customer_by_id(storage::Database& db, std::int64_t id);
Result<std::optional<CustomerRow>> customer_by_telegram(storage::Database& db, std::int64_t telegram_id);
// "@name" or "name", case-insensitive.
Result<std::optional<CustomerRow>> customer_by_username(storage::Database& db, std::string_view username);

// Text without surrounding blanks.
std::string trimmed(std::string_view text);

}  // namespace ms::master::desk
