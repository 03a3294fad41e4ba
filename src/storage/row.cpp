// Row getters, Session::query_one and small shared helpers of storage.hpp.
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

#include "storage/storage.hpp"

namespace ms::storage {

std::string_view to_string(Backend b) { return b == Backend::kSqlite ? "sqlite" : "postgres"; }

namespace {

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

[[noreturn]] void bad_column(std::string_view column, const char* why) {
  throw std::logic_error("column '" + std::string(column) + "': " + why);
}

std::optional<std::int64_t> to_int(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) {
    if (std::trunc(*d) == *d && std::abs(*d) < 9.2e18) return static_cast<std::int64_t>(*d);
    return std::nullopt;
  }
  if (const auto* s = std::get_if<std::string>(&v)) {
    std::int64_t out = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    if (ec == std::errc() && p == s->data() + s->size()) return out;
  }
  return std::nullopt;
}

std::optional<double> to_double(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* s = std::get_if<std::string>(&v)) {
    try {
      std::size_t used = 0;
      double d = std::stod(*s, &used);
      if (used == s->size()) return d;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

std::string to_text(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, std::get<double>(v));
  return std::string(buf, p);
}

}  // namespace

Row::Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values)
    : columns_(std::move(columns)), values_(std::move(values)) {}

const Value& Row::at(std::string_view column) const {
  for (std::size_t i = 0; i < values_.size(); ++i) {
    if (same_name((*columns_)[i], column)) return values_[i];
  }
  bad_column(column, "no such column in the result");
}

bool Row::has(std::string_view column) const {
  for (const auto& c : *columns_) {
    if (same_name(c, column)) return true;
  }
  return false;
}

bool Row::is_null(std::string_view column) const { return std::holds_alternative<std::monostate>(at(column)); }

std::int64_t Row::get_int(std::string_view column) const {
  auto v = opt_int(column);
  if (!v) bad_column(column, "is NULL");
  return *v;
}

double Row::get_double(std::string_view column) const {
  auto v = opt_double(column);
  if (!v) bad_column(column, "is NULL");
  return *v;
}

std::string Row::get_string(std::string_view column) const {
  auto v = opt_string(column);
  if (!v) bad_column(column, "is NULL");
  return std::move(*v);
}

std::optional<std::int64_t> Row::opt_int(std::string_view column) const {
  const Value& v = at(column);
  if (std::holds_alternative<std::monostate>(v)) return std::nullopt;
  auto i = to_int(v);
  if (!i) bad_column(column, "is not an integer");
  return i;
}

std::optional<double> Row::opt_double(std::string_view column) const {
  const Value& v = at(column);
  if (std::holds_alternative<std::monostate>(v)) return std::nullopt;
  auto d = to_double(v);
  if (!d) bad_column(column, "is not a number");
  return d;
}

std::optional<std::string> Row::opt_string(std::string_view column) const {
  const Value& v = at(column);
  if (std::holds_alternative<std::monostate>(v)) return std::nullopt;
  return to_text(v);
}

Result<std::optional<Row>> Session::query_one(std::string_view sql, const Params& params) {
  auto rows = query(sql, params);
  if (!rows) return fail(std::move(rows.error()));
  if (rows->empty()) return std::optional<Row>();
  if (rows->size() > 1) {
    return fail(ErrorCode::kInternal, "query_one got " + std::to_string(rows->size()) + " rows");
  }
  return std::optional<Row>(std::move(rows->front()));
}

}  // namespace ms::storage
