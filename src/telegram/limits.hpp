// Telegram's limits on what a bot may send, as plain functions shared by the client (to
// fail before a round trip) and the sandbox emulator (to answer as Telegram would).
//
// Every check returns nullopt when the input is acceptable, or the error Telegram gives
// for it: the HTTP/error code and the exact `description`
// (shared/reference/telegram-bot-api.md §4, §5, §9, §10). Where the reference marks a
// wording as unconfirmed, the comment says so.
//
// Dependencies: the standard library and nlohmann::json only, so any layer can use them.
// Threads: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ms::telegram::limits {

struct LimitError {
  int code = 400;
  std::string description;

  bool operator==(const LimitError&) const = default;
};

using Check = std::optional<LimitError>;

inline constexpr std::size_t kMaxMessageText = 4096;    // after entity parsing
inline constexpr std::size_t kMaxRawTextBytes = 32768;  // before parsing
inline constexpr std::size_t kMaxCaption = 1024;        // after entity parsing
inline constexpr std::size_t kMaxCallbackDataBytes = 64;
inline constexpr std::size_t kMaxCallbackAnswerText = 200;
// Not documented; commonly observed limits (reference §4.2: unconfirmed).
inline constexpr std::size_t kMaxKeyboardButtons = 100;
inline constexpr std::size_t kMaxButtonsPerRow = 8;
inline constexpr std::size_t kMaxBotCommands = 100;
inline constexpr std::size_t kMaxCommandLength = 32;
inline constexpr std::size_t kMaxCommandDescription = 256;
inline constexpr std::size_t kMaxDescription = 512;
inline constexpr std::size_t kMaxShortDescription = 120;
inline constexpr std::size_t kMaxInvoiceTitle = 32;
inline constexpr std::size_t kMaxInvoiceDescription = 255;
inline constexpr std::size_t kMaxInvoicePayloadBytes = 128;
inline constexpr std::size_t kMaxSecretToken = 256;
inline constexpr std::int64_t kStarsSubscriptionPeriod = 2592000;
inline constexpr std::int64_t kMaxStarsSubscriptionPrice = 10000;

// Builds a description the way the Bot API server does (reference §5.1): the prefix for the
// code ("Bad Request", "Unauthorized", "Forbidden", "Internal Server Error"; other codes
// become 400), kept as is when `message` already starts with it, and the first letter of
// `message` lower-cased unless its second character is '_' or upper case (so ALL_CAPS
// server errors like BUTTON_DATA_INVALID pass unchanged). 429 gives
// "Too Many Requests: retry after N" with N = `retry_after`.
LimitError make_error(int code, std::string_view message, int retry_after = 0);

// Length in UTF-16 code units, the unit Telegram counts text and entity offsets in.
// Each byte of an invalid UTF-8 sequence counts as one unit.
std::size_t utf16_length(std::string_view utf8);
bool is_valid_utf8(std::string_view bytes);
// Strips Telegram's whitespace (spaces, tabs, newlines) from both ends.
std::string_view trim(std::string_view text);

// parse_mode must be empty, "none", "HTML", "MarkdownV2" or "Markdown" (any case).
Check check_parse_mode(std::string_view parse_mode);
// The text a person will see: `text` with HTML tags/entities or Markdown markup removed.
// An estimate for length checks (it does not validate markup; malformed markup is left
// as text), exact for well-formed input.
std::string visible_text(std::string_view text, std::string_view parse_mode);

// sendMessage / editMessageText `text`: "message text is empty", "text is too long" (raw
// bytes), "text must be non-empty" (whitespace only), "message is too long".
Check check_message_text(std::string_view text, std::string_view parse_mode = {});
// Captions: 0-1024 after parsing, "message caption is too long"; over 32768 raw bytes,
// "text is too long" (the server measures every formatted text before parsing it).
Check check_caption(std::string_view caption, std::string_view parse_mode = {});
// The two halves of those checks, for a caller that parses markup itself (the emulator,
// which must report a markup error between them):
//   before parsing: "message text is empty" (only when `required`), "text is too long";
//   after parsing, on the text a person sees: "text must be non-empty" (text only, after
//   trimming) and "message is too long" / "message caption is too long".
Check check_raw_text(std::string_view raw, bool required = true);
Check check_visible_text(std::string_view visible);
Check check_visible_caption(std::string_view visible);
// InlineKeyboardButton.callback_data: 1-64 bytes. Empty means "no kind" (see check_reply_markup).
Check check_callback_data(std::string_view data);
// answerCallbackQuery `text`: 0-200 characters, else 400 "MESSAGE_TOO_LONG".
Check check_callback_answer_text(std::string_view text);
// A reply_markup value (object): structure, button kinds, callback_data and size limits.
Check check_reply_markup(const nlohmann::json& markup);
// `chat_id` as sent (number or string): empty -> "chat_id is empty".
Check check_chat_id(const nlohmann::json& chat_id);
// setMyCommands `commands`: at most 100; each 1-32 of [a-z0-9_] after trimming a leading
// '/', description 1-256.
Check check_bot_commands(const nlohmann::json& commands);
// setMyDescription (0-512) and setMyShortDescription (0-120). Over-length wording is not
// in the reference (unconfirmed): "description is too long" / "short description is too long".
Check check_description(std::string_view description);
Check check_short_description(std::string_view short_description);
// setWebhook secret_token: 1-256 of A-Z a-z 0-9 _ -; an empty token means none.
Check check_secret_token(std::string_view token);
// A Telegram Stars invoice (sendInvoice / createInvoiceLink): title 1-32, description
// 1-255, payload 1-128 bytes of UTF-8, currency "XTR", exactly one price with a positive
// amount, and for subscriptions a 30-day period and at most 10000 Stars. A malformed price
// gives "Can't parse labeled price: Can't find field \"amount\"" and the like.
struct StarsInvoice {
  std::string_view title;
  std::string_view description;
  std::string_view payload;
  std::string_view currency;
  const nlohmann::json* prices = nullptr;  // the array of LabeledPrice as sent
  std::optional<std::int64_t> subscription_period;
};
Check check_stars_invoice(const StarsInvoice& invoice);
// answerPreCheckoutQuery: error_message is required when ok is false.
Check check_pre_checkout_answer(bool ok, std::string_view error_message);
// `parameter "<name>" is required` for a missing or empty required string.
LimitError required_parameter(std::string_view name);

}  // namespace ms::telegram::limits
