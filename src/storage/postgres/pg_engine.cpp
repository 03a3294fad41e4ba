// PostgreSQL engine: one database; the master lives in schema `master`, tenant N in schema
// `tenant_N`. One connection pool serves them all: a borrowed connection gets the
// database's schema as its search_path, so the same unqualified SQL works everywhere and a
// tenant's SQL cannot name another tenant's tables by accident.
#include <algorithm>
#include <cctype>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include "storage/pool.hpp"

namespace ms::storage::detail {

namespace {

void ignore_notice(void*, const char*) {}

}  // namespace

Result<std::string> pg_conninfo(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &err);
  if (!options) {
    PQfreemem(err);
    return fail(ErrorCode::kInvalidArgument, "malformed PostgreSQL url");
  }
  std::string out;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    // SOCI splits at whitespace and drops quotes before libpq sees the string.
    std::string value;
    for (const char* c = o->val; *c; ++c) {
      if (std::isspace(static_cast<unsigned char>(*c)) || *c == '"') {
        PQconninfoFree(options);
        return fail(ErrorCode::kInvalidArgument, std::string("PostgreSQL url parameter ") + o->keyword +
                                                     " contains a space or a double quote, which SOCI cannot pass on");
      }
      if (*c == '\\' || *c == '\'') value += '\\';
      value += *c;
    }
    if (!out.empty()) out += ' ';
    out += std::string(o->keyword) + "=" + value;
  }
  PQconninfoFree(options);
  return out;
}

namespace {

Result<std::unique_ptr<soci::session>> connect_pg(const std::string& conninfo) {
  std::unique_ptr<soci::session> sql;
  try {
    sql = std::make_unique<soci::session>(*soci::factory_postgresql(), conninfo);
  } catch (const std::exception& e) {
    // libpq's message may echo the connection string's password: keep it out.
    return fail(ErrorCode::kUnavailable, "cannot connect to PostgreSQL");
  }
  auto* backend = static_cast<soci::postgresql_session_backend*>(sql->get_backend());
  PQsetNoticeProcessor(backend->conn_, ignore_notice, nullptr);
  try {
    *sql << "SET client_min_messages = warning";
  } catch (const std::exception& e) {
    return fail(ErrorCode::kUnavailable, "PostgreSQL connection setup failed");
  }
  return sql;
}

std::string schema_of(std::int64_t id) { return "tenant_" + std::to_string(id); }
std::string tenant_name(std::int64_t id) { return "tenant " + std::to_string(id); }

class PostgresEngine final : public Engine {
 public:
  PostgresEngine(std::string conninfo, int pool_size, std::shared_ptr<WorkerPool> workers)
      : pool_(std::make_shared<ConnectionPool>([c = std::move(conninfo)] { return connect_pg(c); }, pool_size)),
        workers_(std::move(workers)) {}

  Result<void> open() {
    auto conn = pool_->acquire();
    if (!conn) return fail(std::move(conn.error()));
    SociSession s(**conn, Backend::kPostgres);
    auto r = s.exec("CREATE SCHEMA IF NOT EXISTS master");
    pool_->release(std::move(*conn));
    if (!r && r.error().code != ErrorCode::kAlreadyExists) return fail(std::move(r.error()));
    master_ = std::make_shared<PooledDatabase>(
        PooledDatabase::Config{Backend::kPostgres, "master", "master", pool_, workers_});
    return ok();
  }

  Backend backend() const override { return Backend::kPostgres; }
  std::shared_ptr<PooledDatabase> master() override { return master_; }

  Result<void> create_tenant_store(std::int64_t id) override {
    return admin([&](Session& s) -> Result<void> {
      auto r = s.exec("CREATE SCHEMA " + schema_of(id));
      if (!r) return fail(r.error().code, tenant_name(id) + ": " + r.error().message);
      return ok();
    });
  }

  Result<std::shared_ptr<PooledDatabase>> open_tenant(std::int64_t id) override {
    auto exists = admin([&](Session& s) -> Result<void> {
      auto row = s.query_one("SELECT 1 AS one FROM information_schema.schemata WHERE schema_name = :s",
                             {{"s", schema_of(id)}});
      if (!row) return fail(std::move(row.error()));
      if (!*row) return fail(ErrorCode::kNotFound, tenant_name(id) + " has no schema");
      return ok();
    });
    if (!exists) return fail(std::move(exists.error()));
    return std::make_shared<PooledDatabase>(
        PooledDatabase::Config{Backend::kPostgres, tenant_name(id), schema_of(id), pool_, workers_});
  }

  Result<void> drop_tenant_store(std::int64_t id, PooledDatabase* open_handle) override {
    if (open_handle) open_handle->retire();
    return admin([&](Session& s) -> Result<void> {
      auto r = s.exec("DROP SCHEMA IF EXISTS " + schema_of(id) + " CASCADE");
      if (!r) return fail(std::move(r.error()));
      return ok();
    });
  }

  Result<std::vector<std::string>> list_tables(Session& s) override {
    auto rows = s.query(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name");
    if (!rows) return fail(std::move(rows.error()));
    std::vector<std::string> out;
    for (const Row& r : *rows) out.push_back(r.get_string("name"));
    return out;
  }

  Result<std::vector<std::string>> list_columns(Session& s, const std::string& table) override {
    auto rows = s.query(
        "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = :t ORDER BY ordinal_position",
        {{"t", table}});
    if (!rows) return fail(std::move(rows.error()));
    std::vector<std::string> out;
    for (const Row& r : *rows) out.push_back(r.get_string("name"));
    return out;
  }

  Result<void> defer_foreign_keys(Session& s) override {
    auto r = s.exec("SET CONSTRAINTS ALL DEFERRED");
    if (!r) return fail(std::move(r.error()));
    return ok();
  }

  Result<void> after_load(Session& s, const std::string& table) override {
    if (!is_identifier(table)) return fail(ErrorCode::kInvalidArgument, "bad table name");
    auto columns = list_columns(s, table);
    if (!columns) return fail(std::move(columns.error()));
    if (std::find(columns->begin(), columns->end(), "id") == columns->end()) return ok();
    auto seq = s.query_one("SELECT pg_get_serial_sequence(:t, 'id') AS seq", {{"t", table}});
    if (!seq) return fail(std::move(seq.error()));
    if (!*seq || (*seq)->is_null("seq")) return ok();
    auto r = s.query("SELECT setval(:seq, (SELECT COALESCE(MAX(id), 0) + 1 FROM " + table + "), false) AS v",
                     {{"seq", (*seq)->get_string("seq")}});
    if (!r) return fail(std::move(r.error()));
    return ok();
  }

 private:
  // Runs fn on a pooled connection without a tenant search_path.
  template <class F>
  Result<void> admin(F fn) {
    auto conn = pool_->acquire();
    if (!conn) return fail(std::move(conn.error()));
    SociSession s(**conn, Backend::kPostgres);
    Result<void> r = fn(s);
    pool_->release(std::move(*conn));
    return r;
  }

  std::shared_ptr<ConnectionPool> pool_;
  std::shared_ptr<WorkerPool> workers_;
  std::shared_ptr<PooledDatabase> master_;
};

}  // namespace

Result<std::unique_ptr<Engine>> make_postgres_engine(const StorageOptions& options,
                                                     std::shared_ptr<WorkerPool> workers) {
  // SOCI re-parses its connect string as key=value pairs, so a URL has to be converted.
  auto conninfo = pg_conninfo(options.url);
  if (!conninfo) return fail(std::move(conninfo.error()));
  auto engine = std::make_unique<PostgresEngine>(std::move(*conninfo), options.pool_size, std::move(workers));
  if (auto r = engine->open(); !r) return fail(std::move(r.error()));
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace ms::storage::detail
