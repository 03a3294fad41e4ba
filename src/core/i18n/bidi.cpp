#include "core/i18n/bidi.hpp"

#include <cstdint>

namespace ms::i18n {

namespace {

// Decodes one UTF-8 sequence at text[i]; sets len. Invalid bytes decode as themselves with
// len 1 so that they pass through untouched.
char32_t decode_at(std::string_view text, std::size_t i, std::size_t& len) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  const auto cont = [&](std::size_t k) {
    return i + k < text.size() && (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
  };
  const auto bits = [&](std::size_t k) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[i + k]) & 0x3F);
  };
  if (b0 < 0x80) {
    len = 1;
    return b0;
  }
  if ((b0 & 0xE0) == 0xC0 && cont(1)) {
    len = 2;
    return (static_cast<char32_t>(b0 & 0x1F) << 6) | bits(1);
  }
  if ((b0 & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    len = 3;
    return (static_cast<char32_t>(b0 & 0x0F) << 12) | (bits(1) << 6) | bits(2);
  }
  if ((b0 & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    len = 4;
    return (static_cast<char32_t>(b0 & 0x07) << 18) | (bits(1) << 12) | (bits(2) << 6) | bits(3);
  }
  len = 1;
  return 0xFFFD;
}

bool is_bidi_control(char32_t c) {
  return c == 0x200E || c == 0x200F || c == 0x061C || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

bool is_rtl_letter(char32_t c) {
  // Hebrew, Arabic (incl. Persian letters), Syriac, Thaana, NKo..Arabic Extended, and the
  // Hebrew/Arabic presentation forms. Arabic-Indic digits are numbers, not letters.
  if (c >= 0x0660 && c <= 0x0669) return false;
  if (c >= 0x06F0 && c <= 0x06F9) return false;
  return (c >= 0x0590 && c <= 0x08FF) || (c >= 0xFB1D && c <= 0xFDFF) || (c >= 0xFE70 && c <= 0xFEFF);
}

std::string wrap(std::string_view open, std::string_view fragment) {
  std::string inner = strip_bidi_controls(fragment);
  if (inner.empty()) return {};
  std::string out;
  out.reserve(inner.size() + 6);
  out.append(open);
  out.append(inner);
  out.append("\u2069");
  return out;
}

}  // namespace

std::string strip_bidi_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t len = 1;
    const char32_t c = decode_at(text, i, len);
    if (!is_bidi_control(c)) out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

bool contains_rtl(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t len = 1;
    if (is_rtl_letter(decode_at(text, i, len))) return true;
    i += len;
  }
  return false;
}

std::string isolate(std::string_view fragment) { return wrap("\u2068", fragment); }

std::string isolate_ltr(std::string_view fragment) { return wrap("\u2066", fragment); }

}  // namespace ms::i18n
