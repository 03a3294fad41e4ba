// Text as Telegram formats it: the HTML, MarkdownV2 and Markdown parse modes (text +
// MessageEntity list, with TDLib's error wording), trimming, and the entities Telegram finds
// by itself (bot commands). Lengths are UTF-16 code units, measured by
// telegram::limits::utf16_length, the same function the limit checks use.
//
// Pure functions: safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace ms::sandbox {

struct FormattedText {
  std::string text;
  nlohmann::json entities = nlohmann::json::array();
};

enum class ParseMode { kNone, kHtml, kMarkdownV2, kMarkdown };

// "", "none" -> kNone; "HTML", "MarkdownV2", "Markdown" in any case. nullopt otherwise.
std::optional<ParseMode> parse_mode_from(std::string_view name);

// Parses `text` in `mode`. Failure (kInvalidArgument) carries the detail that follows
// "can't parse entities: ", e.g. `Unsupported start tag "foo" at byte offset 0`.
Result<FormattedText> parse_entities(std::string_view text, ParseMode mode);

// Strips leading and trailing whitespace (telegram::limits::trim's set), moving entities
// with the text and dropping those left empty.
void trim_formatted(FormattedText& text);

// Adds "bot_command" entities for /commands at word starts that no entity covers yet.
void add_command_entities(FormattedText& text);

}  // namespace ms::sandbox
