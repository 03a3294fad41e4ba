// Logical export, dump and restore, and secret rotation.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "storage/migrations/migrations.hpp"
#include "storage/storage_impl.hpp"

namespace ms::storage {

namespace {

using nlohmann::json;

constexpr std::string_view kDumpFormat = "mothership-dump";
constexpr int kDumpFormatVersion = 1;

json to_json(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return nullptr;
}

Result<Value> from_json(const json& j) {
  if (j.is_null()) return Value{};
  if (j.is_number_integer()) return Value{j.get<std::int64_t>()};
  if (j.is_number_float()) return Value{j.get<double>()};
  if (j.is_string()) return Value{j.get<std::string>()};
  if (j.is_boolean()) return Value{std::int64_t{j.get<bool>() ? 1 : 0}};
  return fail(ErrorCode::kInvalidArgument, "dump holds a value that is not a column value");
}

}  // namespace

Result<json> Storage::Impl::export_database(detail::PooledDatabase& db) {
  return db.snapshot([&](Session& s) -> Result<json> {
    auto version = migrations::current_version(s);
    if (!version) return fail(std::move(version.error()));
    auto tables = engine->list_tables(s);
    if (!tables) return fail(std::move(tables.error()));
    json out = {{"schema_version", *version}, {"tables", json::object()}};
    for (const std::string& table : *tables) {
      if (!detail::is_identifier(table)) return fail(ErrorCode::kInternal, "unexpected table name in " + db.name());
      auto columns = engine->list_columns(s, table);
      if (!columns) return fail(std::move(columns.error()));
      std::string order;
      for (std::size_t i = 1; i <= columns->size(); ++i) order += (i > 1 ? ", " : "") + std::to_string(i);
      auto rows = s.query("SELECT * FROM " + table + (order.empty() ? "" : " ORDER BY " + order));
      if (!rows) return fail(std::move(rows.error()));
      json list = json::array();
      for (const Row& r : *rows) {
        json obj = json::object();
        for (std::size_t i = 0; i < r.size(); ++i) obj[r.column_name(i)] = to_json(r.at(i));
        list.push_back(std::move(obj));
      }
      out["tables"][table] = std::move(list);
    }
    return out;
  });
}

Result<void> Storage::Impl::load_database(detail::PooledDatabase& db, const json& data) {
  if (!data.is_object() || !data.contains("tables") || !data["tables"].is_object()) {
    return fail(ErrorCode::kInvalidArgument, "dump of " + db.name() + " has no tables");
  }
  return db.transaction([&](Session& s) -> Result<void> {
    auto version = migrations::current_version(s);
    if (!version) return fail(std::move(version.error()));
    if (data.value("schema_version", -1) != *version) {
      return fail(ErrorCode::kInvalidArgument, "dump of " + db.name() + " has schema version " +
                                                   std::to_string(data.value("schema_version", -1)) +
                                                   ", this database has " + std::to_string(*version));
    }
    auto tables = engine->list_tables(s);
    if (!tables) return fail(std::move(tables.error()));
    if (auto d = engine->defer_foreign_keys(s); !d) return fail(std::move(d.error()));
    for (const auto& [table, rows] : data["tables"].items()) {
      if (std::find(tables->begin(), tables->end(), table) == tables->end() || !rows.is_array()) {
        return fail(ErrorCode::kInvalidArgument, "dump of " + db.name() + " has an unknown table");
      }
      for (const json& row : rows) {
        if (!row.is_object()) return fail(ErrorCode::kInvalidArgument, "dump row is not an object");
        std::string cols, marks;
        Params params;
        for (const auto& [column, value] : row.items()) {
          if (!detail::is_identifier(column)) return fail(ErrorCode::kInvalidArgument, "dump has a bad column name");
          auto v = from_json(value);
          if (!v) return fail(std::move(v.error()));
          std::string name = "p" + std::to_string(params.size());
          cols += (cols.empty() ? "" : ", ") + column;
          marks += (marks.empty() ? ":" : ", :") + name;
          params.push_back({std::move(name), std::move(*v)});
        }
        auto r = s.exec("INSERT INTO " + table + " (" + cols + ") VALUES (" + marks + ")", params);
        if (!r) return fail(r.error().code, db.name() + ", table " + table + ": " + r.error().message);
      }
      if (auto a = engine->after_load(s, table); !a) return fail(std::move(a.error()));
    }
    return ok();
  });
}

Result<json> Storage::export_tenant(std::int64_t id) {
  auto db = tenant(id);
  if (!db) return fail(std::move(db.error()));
  auto data = impl_->export_database(static_cast<detail::PooledDatabase&>(**db));
  if (!data) return fail(std::move(data.error()));
  (*data)["tenant"] = id;
  return data;
}

Result<void> Storage::export_tenant_to_file(std::int64_t id, const std::string& path) {
  auto data = export_tenant(id);
  if (!data) return fail(std::move(data.error()));
  std::string text;
  try {
    text = data->dump(2);
  } catch (const json::exception&) {
    return fail(ErrorCode::kCorrupted, "tenant " + std::to_string(id) + " holds text that is not valid UTF-8");
  }
  // Write beside the target and rename, so a crash never leaves half an export.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text << '\n';
    out.flush();
    if (!out) return fail(ErrorCode::kUnavailable, "cannot write export file");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return fail(ErrorCode::kUnavailable, "cannot move export file into place");
  }
  return ok();
}

Result<json> Storage::dump_all() {
  auto master_data = impl_->export_database(*impl_->master);
  if (!master_data) return fail(std::move(master_data.error()));
  json out = {{"format", kDumpFormat},
              {"format_version", kDumpFormatVersion},
              {"master", std::move(*master_data)},
              {"tenants", json::array()}};
  auto ids = list_tenants();
  if (!ids) return fail(std::move(ids.error()));
  for (std::int64_t id : *ids) {
    auto t = export_tenant(id);
    if (!t) return fail(std::move(t.error()));
    out["tenants"].push_back(std::move(*t));
  }
  return out;
}

Result<void> Storage::restore_all(const json& dump) {
  if (!dump.is_object() || dump.value("format", "") != kDumpFormat ||
      dump.value("format_version", 0) != kDumpFormatVersion || !dump.contains("master") || !dump.contains("tenants") ||
      !dump["tenants"].is_array()) {
    return fail(ErrorCode::kInvalidArgument, "not a mothership dump of format version 1");
  }
  // Only into an empty storage: merging would silently mix two histories. `meta` holds
  // only installation settings (such as the key check), which the dump's replace.
  auto empty = impl_->master->snapshot([&](Session& s) -> Result<bool> {
    auto tables = impl_->engine->list_tables(s);
    if (!tables) return fail(std::move(tables.error()));
    for (const std::string& t : *tables) {
      if (t == "meta") continue;
      auto row = s.query_one("SELECT 1 AS one FROM " + t + " LIMIT 1");
      if (!row) return fail(std::move(row.error()));
      if (*row) return false;
    }
    return true;
  });
  if (!empty) return fail(std::move(empty.error()));
  if (!*empty) return fail(ErrorCode::kConflict, "restore needs an empty, migrated storage");

  for (const json& t : dump["tenants"]) {
    if (!t.is_object() || !t.contains("tenant") || !t["tenant"].is_number_integer() ||
        t["tenant"].get<std::int64_t>() <= 0) {
      return fail(ErrorCode::kInvalidArgument, "dump has a tenant without a valid id");
    }
  }
  auto meta_cleared = impl_->master->with_session([](Session& s) -> Result<void> {
    auto d = s.exec("DELETE FROM meta");
    if (!d) return fail(std::move(d.error()));
    return ok();
  });
  if (!meta_cleared) return meta_cleared;
  if (auto r = impl_->load_database(*impl_->master, dump["master"]); !r) return r;

  std::lock_guard lock(impl_->tenants_mutex);
  for (const json& t : dump["tenants"]) {
    const auto id = t["tenant"].get<std::int64_t>();
    if (auto r = impl_->engine->create_tenant_store(id); !r) return r;
    auto db = impl_->engine->open_tenant(id);
    if (!db) return fail(std::move(db.error()));
    auto migrated = migrations::apply(**db, migrations::tenant(), *impl_->clock);
    if (!migrated) return fail(std::move(migrated.error()));
    if (auto r = impl_->load_database(**db, t); !r) return r;
  }
  return ok();
}

Result<void> Storage::clear_all() {
  auto ids = list_tenants();
  if (!ids) return fail(std::move(ids.error()));
  for (std::int64_t id : *ids) {
    if (auto r = erase_tenant(id); !r) return r;
  }
  return impl_->master->transaction([&](Session& s) -> Result<void> {
    auto tables = impl_->engine->list_tables(s);
    if (!tables) return fail(std::move(tables.error()));
    if (auto d = impl_->engine->defer_foreign_keys(s); !d) return fail(std::move(d.error()));
    for (const std::string& t : *tables) {
      if (!detail::is_identifier(t)) return fail(ErrorCode::kInternal, "unexpected table name in master");
      if (auto d = s.exec("DELETE FROM " + t); !d) return fail(std::move(d.error()));
    }
    return ok();
  });
}

const std::vector<SecretColumn>& Storage::secret_columns() {
  // By convention every secret column's name ends in _enc; a test holds the schema to it.
  static const std::vector<SecretColumn> columns = {
      {DatabaseKind::kMaster, "operators", "totp_secret_enc"},
      {DatabaseKind::kMaster, "customers", "totp_secret_enc"},
      {DatabaseKind::kMaster, "payment_gateways", "secret_enc"},
      {DatabaseKind::kMaster, "master_bot_progress", "panel_enc"},
      {DatabaseKind::kMaster, "bot_instances", "token_enc"},
      {DatabaseKind::kMaster, "bot_instances", "webhook_secret_enc"},
      {DatabaseKind::kTenant, "panels", "password_enc"},
      {DatabaseKind::kTenant, "panels", "access_token_enc"},
      {DatabaseKind::kTenant, "payment_methods", "secret_enc"},
  };
  return columns;
}

namespace {

Result<std::int64_t> rewrite_in(Database& db, DatabaseKind kind, const Storage::SecretRewriter& rewriter) {
  return db.transaction([&](Session& s) -> Result<std::int64_t> {
    std::int64_t count = 0;
    for (const SecretColumn& sc : Storage::secret_columns()) {
      if (sc.kind != kind) continue;
      auto rows = s.query("SELECT id, " + sc.column + " AS v FROM " + sc.table + " WHERE " + sc.column +
                          " IS NOT NULL ORDER BY id");
      if (!rows) return fail(std::move(rows.error()));
      for (const Row& r : *rows) {
        auto fresh = rewriter(sc, r.get_string("v"));
        if (!fresh) return fail(std::move(fresh.error()));
        auto u = s.exec("UPDATE " + sc.table + " SET " + sc.column + " = :v WHERE id = :id",
                        {{"v", std::move(*fresh)}, {"id", r.get_int("id")}});
        if (!u) return fail(std::move(u.error()));
        ++count;
      }
    }
    return count;
  });
}

}  // namespace

Result<std::int64_t> Storage::rewrite_secrets(const SecretRewriter& rewriter) {
  auto total = rewrite_in(*impl_->master, DatabaseKind::kMaster, rewriter);
  if (!total) return total;
  auto ids = list_tenants();
  if (!ids) return fail(std::move(ids.error()));
  for (std::int64_t id : *ids) {
    auto db = tenant(id);
    if (!db) return fail(std::move(db.error()));
    auto n = rewrite_in(**db, DatabaseKind::kTenant, rewriter);
    if (!n) return fail(n.error().code, "tenant " + std::to_string(id) + ": " + n.error().message);
    *total += *n;
  }
  return total;
}

}  // namespace ms::storage
