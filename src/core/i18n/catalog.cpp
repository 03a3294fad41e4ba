#include "core/i18n/catalog.hpp"

#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/i18n/default_messages.hpp"

namespace ms::i18n {

namespace {

std::size_t index_of(Lang lang) { return lang == Lang::kFa ? 0 : 1; }

// Built once; shared by every Catalog.
const std::unordered_map<std::string_view, const DefaultMessage*>& default_index() {
  static const auto index = [] {
    std::unordered_map<std::string_view, const DefaultMessage*> m;
    for (const DefaultMessage& msg : default_messages()) m.emplace(msg.key, &msg);
    return m;
  }();
  return index;
}

std::optional<std::string_view> find_default(Lang lang, std::string_view key) {
  const auto& index = default_index();
  const auto it = index.find(key);
  if (it == index.end()) return std::nullopt;
  const std::string_view text = lang == Lang::kFa ? it->second->fa : it->second->en;
  if (text.empty()) return std::nullopt;
  return text;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

// Walks a JSON object, collecting "a.b.c" -> text. Returns an error message or "".
std::string flatten(const nlohmann::json& node, const std::string& prefix,
                    std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& [name, value] : node.items()) {
    if (name.empty()) return fmt::format("empty key under '{}'", prefix);
    std::string key = prefix.empty() ? name : prefix + "." + name;
    if (value.is_string()) {
      out.emplace_back(std::move(key), value.get<std::string>());
    } else if (value.is_object()) {
      if (std::string err = flatten(value, key, out); !err.empty()) return err;
    } else {
      return fmt::format("value of '{}' is {}, expected a string", key, value.type_name());
    }
  }
  return {};
}

}  // namespace

std::string format_template(std::string_view tmpl, const Args& args) {
  std::string out;
  out.reserve(tmpl.size() + 16);
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const char c = tmpl[i];
    if ((c == '{' || c == '}') && i + 1 < tmpl.size() && tmpl[i + 1] == c) {
      out.push_back(c);  // "{{" or "}}"
      i += 2;
      continue;
    }
    if (c == '{') {
      std::size_t end = i + 1;
      while (end < tmpl.size() && is_name_char(tmpl[end])) ++end;
      if (end > i + 1 && end < tmpl.size() && tmpl[end] == '}') {
        const std::string name(tmpl.substr(i + 1, end - i - 1));
        if (const auto it = args.find(name); it != args.end()) {
          out.append(it->second);
        } else {
          out.append(tmpl.substr(i, end - i + 1));  // keep "{name}" visible
        }
        i = end + 1;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

Catalog::Catalog() = default;

void Catalog::set_override(Lang lang, std::string key, std::string text) {
  std::unique_lock lock(mutex_);
  overrides_[index_of(lang)].insert_or_assign(std::move(key), std::move(text));
}

bool Catalog::clear_override(Lang lang, std::string_view key) {
  std::unique_lock lock(mutex_);
  Texts& texts = overrides_[index_of(lang)];
  const auto it = texts.find(key);
  if (it == texts.end()) return false;
  texts.erase(it);
  return true;
}

Result<std::size_t> Catalog::load_json(Lang lang, std::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(ErrorCode::kInvalidArgument, "catalog import: not valid JSON");
  if (!doc.is_object()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("catalog import: expected an object of key -> text, got {}", doc.type_name()));
  }
  std::vector<std::pair<std::string, std::string>> texts;
  if (std::string err = flatten(doc, "", texts); !err.empty()) {
    return fail(ErrorCode::kInvalidArgument, "catalog import: " + err);
  }
  std::unique_lock lock(mutex_);
  Texts& target = overrides_[index_of(lang)];
  for (auto& [key, text] : texts) target.insert_or_assign(std::move(key), std::move(text));
  return texts.size();
}

std::optional<std::string_view> Catalog::find_locked(Lang lang, std::string_view key) const {
  const Texts& texts = overrides_[index_of(lang)];
  if (const auto it = texts.find(key); it != texts.end()) return std::string_view(it->second);
  return find_default(lang, key);
}

std::optional<std::string> Catalog::lookup(Lang lang, std::string_view key) const {
  std::shared_lock lock(mutex_);
  if (const auto text = find_locked(lang, key)) return std::string(*text);
  return std::nullopt;
}

bool Catalog::has(Lang lang, std::string_view key) const {
  std::shared_lock lock(mutex_);
  return find_locked(lang, key).has_value();
}

std::string Catalog::render(Lang lang, std::string_view key, const Args& args) const {
  std::shared_lock lock(mutex_);
  auto text = find_locked(lang, key);
  if (!text && lang != Lang::kEn) text = find_locked(Lang::kEn, key);
  // The key itself is the last resort: visible, and searchable in the code.
  return format_template(text ? *text : key, args);
}

std::size_t Catalog::override_count(Lang lang) const {
  std::shared_lock lock(mutex_);
  return overrides_[index_of(lang)].size();
}

}  // namespace ms::i18n
