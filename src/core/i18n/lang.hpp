// Lang: the languages Mothership speaks to people. Persian first (the first market is Iran),
// English equal. Pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string_view>

namespace ms::i18n {

enum class Lang { kFa, kEn };

// "fa" or "en".
std::string_view to_string(Lang lang);

// Parses a language tag as Telegram and browsers send it: "fa", "EN", "fa-IR", "en_US".
// Only the primary subtag counts. Returns nullopt for anything else (including "").
std::optional<Lang> parse_lang(std::string_view tag);

// True for languages written right to left.
bool is_rtl(Lang lang);

}  // namespace ms::i18n
