// Bidirectional-text helpers for messages that mix Persian (right to left) with usernames,
// URLs, codes and English numbers (left to right). Without isolation, Telegram's bidi
// algorithm reorders neutral characters around such fragments ("@ali_92" can render as
// "92_ali@" inside Persian text).
//
// All functions are pure and safe from any thread. Text is UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace ms::i18n {

// Wraps `fragment` in FIRST STRONG ISOLATE (U+2068) ... POP DIRECTIONAL ISOLATE (U+2069): the
// fragment takes the direction of its first strong character (LTR if it has none, as for a
// number) and does not disturb the surrounding text. Bidi control characters already inside
// the fragment are removed first, so user-supplied text cannot close the isolate early or
// reorder what follows. An empty fragment gives "".
std::string isolate(std::string_view fragment);

// Like isolate, but forces left to right with LEFT-TO-RIGHT ISOLATE (U+2066), for fragments
// that must read LTR even if they start with a Persian letter (an English sentence quoting a
// Persian name, a URL with a Persian path).
std::string isolate_ltr(std::string_view fragment);

// Removes the explicit bidi controls: LRM, RLM, ALM, LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI.
std::string strip_bidi_controls(std::string_view text);

// True if the text contains a right-to-left letter (Hebrew, Arabic, Persian and related blocks).
bool contains_rtl(std::string_view text);

}  // namespace ms::i18n
