#include "telegram/keyboard.hpp"

#include <algorithm>
#include <cmath>

#include "telegram/limits.hpp"

namespace ms::telegram {

InlineKeyboardBuilder::InlineKeyboardBuilder(std::string_view callback_key, Direction direction)
    : key_(callback_key), direction_(direction) {}

void InlineKeyboardBuilder::add(InlineKeyboardButton b) {
  if (!error_ && b.text.empty()) error_ = Error{ErrorCode::kInvalidArgument, "a keyboard button has no text"};
  if (columns_ != 0 && rows_.back().size() >= columns_) rows_.emplace_back();
  rows_.back().push_back(std::move(b));
}

InlineKeyboardBuilder& InlineKeyboardBuilder::button(std::string text, std::string_view action,
                                                     const std::vector<CallbackArg>& args) {
  auto data = encode_callback(action, args, key_);
  if (!data) {
    if (!error_) error_ = data.error();
    return *this;
  }
  add(InlineKeyboardButton::callback(std::move(text), std::move(*data)));
  return *this;
}

InlineKeyboardBuilder& InlineKeyboardBuilder::link(std::string text, std::string url) {
  add(InlineKeyboardButton::link(std::move(text), std::move(url)));
  return *this;
}

InlineKeyboardBuilder& InlineKeyboardBuilder::pay(std::string text) {
  add(InlineKeyboardButton::pay_button(std::move(text)));
  return *this;
}

InlineKeyboardBuilder& InlineKeyboardBuilder::copy(std::string text, std::string to_copy) {
  InlineKeyboardButton b;
  b.text = std::move(text);
  b.copy_text = std::move(to_copy);
  add(std::move(b));
  return *this;
}

InlineKeyboardBuilder& InlineKeyboardBuilder::row() {
  if (!rows_.back().empty()) rows_.emplace_back();
  return *this;
}

InlineKeyboardBuilder& InlineKeyboardBuilder::columns(std::size_t n) {
  row();
  columns_ = n;
  return *this;
}

Result<InlineKeyboardMarkup> InlineKeyboardBuilder::build() const {
  if (error_) return fail(*error_);
  InlineKeyboardMarkup out;
  std::size_t total = 0;
  for (const auto& r : rows_) {
    if (r.empty()) continue;
    if (r.size() > limits::kMaxButtonsPerRow)
      return fail(ErrorCode::kInvalidArgument, "a keyboard row has " + std::to_string(r.size()) + " buttons (at most " +
                                                   std::to_string(limits::kMaxButtonsPerRow) + ")");
    total += r.size();
    out.inline_keyboard.push_back(r);
    if (direction_ == Direction::kRtl)
      std::reverse(out.inline_keyboard.back().begin(), out.inline_keyboard.back().end());
  }
  if (total > limits::kMaxKeyboardButtons)
    return fail(ErrorCode::kInvalidArgument, "a keyboard has " + std::to_string(total) + " buttons (at most " +
                                                 std::to_string(limits::kMaxKeyboardButtons) + ")");
  return out;
}

ReplyKeyboardMarkup reply_keyboard(const std::vector<std::vector<std::string>>& rows, Direction direction,
                                   bool one_time) {
  ReplyKeyboardMarkup k;
  k.resize_keyboard = true;
  k.one_time_keyboard = one_time;
  for (const auto& r : rows) {
    if (r.empty()) continue;
    auto& out = k.keyboard.emplace_back();
    for (const auto& text : r) {
      KeyboardButton b;
      b.text = text;
      out.push_back(std::move(b));
    }
    if (direction == Direction::kRtl) std::reverse(out.begin(), out.end());
  }
  return k;
}

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// Bytes of the UTF-8 sequence starting with `lead` (1 for a stray continuation byte).
std::size_t sequence_length(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

}  // namespace

std::vector<std::string> split_message(std::string_view text, std::size_t max_units) {
  std::vector<std::string> out;
  if (max_units == 0) max_units = 1;
  while (!text.empty()) {
    // The longest prefix within max_units, at character boundaries.
    std::size_t units = 0, end = 0;
    while (end < text.size()) {
      const std::size_t len = std::min(sequence_length(static_cast<unsigned char>(text[end])), text.size() - end);
      const std::size_t u = len == 4 ? 2 : 1;  // astral characters are two UTF-16 units
      if (units + u > max_units) break;
      units += u;
      end += len;
    }
    std::size_t cut = end;
    if (end < text.size()) {
      const std::string_view head = text.substr(0, end);
      auto nl = head.rfind('\n');
      auto sp = head.rfind(' ');
      if (nl != std::string_view::npos && nl > 0) {
        cut = nl + 1;
      } else if (sp != std::string_view::npos && sp > 0) {
        cut = sp + 1;
      }
    }
    std::string piece(text.substr(0, cut));
    while (!piece.empty() && (piece.back() == '\n' || piece.back() == ' ')) piece.pop_back();
    if (!piece.empty()) out.push_back(std::move(piece));
    text.remove_prefix(cut);
  }
  return out;
}

std::string progress_bar(double fraction, int width) {
  if (!(fraction >= 0)) fraction = 0;  // NaN too
  fraction = std::min(fraction, 1.0);
  width = std::max(width, 1);
  const int full = static_cast<int>(std::lround(fraction * width));
  std::string out;
  for (int i = 0; i < width; ++i) out += i < full ? "▰" : "▱";
  return out;
}

}  // namespace ms::telegram
