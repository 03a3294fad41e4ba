#include "telegram/limits.hpp"

#include <cctype>
#include <cstdlib>
#include <string>

#include "core/utf8.hpp"

namespace ms::telegram::limits {
namespace {

using nlohmann::json;

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Length of the UTF-8 sequence starting with `lead`, or 0 when `lead` cannot start one.
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Decodes one code point at `i`; returns its byte length, or 0 if the bytes are not valid UTF-8.
std::size_t decode(std::string_view s, std::size_t i, char32_t& cp) {
  const auto lead = static_cast<unsigned char>(s[i]);
  const std::size_t n = sequence_length(lead);
  if (n == 0 || i + n > s.size()) return 0;
  if (n == 1) {
    cp = lead;
    return 1;
  }
  cp = lead & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

std::size_t code_point_length(std::string_view s) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = decode(s, i, cp);
    i += n == 0 ? 1 : n;
    ++count;
  }
  return count;
}


// "&lt;" -> "<", "&#1575;" -> "ا"; returns the bytes consumed, or 0 when it is not an entity.
std::size_t decode_html_entity(std::string_view s, std::size_t i, std::string& out) {
  const std::size_t semi = s.find(';', i);
  if (semi == std::string_view::npos || semi - i > 12) return 0;
  const std::string_view name = s.substr(i + 1, semi - i - 1);
  if (name == "lt") {
    out += '<';
  } else if (name == "gt") {
    out += '>';
  } else if (name == "amp") {
    out += '&';
  } else if (name == "quot") {
    out += '"';
  } else if (name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string digits(name.substr(hex ? 2 : 1));
    if (digits.empty()) return 0;
    char* end = nullptr;
    const unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
    if (*end != '\0' || cp == 0 || cp > 0x10FFFF) return 0;
    utf8::append(out, static_cast<char32_t>(cp));
  } else {
    return 0;
  }
  return semi - i + 1;
}

std::string visible_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '<') {
      const std::size_t close = s.find('>', i);
      if (close == std::string_view::npos) {
        out.append(s.substr(i));
        break;
      }
      i = close + 1;
    } else if (s[i] == '&') {
      const std::size_t n = decode_html_entity(s, i, out);
      if (n == 0) out += s[i++];
      i += n;
    } else {
      out += s[i++];
    }
  }
  return out;
}

std::string visible_markdown(std::string_view s, bool v2) {
  std::string out;
  out.reserve(s.size());
  bool line_start = true;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      out += s[i + 1];
      i += 2;
      line_start = false;
      continue;
    }
    if (c == '`' && s.substr(i, 3) == "```") {
      // Opening pre: drop the fence and a language name on the same line.
      i += 3;
      const std::size_t nl = s.find('\n', i);
      const std::size_t close = s.find("```", i);
      if (nl != std::string_view::npos && (close == std::string_view::npos || nl < close)) {
        const std::string_view lang = s.substr(i, nl - i);
        if (lang.find(' ') == std::string_view::npos) i = nl + 1;
      }
      continue;
    }
    if (c == ']' && i + 1 < s.size() && s[i + 1] == '(') {
      // The URL part of a link: skipped up to its unescaped ')'.
      std::size_t j = i + 2;
      while (j < s.size() && s[j] != ')') j += (s[j] == '\\' && j + 1 < s.size()) ? 2 : 1;
      i = j + 1;
      continue;
    }
    const bool markup =
        c == '*' || c == '_' || c == '`' || c == '[' ||
        (v2 && (c == '~' || c == '|' || (c == '!' && i + 1 < s.size() && s[i + 1] == '[') || (c == '>' && line_start)));
    if (!markup) out += c;
    line_start = c == '\n';
    ++i;
  }
  return out;
}

// What is wrong with one LabeledPrice, in the server's JSON wording (reference §4.2, §9):
// a missing field is "Can't find field", a wrong type "Field ... must be of type ...".
// The not-an-Object and Integer wordings follow that pattern but are unconfirmed.
std::optional<std::string> labeled_price_problem(const json& p) {
  if (!p.is_object()) return "LabeledPrice must be an Object";
  if (!p.contains("label")) return "Can't find field \"label\"";
  if (!p["label"].is_string()) return "Field \"label\" must be of type String";
  if (!p.contains("amount")) return "Can't find field \"amount\"";
  if (!p["amount"].is_number_integer()) return "Field \"amount\" must be of type Integer";
  return std::nullopt;
}

bool is_command_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

LimitError make_error(int code, std::string_view message, int retry_after) {
  if (code == 429) {
    return {429, "Too Many Requests: retry after " + std::to_string(retry_after)};
  }
  std::string_view prefix;
  switch (code) {
    case 401: prefix = "Unauthorized"; break;
    case 403: prefix = "Forbidden"; break;
    case 500: prefix = "Internal Server Error"; break;
    default: code = 400; prefix = "Bad Request";
  }
  if (message.substr(0, prefix.size()) == prefix) return {code, std::string(message)};
  std::string msg(message);
  const bool keep_case = msg.size() >= 2 && (msg[1] == '_' || std::isupper(static_cast<unsigned char>(msg[1])));
  if (!msg.empty() && !keep_case) msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
  return {code, std::string(prefix) + ": " + msg};
}

std::size_t utf16_length(std::string_view utf8) {
  std::size_t units = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    char32_t cp = 0;
    const std::size_t n = decode(utf8, i, cp);
    if (n == 0) {
      ++units;
      ++i;
      continue;
    }
    units += cp >= 0x10000 ? 2 : 1;
    i += n;
  }
  return units;
}

bool is_valid_utf8(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    char32_t cp = 0;
    const std::size_t n = decode(bytes, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r\v\f";
  const std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const std::size_t last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

Check check_parse_mode(std::string_view parse_mode) {
  const std::string mode = to_lower(parse_mode);
  if (mode.empty() || mode == "none" || mode == "html" || mode == "markdownv2" || mode == "markdown") {
    return std::nullopt;
  }
  return make_error(400, "unsupported parse_mode");
}

std::string visible_text(std::string_view text, std::string_view parse_mode) {
  const std::string mode = to_lower(parse_mode);
  if (mode == "html") return visible_html(text);
  if (mode == "markdownv2") return visible_markdown(text, true);
  if (mode == "markdown") return visible_markdown(text, false);
  return std::string(text);
}

Check check_raw_text(std::string_view raw, bool required) {
  if (required && raw.empty()) return make_error(400, "Message text is empty");
  if (raw.size() > kMaxRawTextBytes) return make_error(400, "Text is too long");
  return std::nullopt;
}

Check check_visible_text(std::string_view visible) {
  const std::string_view trimmed = trim(visible);
  if (trimmed.empty()) return make_error(400, "Text must be non-empty");
  if (utf16_length(trimmed) > kMaxMessageText) return make_error(400, "Message is too long");
  return std::nullopt;
}

Check check_visible_caption(std::string_view visible) {
  if (utf16_length(trim(visible)) > kMaxCaption) return make_error(400, "Message caption is too long");
  return std::nullopt;
}

Check check_message_text(std::string_view text, std::string_view parse_mode) {
  if (auto bad = check_raw_text(text)) return bad;
  if (auto bad = check_parse_mode(parse_mode)) return bad;
  return check_visible_text(visible_text(text, parse_mode));
}

Check check_caption(std::string_view caption, std::string_view parse_mode) {
  if (auto bad = check_raw_text(caption, false)) return bad;
  if (auto bad = check_parse_mode(parse_mode)) return bad;
  return check_visible_caption(visible_text(caption, parse_mode));
}

Check check_callback_data(std::string_view data) {
  if (data.empty()) {
    return make_error(400, "Can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
  }
  if (data.size() > kMaxCallbackDataBytes) return make_error(400, "BUTTON_DATA_INVALID");
  return std::nullopt;
}

Check check_callback_answer_text(std::string_view text) {
  if (code_point_length(text) > kMaxCallbackAnswerText) return make_error(400, "MESSAGE_TOO_LONG");
  return std::nullopt;
}

namespace {

// Checks a button's "text": the error message without the "Can't parse ... button: " part.
std::optional<std::string> button_text_problem(const json& button) {
  auto it = button.find("text");
  if (it == button.end()) return "Can't find field \"text\"";
  if (!it->is_string()) return "Field \"text\" must be of type String";
  return std::nullopt;
}

Check check_inline_button(const json& b) {
  const std::string wrap = "Can't parse inline keyboard button: ";
  if (!b.is_object()) return make_error(400, wrap + "InlineKeyboardButton must be an Object");
  if (auto problem = button_text_problem(b)) return make_error(400, wrap + *problem);
  auto present = [&](const char* key) { return b.contains(key) && !b[key].is_null(); };
  if (present("url")) return std::nullopt;
  if (present("callback_data")) {
    const json& data = b["callback_data"];
    if (!data.is_string()) return make_error(400, wrap + "Field \"callback_data\" must be of type String");
    if (!data.get_ref<const std::string&>().empty()) return check_callback_data(data.get_ref<const std::string&>());
  }
  for (const char* kind : {"callback_game", "pay", "switch_inline_query", "switch_inline_query_chosen_chat",
                           "switch_inline_query_current_chat", "login_url", "web_app", "copy_text"}) {
    if (present(kind) && !(b[kind].is_boolean() && !b[kind].get<bool>())) return std::nullopt;
  }
  return make_error(400, wrap + "Text buttons are unallowed in the inline keyboard");
}

Check check_reply_button(const json& b) {
  const std::string wrap = "Can't parse keyboard button: ";
  if (b.is_string()) return std::nullopt;
  if (!b.is_object()) return make_error(400, wrap + "KeyboardButton must be a String or an Object");
  if (auto problem = button_text_problem(b)) return make_error(400, wrap + *problem);
  return std::nullopt;
}

Check check_rows(const json& rows, const std::string& not_rows_message, bool inline_keyboard) {
  if (!rows.is_array()) return make_error(400, not_rows_message);
  std::size_t total = 0;
  for (const json& row : rows) {
    if (!row.is_array()) return make_error(400, not_rows_message);
    for (const json& button : row) {
      if (auto bad = inline_keyboard ? check_inline_button(button) : check_reply_button(button)) return bad;
    }
    total += row.size();
    if (row.size() > kMaxButtonsPerRow) return make_error(400, "reply markup is too long");
  }
  if (total > kMaxKeyboardButtons) return make_error(400, "reply markup is too long");
  return std::nullopt;
}

}  // namespace

Check check_reply_markup(const json& markup) {
  if (!markup.is_object()) return make_error(400, "Object expected as reply markup");
  auto non_empty = [&](const char* key) {
    auto it = markup.find(key);
    return it != markup.end() && !it->is_null() && !(it->is_array() && it->empty());
  };
  if (non_empty("keyboard")) {
    return check_rows(markup["keyboard"], "Field \"keyboard\" must be an Array of Arrays", false);
  }
  if (non_empty("inline_keyboard")) {
    return check_rows(markup["inline_keyboard"],
                      "Field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays", true);
  }
  return std::nullopt;  // remove_keyboard, force_reply, or nothing: the server ignores the latter
}

Check check_chat_id(const json& chat_id) {
  if (chat_id.is_null() || (chat_id.is_string() && chat_id.get_ref<const std::string&>().empty())) {
    return make_error(400, "chat_id is empty");
  }
  return std::nullopt;
}

Check check_bot_commands(const json& commands) {
  if (!commands.is_array()) return make_error(400, "Expected an Array of BotCommand");
  if (commands.size() > kMaxBotCommands) return make_error(400, "BOT_COMMANDS_TOO_MUCH");  // wording unconfirmed
  for (const json& c : commands) {
    if (!c.is_object()) return make_error(400, "Can't parse BotCommand: expected an Object");
    for (const char* key : {"command", "description"}) {
      auto it = c.find(key);
      if (it == c.end())
        return make_error(400, std::string("Can't parse BotCommand: Can't find field \"") + key + "\"");
      if (!it->is_string()) {
        return make_error(400, std::string("Can't parse BotCommand: Field \"") + key + "\" must be of type String");
      }
    }
    std::string_view command = trim(c["command"].get_ref<const std::string&>());
    if (!command.empty() && command.front() == '/') command.remove_prefix(1);
    const std::string_view description = trim(c["description"].get_ref<const std::string&>());
    if (command.empty()) return make_error(400, "Command must be non-empty");
    if (code_point_length(command) > kMaxCommandLength) return make_error(400, "Command length must not exceed 32");
    if (description.empty()) return make_error(400, "Command description must be non-empty");
    if (code_point_length(description) > kMaxCommandDescription) {
      return make_error(400, "Command description length must not exceed 256");
    }
    for (char ch : command) {
      if (!is_command_char(ch)) return make_error(400, "BOT_COMMAND_INVALID");  // wording unconfirmed
    }
  }
  return std::nullopt;
}

Check check_description(std::string_view description) {
  if (code_point_length(description) > kMaxDescription) return make_error(400, "description is too long");
  return std::nullopt;
}

Check check_short_description(std::string_view short_description) {
  if (code_point_length(short_description) > kMaxShortDescription) {
    return make_error(400, "short description is too long");
  }
  return std::nullopt;
}

Check check_secret_token(std::string_view token) {
  if (token.size() > kMaxSecretToken) return make_error(400, "secret token is too long");
  for (char c : token) {
    if (!is_token_char(c)) return make_error(400, "secret token contains unallowed characters");
  }
  return std::nullopt;
}

Check check_stars_invoice(const StarsInvoice& inv) {
  if (inv.title.empty()) return required_parameter("title");
  if (inv.description.empty()) return required_parameter("description");
  if (inv.payload.empty()) return required_parameter("payload");
  if (inv.currency.empty()) return required_parameter("currency");
  if (inv.prices == nullptr || inv.prices->is_null()) return required_parameter("prices");
  // Over-length wordings below are not in the reference (unconfirmed).
  if (code_point_length(inv.title) > kMaxInvoiceTitle) return make_error(400, "invoice title is too long");
  if (code_point_length(inv.description) > kMaxInvoiceDescription) {
    return make_error(400, "invoice description is too long");
  }
  if (!is_valid_utf8(inv.payload)) return make_error(400, "The payload must be encoded in UTF-8");
  if (inv.payload.size() > kMaxInvoicePayloadBytes) return make_error(400, "invoice payload is too long");
  if (inv.currency != "XTR") return make_error(400, "PAYMENT_PROVIDER_INVALID");  // no provider token: Stars only
  const json& prices = *inv.prices;
  if (!prices.is_array()) return make_error(400, "Expected an Array of labeled prices");
  if (prices.empty()) return make_error(400, "There must be at least one price");
  for (const json& p : prices) {
    if (auto problem = labeled_price_problem(p)) return make_error(400, "Can't parse labeled price: " + *problem);
  }
  if (prices.size() != 1) return make_error(400, "STARS_INVOICE_INVALID");  // wording unconfirmed
  const std::int64_t amount = prices[0]["amount"].get<std::int64_t>();
  if (amount <= 0) return make_error(400, "CURRENCY_TOTAL_AMOUNT_INVALID");  // wording unconfirmed
  if (inv.subscription_period) {
    if (*inv.subscription_period != kStarsSubscriptionPeriod) return make_error(400, "SUBSCRIPTION_PERIOD_INVALID");
    if (amount > kMaxStarsSubscriptionPrice) return make_error(400, "SUBSCRIPTION_PRICE_INVALID");
  }
  return std::nullopt;
}

Check check_pre_checkout_answer(bool ok, std::string_view error_message) {
  if (!ok && error_message.empty()) return required_parameter("error_message");
  return std::nullopt;
}

LimitError required_parameter(std::string_view name) {
  return make_error(400, "Parameter \"" + std::string(name) + "\" is required");
}

}  // namespace ms::telegram::limits
