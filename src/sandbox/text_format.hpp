// Text as Telegram measures and formats it: UTF-16 lengths, trimming, the HTML, MarkdownV2
// and Markdown parse modes (text + MessageEntity list, with TDLib's error wording), and the
// entities Telegram finds by itself (bot commands).
//
// Pure functions: safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace ms::sandbox {

// Length in UTF-16 code units, the unit of Telegram's limits and entity offsets.
std::size_t utf16_length(std::string_view utf8);

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

// Strips leading and trailing whitespace as TDLib does, moving entities with the text and
// dropping those left empty.
void trim_formatted(FormattedText& text);

// Adds "bot_command" entities for /commands at word starts that no entity covers yet.
void add_command_entities(FormattedText& text);

}  // namespace ms::sandbox
