// Keyboards and message text that read well in Persian (right to left) and English.
//
// Telegram lays out every keyboard row left to right whatever the language, so a Persian
// menu written in reading order would start at the wrong end. With Direction::kRtl the
// builders mirror each row: the first button given is the rightmost one, where a Persian
// reader starts. Rows stay top to bottom.
//
// Threads: plain values and stateless functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "telegram/callback_data.hpp"
#include "telegram/types.hpp"

namespace ms::telegram {

enum class Direction { kLtr, kRtl };

class InlineKeyboardBuilder {
 public:
  // `callback_key`: the bot's secret for callback data (see callback_data.hpp).
  InlineKeyboardBuilder(std::string_view callback_key, Direction direction);

  // A button that sends signed callback data (action + args) when pressed.
  InlineKeyboardBuilder& button(std::string text, std::string_view action, const std::vector<CallbackArg>& args = {});
  InlineKeyboardBuilder& link(std::string text, std::string url);
  InlineKeyboardBuilder& pay(std::string text);  // must be first in an invoice's keyboard
  InlineKeyboardBuilder& copy(std::string text, std::string to_copy);
  // Ends the current row (an empty row is never emitted).
  InlineKeyboardBuilder& row();
  // From now on, rows wrap after `n` buttons by themselves (0: only row() wraps).
  InlineKeyboardBuilder& columns(std::size_t n);

  // The keyboard, or the first problem: callback data over 64 bytes, a row over 8
  // buttons, over 100 buttons, an empty button text.
  Result<InlineKeyboardMarkup> build() const;

 private:
  void add(InlineKeyboardButton b);

  std::string key_;
  Direction direction_;
  std::size_t columns_ = 0;
  std::vector<std::vector<InlineKeyboardButton>> rows_{{}};
  std::optional<Error> error_;
};

// A reply keyboard of plain text buttons, rows in reading order, resized to fit.
ReplyKeyboardMarkup reply_keyboard(const std::vector<std::vector<std::string>>& rows, Direction direction,
                                   bool one_time = false);

// Escapes text for parse_mode HTML (&, <, >, ").
std::string escape_html(std::string_view text);

// Splits a long text into messages of at most `max_units` UTF-16 units (Telegram's count),
// at line breaks where possible, then at spaces, never inside a UTF-8 character.
std::vector<std::string> split_message(std::string_view text, std::size_t max_units = 4096);

// A bar like "▰▰▰▰▱▱▱▱▱▱" for used traffic; `fraction` is clamped to [0, 1].
std::string progress_bar(double fraction, int width = 10);

}  // namespace ms::telegram
