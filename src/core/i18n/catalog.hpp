// Catalog: the texts Mothership shows to people, per language, with white-label overrides.
//
// A template is plain text with named placeholders: "Upgrade to sell to more than {limit}
// users". render() substitutes arguments by name; "{{" and "}}" stand for literal braces. A
// placeholder with no argument stays visible as "{name}" so that a missing value shows up in
// review instead of crashing or silently vanishing.
//
// Lookup order for render(lang, key): override(lang) -> default(lang) -> override(en) ->
// default(en) -> the key itself. Defaults are compiled in (default_messages.hpp) and shared by
// every Catalog; each owner's bot gets its own Catalog holding only that owner's overrides.
//
// Thread safety: every method may be called concurrently with any other. Reads (render,
// lookup, has) take a shared lock and run in parallel; set_override, clear_override and
// load_json take an exclusive lock, so a render concurrent with an update sees either the old
// or the new text, never a torn one. Updates are rare (an owner editing texts), so the lock is
// uncontended in practice.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "core/i18n/lang.hpp"
#include "core/result.hpp"

namespace ms::i18n {

// Placeholder name -> value.
using Args = std::map<std::string, std::string>;

// Substitutes `{name}` placeholders of `tmpl` from `args` (see the file comment). Placeholder
// names are ASCII letters, digits, '_' and '.'; any other brace is copied as is.
std::string format_template(std::string_view tmpl, const Args& args);

class Catalog {
 public:
  // A catalog with the compiled-in defaults and no overrides.
  Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // Replaces the text of `key` in `lang` for this catalog only. The key need not exist in
  // the defaults (owners may add their own texts).
  void set_override(Lang lang, std::string key, std::string text);

  // Drops an override; returns false if there was none.
  bool clear_override(Lang lang, std::string_view key);

  // Imports overrides from a JSON object of key -> text. Nested objects are flattened with '.'
  // ({"error": {"not_found": "..."}} sets "error.not_found"). All or nothing: fails with
  // kInvalidArgument (and changes nothing) if the text is not JSON, not an object, or holds a
  // value that is neither a string nor an object, or an empty key. Returns the number of texts set.
  Result<std::size_t> load_json(Lang lang, std::string_view json);

  // The template for `key` in exactly `lang` (override, else default), without fallback.
  std::optional<std::string> lookup(Lang lang, std::string_view key) const;
  bool has(Lang lang, std::string_view key) const;

  // The text for `key` with `args` substituted, following the lookup order above. Never fails.
  std::string render(Lang lang, std::string_view key, const Args& args = {}) const;

  std::size_t override_count(Lang lang) const;

 private:
  using Texts = std::map<std::string, std::string, std::less<>>;

  // Caller holds mutex_ (shared is enough).
  std::optional<std::string_view> find_locked(Lang lang, std::string_view key) const;

  mutable std::shared_mutex mutex_;
  std::array<Texts, 2> overrides_;  // indexed by Lang
};

}  // namespace ms::i18n
