#include "sandbox/text_format.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "core/utf8.hpp"
#include "telegram/limits.hpp"

namespace ms::sandbox {
namespace {

using telegram::limits::utf16_length;

std::size_t utf16_units_of_lead(unsigned char c) { return (c & 0xF8) == 0xF0 ? 2 : ((c & 0xC0) == 0x80 ? 0 : 1); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}


struct Open {
  std::string type;
  std::size_t start = 0;  // UTF-16 offset in the output
  std::size_t byte = 0;   // byte offset in the input
  std::string tag;        // HTML tag name as written
  nlohmann::json extra = nlohmann::json::object();
};

void close_entity(FormattedText& out, const Open& open) {
  std::size_t end = utf16_length(out.text);
  if (end == open.start) return;
  nlohmann::json e = {{"type", open.type}, {"offset", open.start}, {"length", end - open.start}};
  for (auto it = open.extra.begin(); it != open.extra.end(); ++it) e[it.key()] = it.value();
  out.entities.push_back(std::move(e));
}

std::optional<std::string> attribute(std::string_view attrs, std::string_view name) {
  std::string low = lower(attrs);
  auto pos = low.find(std::string(name) + "=");
  if (pos == std::string::npos) return std::nullopt;
  std::string_view rest = attrs.substr(pos + name.size() + 1);
  if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
    auto close = rest.find(rest.front(), 1);
    if (close == std::string_view::npos) return std::nullopt;
    return std::string(rest.substr(1, close - 1));
  }
  auto end = rest.find_first_of(" \t\n");
  return std::string(rest.substr(0, end));
}

Result<FormattedText> parse_html(std::string_view in) {
  FormattedText out;
  std::vector<Open> stack;
  for (std::size_t i = 0; i < in.size();) {
    char c = in[i];
    if (c == '&') {
      auto semi = in.find(';', i);
      std::string_view name = semi == std::string_view::npos ? std::string_view() : in.substr(i + 1, semi - i - 1);
      std::optional<unsigned> cp;
      if (name == "lt") cp = '<';
      else if (name == "gt") cp = '>';
      else if (name == "amp") cp = '&';
      else if (name == "quot") cp = '"';
      else if (name.size() > 1 && name.front() == '#') {
        bool hex = name[1] == 'x' || name[1] == 'X';
        std::string digits(name.substr(hex ? 2 : 1));
        if (!digits.empty() && digits.size() < 8) cp = static_cast<unsigned>(std::stoul(digits, nullptr, hex ? 16 : 10));
      }
      if (cp) {
        utf8::append(out.text, *cp);
        i = semi + 1;
      } else {
        out.text += c;
        ++i;
      }
      continue;
    }
    if (c != '<') {
      out.text += c;
      ++i;
      continue;
    }
    auto close = in.find('>', i);
    if (close == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument, "Unclosed start tag at byte offset " + std::to_string(i));
    }
    std::string_view tag = in.substr(i + 1, close - i - 1);
    if (!tag.empty() && tag.front() == '/') {
      std::string name = lower(tag.substr(1));
      while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
      if (stack.empty()) return fail(ErrorCode::kInvalidArgument, "Unexpected end tag at byte offset " + std::to_string(i));
      if (stack.back().tag != name) {
        return fail(ErrorCode::kInvalidArgument, "Unmatched end tag at byte offset " + std::to_string(i) +
                                                     ", expected \"</" + stack.back().tag + ">\", found \"</" + name +
                                                     ">\"");
      }
      close_entity(out, stack.back());
      stack.pop_back();
      i = close + 1;
      continue;
    }
    auto space = tag.find_first_of(" \t\n");
    std::string name = lower(tag.substr(0, space));
    std::string_view attrs = space == std::string_view::npos ? std::string_view() : tag.substr(space);
    Open open{"", utf16_length(out.text), i, name, nlohmann::json::object()};
    if (name == "b" || name == "strong") open.type = "bold";
    else if (name == "i" || name == "em") open.type = "italic";
    else if (name == "u" || name == "ins") open.type = "underline";
    else if (name == "s" || name == "strike" || name == "del") open.type = "strikethrough";
    else if (name == "tg-spoiler") open.type = "spoiler";
    else if (name == "pre") open.type = "pre";
    else if (name == "blockquote") open.type = attribute(attrs, "expandable") || lower(attrs).find("expandable") != std::string::npos ? "expandable_blockquote" : "blockquote";
    else if (name == "span") {
      if (attribute(attrs, "class").value_or("") != "tg-spoiler") {
        return fail(ErrorCode::kInvalidArgument, "Tag \"span\" must have class \"tg-spoiler\" at byte offset " + std::to_string(i));
      }
      open.type = "spoiler";
    } else if (name == "a") {
      open.type = "text_link";
      open.extra["url"] = attribute(attrs, "href").value_or("");
    } else if (name == "code") {
      auto cls = attribute(attrs, "class");
      if (!stack.empty() && stack.back().type == "pre" && cls && cls->rfind("language-", 0) == 0) {
        stack.back().extra["language"] = cls->substr(9);
      }
      open.type = "code";
    } else if (name == "tg-emoji") {
      open.type = "custom_emoji";
      open.extra["custom_emoji_id"] = attribute(attrs, "emoji-id").value_or("");
    } else {
      return fail(ErrorCode::kInvalidArgument, "Unsupported start tag \"" + name + "\" at byte offset " + std::to_string(i));
    }
    stack.push_back(std::move(open));
    i = close + 1;
  }
  if (!stack.empty()) {
    return fail(ErrorCode::kInvalidArgument, "Can't find end tag corresponding to start tag \"" + stack.back().tag + "\"");
  }
  // A <code> inside a <pre> is the pre's language marker, not an entity of its own.
  nlohmann::json kept = nlohmann::json::array();
  for (auto& e : out.entities) {
    bool inner_code = false;
    if (e["type"] == "code") {
      for (auto& p : out.entities) {
        if (p["type"] == "pre" && p["offset"] == e["offset"] && p["length"] == e["length"]) inner_code = true;
      }
    }
    if (!inner_code) kept.push_back(e);
  }
  out.entities = std::move(kept);
  return out;
}

std::string entity_name(std::string_view type) {
  if (type == "bold") return "Bold";
  if (type == "italic") return "Italic";
  if (type == "underline") return "Underline";
  if (type == "strikethrough") return "Strikethrough";
  if (type == "spoiler") return "Spoiler";
  if (type == "code") return "Code";
  if (type == "pre") return "Pre";
  return "TextUrl";
}

Result<FormattedText> parse_markdown(std::string_view in, bool v2) {
  FormattedText out;
  std::vector<Open> stack;
  auto top_is = [&](std::string_view type) { return !stack.empty() && stack.back().type == type; };
  for (std::size_t i = 0; i < in.size();) {
    char c = in[i];
    bool in_code = top_is("code") || top_is("pre");
    if (c == '\\' && i + 1 < in.size() && (v2 || !in_code) && static_cast<unsigned char>(in[i + 1]) < 127) {
      out.text += in[i + 1];
      i += 2;
      continue;
    }
    if (in_code && c != '`') {
      out.text += c;
      ++i;
      continue;
    }
    std::string type;
    std::size_t width = 1;
    if (c == '*') type = "bold";
    else if (c == '_' && v2 && i + 1 < in.size() && in[i + 1] == '_') type = "underline", width = 2;
    else if (c == '_') type = "italic";
    else if (c == '~' && v2) type = "strikethrough";
    else if (c == '|' && v2 && i + 1 < in.size() && in[i + 1] == '|') type = "spoiler", width = 2;
    else if (c == '`' && in.substr(i, 3) == "```") type = "pre", width = 3;
    else if (c == '`') type = "code";
    if (!type.empty()) {
      if (top_is(type)) {
        close_entity(out, stack.back());
        stack.pop_back();
      } else {
        if (!v2 && !stack.empty()) {
          return fail(ErrorCode::kInvalidArgument, "Can't find end of the entity starting at byte offset " +
                                                       std::to_string(stack.back().byte));
        }
        Open open{type, utf16_length(out.text), i, "", nlohmann::json::object()};
        if (type == "pre") {
          auto eol = in.find('\n', i + 3);
          if (eol != std::string_view::npos && eol > i + 3 && in.substr(i + 3, eol - i - 3).find_first_of(" `") == std::string_view::npos) {
            open.extra["language"] = std::string(in.substr(i + 3, eol - i - 3));
            width = eol - i + 1;
          }
        }
        stack.push_back(std::move(open));
      }
      i += width;
      continue;
    }
    if (c == '[') {
      stack.push_back(Open{"text_link", utf16_length(out.text), i, "", nlohmann::json::object()});
      ++i;
      continue;
    }
    if (c == ']' && top_is("text_link") && i + 1 < in.size() && in[i + 1] == '(') {
      std::string url;
      std::size_t j = i + 2;
      for (; j < in.size() && in[j] != ')'; ++j) {
        if (in[j] == '\\' && j + 1 < in.size()) ++j;
        url += in[j];
      }
      if (j >= in.size()) break;
      stack.back().extra["url"] = url;
      close_entity(out, stack.back());
      stack.pop_back();
      i = j + 1;
      continue;
    }
    if (v2 && std::string_view("_*[]()~`>#+-=|{}.!").find(c) != std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string("Character '") + c + "' is reserved and must be escaped with the preceding '\\'");
    }
    out.text += c;
    ++i;
  }
  if (!stack.empty()) {
    if (!v2) {
      return fail(ErrorCode::kInvalidArgument,
                  "Can't find end of the entity starting at byte offset " + std::to_string(stack.back().byte));
    }
    return fail(ErrorCode::kInvalidArgument, "Can't find end of " + entity_name(stack.back().type) +
                                                 " entity at byte offset " + std::to_string(stack.back().byte));
  }
  return out;
}

}  // namespace

std::optional<ParseMode> parse_mode_from(std::string_view name) {
  std::string n = lower(name);
  if (n.empty() || n == "none") return ParseMode::kNone;
  if (n == "html") return ParseMode::kHtml;
  if (n == "markdownv2") return ParseMode::kMarkdownV2;
  if (n == "markdown") return ParseMode::kMarkdown;
  return std::nullopt;
}

Result<FormattedText> parse_entities(std::string_view text, ParseMode mode) {
  switch (mode) {
    case ParseMode::kHtml:
      return parse_html(text);
    case ParseMode::kMarkdownV2:
      return parse_markdown(text, true);
    case ParseMode::kMarkdown:
      return parse_markdown(text, false);
    case ParseMode::kNone:
      break;
  }
  return FormattedText{std::string(text), nlohmann::json::array()};
}

void trim_formatted(FormattedText& t) {
  const std::string_view kept_text = telegram::limits::trim(t.text);
  // The bytes trimmed from the front are ASCII whitespace, so they are also UTF-16 units.
  const std::size_t lead = kept_text.empty() ? t.text.size() : static_cast<std::size_t>(kept_text.data() - t.text.data());
  t.text = std::string(kept_text);
  const auto limit = static_cast<std::int64_t>(utf16_length(t.text));
  nlohmann::json kept = nlohmann::json::array();
  for (auto& e : t.entities) {
    std::int64_t from = e["offset"].get<std::int64_t>() - static_cast<std::int64_t>(lead);
    std::int64_t to = from + e["length"].get<std::int64_t>();
    from = std::max<std::int64_t>(from, 0);
    to = std::min(to, limit);
    if (to <= from) continue;
    e["offset"] = from;
    e["length"] = to - from;
    kept.push_back(e);
  }
  t.entities = std::move(kept);
}

void add_command_entities(FormattedText& t) {
  std::size_t units = 0;
  for (std::size_t i = 0; i < t.text.size();) {
    bool word_start = i == 0 || t.text[i - 1] == ' ' || t.text[i - 1] == '\n';
    if (t.text[i] == '/' && word_start) {
      std::size_t j = i + 1;
      while (j < t.text.size() && (std::isalnum(static_cast<unsigned char>(t.text[j])) || t.text[j] == '_' ||
                                   t.text[j] == '@')) {
        ++j;
      }
      if (j - i > 1 && j - i <= 64) {
        t.entities.push_back({{"type", "bot_command"}, {"offset", units}, {"length", j - i}});
        units += j - i;
        i = j;
        continue;
      }
    }
    units += utf16_units_of_lead(static_cast<unsigned char>(t.text[i]));
    ++i;
  }
  std::sort(t.entities.begin(), t.entities.end(),
            [](const nlohmann::json& a, const nlohmann::json& b) { return a["offset"] < b["offset"]; });
}

}  // namespace ms::sandbox
