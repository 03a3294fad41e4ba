// Internal to src/telegram: a small reader that walks Telegram JSON without throwing and
// remembers the first problem with its field path. Not part of the public API.
//
// Threads: a JsonContext belongs to one parse on one thread.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace ms::telegram::detail {

using Json = nlohmann::json;

struct JsonContext {
  std::optional<Error> error;

  bool failed() const { return error.has_value(); }
  void fail(const std::string& path, const std::string& what) {
    if (!error) error = Error{ErrorCode::kInvalidArgument, path + ": " + what};
  }
};

inline void read(const Json& j, JsonContext& c, const std::string& path, std::int64_t& out) {
  if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    c.fail(path, "integer out of range");
  } else if (j.is_number_integer()) {
    out = j.get<std::int64_t>();
  } else {
    c.fail(path, "expected an integer");
  }
}

inline void read(const Json& j, JsonContext& c, const std::string& path, bool& out) {
  if (j.is_boolean()) {
    out = j.get<bool>();
  } else {
    c.fail(path, "expected a boolean");
  }
}

inline void read(const Json& j, JsonContext& c, const std::string& path, std::string& out) {
  if (j.is_string()) {
    out = j.get<std::string>();
  } else {
    c.fail(path, "expected a string");
  }
}

inline void read(const Json& j, JsonContext&, const std::string&, Json& out) { out = j; }

// Reads one object's fields. Every accessor is a no-op once the context has failed.
class ObjectReader {
 public:
  ObjectReader(const Json& j, JsonContext& c, std::string path) : j_(j), c_(c), path_(std::move(path)) {
    if (!j_.is_object()) c_.fail(path_, "expected an object");
  }

  bool ok() const { return !c_.failed(); }
  const std::string& path() const { return path_; }
  std::string sub(const char* key) const { return path_ + "." + key; }

  const Json* find(const char* key) const {
    if (!j_.is_object()) return nullptr;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  bool has(const char* key) const { return find(key) != nullptr; }

  template <class T>
  void req(const char* key, T& out) {
    if (c_.failed()) return;
    const Json* v = find(key);
    if (v == nullptr) {
      c_.fail(sub(key), "required field is missing");
      return;
    }
    read(*v, c_, sub(key), out);
  }

  template <class T>
  void opt(const char* key, std::optional<T>& out) {
    if (c_.failed()) return;
    const Json* v = find(key);
    if (v == nullptr) return;
    T value{};
    read(*v, c_, sub(key), value);
    if (!c_.failed()) out = std::move(value);
  }

  // An optional boolean that means false when absent.
  void flag(const char* key, bool& out) {
    std::optional<bool> v;
    opt(key, v);
    out = v.value_or(false);
  }

  // An optional array that means empty when absent.
  template <class T>
  void list(const char* key, std::vector<T>& out) {
    if (c_.failed()) return;
    const Json* v = find(key);
    if (v == nullptr) return;
    read(*v, c_, sub(key), out);
  }

 private:
  const Json& j_;
  JsonContext& c_;
  std::string path_;
};

template <class T>
void read(const Json& j, JsonContext& c, const std::string& path, std::vector<T>& out) {
  if (!j.is_array()) {
    c.fail(path, "expected an array");
    return;
  }
  out.clear();
  out.reserve(j.size());
  for (std::size_t i = 0; i < j.size() && !c.failed(); ++i) {
    T value{};
    read(j[i], c, path + "[" + std::to_string(i) + "]", value);
    out.push_back(std::move(value));
  }
}

// Helpers for writing: optionals are omitted, flags are written only when true.
template <class T>
void put(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
inline void put_flag(Json& j, const char* key, bool v) {
  if (v) j[key] = true;
}

}  // namespace ms::telegram::detail
