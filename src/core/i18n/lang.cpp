#include "core/i18n/lang.hpp"

namespace ms::i18n {

std::string_view to_string(Lang lang) {
  switch (lang) {
    case Lang::kFa: return "fa";
    case Lang::kEn: return "en";
  }
  return "en";
}

namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::optional<Lang> parse_lang(std::string_view tag) {
  const auto sep = tag.find_first_of("-_");
  const std::string_view primary = tag.substr(0, sep);
  // A separator must be followed by a region/script, otherwise "fa-" is malformed.
  if (sep != std::string_view::npos && sep + 1 >= tag.size()) return std::nullopt;
  if (iequals(primary, "fa")) return Lang::kFa;
  if (iequals(primary, "en")) return Lang::kEn;
  return std::nullopt;
}

bool is_rtl(Lang lang) { return lang == Lang::kFa; }

}  // namespace ms::i18n
