// Storage: the one interface to Mothership's databases, over SQLite and PostgreSQL.
//
// There is one master database (customers, packages, payments, bot instances, jobs, ...) and
// one database per customer, a "tenant" (end users, plans, orders, services, wallet, ...).
// On SQLite each is a file: <data_dir>/master.db and <data_dir>/tenants/<id>.db (WAL mode).
// On PostgreSQL each is a schema of one database: `master` and `tenant_<id>`.
// The same SQL runs on both: SOCI `:name` placeholders, portable types (BIGINT, TEXT,
// DOUBLE PRECISION), `INSERT ... RETURNING id`, column names in lower snake_case. Money is
// `amount_minor BIGINT` + `currency TEXT`; timestamps are BIGINT unix seconds; binary data is
// stored as text (base64/hex) so that it survives JSON exports unchanged on both backends.
//
// Threads: Session is one connection and is not thread-safe; use it only inside the
// callback that received it. Database and Storage are thread-safe. Every call here blocks
// its thread on I/O, so code on an event loop uses Database::async, which runs the work on
// a storage worker thread and never blocks the caller.
//
// Errors are values (ms::Result). Database errors map to codes as follows:
//   unique violation                       -> kAlreadyExists
//   foreign key / CHECK / NOT NULL failure -> kInvalidArgument (message names the constraint)
//   connection lost or refused             -> kUnavailable
//   busy, locked, serialization, deadlock  -> kConflict (retriable; transaction() retries it)
//   unreadable file, bad checksum          -> kCorrupted
//   anything else                          -> kInternal
// Messages never contain parameter values: those may be secrets.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace ms::storage {

enum class Backend { kSqlite, kPostgres };
std::string_view to_string(Backend b);

// A bound parameter or a column value. Booleans are integers 0/1; NULL is monostate.
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

struct Param {
  std::string name;  // without the colon: {"id", 5} binds `:id`
  Value value;
};
using Params = std::vector<Param>;

// One result row. Column names are looked up case-insensitively (PostgreSQL folds
// unquoted names to lower case). Typed getters convert between integer, double and
// numeric text (SQLite reports computed columns such as count(*) as text). A missing
// column, or NULL / an unconvertible value in a non-optional getter, is a bug in the
// caller's SQL and throws std::logic_error.
class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values);

  std::size_t size() const { return values_.size(); }
  const std::string& column_name(std::size_t i) const { return (*columns_)[i]; }
  const Value& at(std::size_t i) const { return values_.at(i); }
  const Value& at(std::string_view column) const;
  bool has(std::string_view column) const;

  bool is_null(std::string_view column) const;
  std::int64_t get_int(std::string_view column) const;
  double get_double(std::string_view column) const;
  std::string get_string(std::string_view column) const;
  bool get_bool(std::string_view column) const { return get_int(column) != 0; }
  std::optional<std::int64_t> opt_int(std::string_view column) const;
  std::optional<double> opt_double(std::string_view column) const;
  std::optional<std::string> opt_string(std::string_view column) const;

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> values_;
};
using Rows = std::vector<Row>;

// One connection, borrowed from a Database for the duration of a callback.
class Session {
 public:
  virtual ~Session() = default;
  virtual Backend backend() const = 0;

  // Runs a statement that returns no rows. Success: the number of rows changed.
  virtual Result<std::int64_t> exec(std::string_view sql, const Params& params = {}) = 0;
  // Runs a statement that returns rows (SELECT, or INSERT/UPDATE ... RETURNING).
  virtual Result<Rows> query(std::string_view sql, const Params& params = {}) = 0;
  // Like query for statements that return at most one row. Success: the row or nullopt.
  // More than one row is a caller bug and fails with kInternal.
  Result<std::optional<Row>> query_one(std::string_view sql, const Params& params = {});
};

// How a Database runs a callback.
enum class Access {
  kSession,      // autocommit: each statement commits on its own
  kTransaction,  // read-write transaction (SQLite: BEGIN IMMEDIATE, one writer at a time)
  kSnapshot,     // read-only transaction over one consistent snapshot (PostgreSQL: REPEATABLE READ)
};

// One logical database (the master or one tenant) and its pool of connections.
// Thread-safe. Callbacks take `Session&` and return a Result<T>; the call returns it.
class Database {
 public:
  virtual ~Database() = default;
  virtual Backend backend() const = 0;
  // "master" or "tenant 42", for messages and logs.
  virtual const std::string& name() const = 0;
  // Success: a connection answered a trivial query.
  virtual Result<void> ping() = 0;

  // Runs fn on a borrowed connection, statements autocommitting. Blocks.
  template <class F>
  auto with_session(F&& fn) {
    return call(Access::kSession, fn);
  }
  // Runs fn in a transaction: commits if fn returns a value, rolls back if it returns an
  // error or throws (the exception propagates). If fn or the commit fails with kConflict
  // (busy, serialization failure, deadlock) the whole fn runs again, a few times, with
  // backoff: so fn must only touch the database. Blocks.
  template <class F>
  auto transaction(F&& fn) {
    return call(Access::kTransaction, fn);
  }
  // Runs fn in a read-only transaction that sees one consistent snapshot. Blocks.
  template <class F>
  auto snapshot(F&& fn) {
    return call(Access::kSnapshot, fn);
  }

  // Runs fn as with_session/transaction/snapshot would, on a storage worker thread, then
  // calls done(Result<T>) on that same worker thread (an HTTP handler posts the result back
  // to its own executor). An exception from fn reaches done as kInternal. Never blocks.
  // Success: the work was queued and done will be called exactly once. Failure: kUnavailable
  // when the worker queue is full or shutting down; done is then never called.
  // The Database must stay alive until done runs (hold the tenant's shared_ptr in done).
  template <class F, class Done>
  Result<void> async(Access access, F fn, Done done) {
    auto work = std::make_shared<std::pair<F, Done>>(std::move(fn), std::move(done));
    return post([this, access, work] {
      using R = decltype(this->call(access, work->first));
      R result = run_catching<R>(access, work->first);
      work->second(std::move(result));
    });
  }

 protected:
  using Body = std::function<Result<void>(Session&)>;
  // Runs body with the given access; for kTransaction also retries kConflict failures.
  virtual Result<void> run(Access access, const Body& body) = 0;
  // Queues a task on the storage worker pool. Failure: kUnavailable (queue full, stopped).
  virtual Result<void> post(std::function<void()> task) = 0;

 private:
  template <class F>
  auto call(Access access, F& fn) -> std::invoke_result_t<F&, Session&> {
    using R = std::invoke_result_t<F&, Session&>;
    using T = typename R::value_type;
    if constexpr (std::is_void_v<T>) {
      return run(access, [&fn](Session& s) -> Result<void> { return fn(s); });
    } else {
      std::optional<T> out;
      Result<void> r = run(access, [&](Session& s) -> Result<void> {
        R v = fn(s);
        if (!v) return fail(std::move(v.error()));
        out.emplace(std::move(*v));
        return ok();
      });
      if (!r) return fail(std::move(r.error()));
      return R(std::move(*out));
    }
  }

  template <class R, class F>
  R run_catching(Access access, F& fn) {
    try {
      return call(access, fn);
    } catch (const std::exception& e) {
      return fail(ErrorCode::kInternal, std::string("storage task threw: ") + e.what());
    }
  }
};

enum class DatabaseKind { kMaster, kTenant };

// A column that holds an encrypted secret. Every such table has an `id` primary key.
struct SecretColumn {
  DatabaseKind kind;
  std::string table;
  std::string column;
};

struct StorageOptions {
  // "" or "sqlite:" -> SQLite files under data_dir; "sqlite:///abs/path/master.db" -> that
  // master file (tenants under data_dir/tenants, or beside the master file if data_dir is
  // empty); "postgresql://user:pass@host:port/db" -> PostgreSQL.
  std::string url;
  std::string data_dir = "./data";
  int pool_size = 8;             // connections per SQLite database; total for PostgreSQL
  int workers = 4;               // threads that run async work
  int worker_queue = 10'000;     // async tasks waiting at most; more are refused
  int max_open_tenants = 512;    // SQLite: idle tenant databases beyond this are closed
  const Clock* clock = nullptr;  // for applied_at timestamps; nullptr = SystemClock
};

struct MigrationReport {
  int master_version = 0;
  int tenant_version = 0;
  int applied = 0;  // migrations applied, all databases together
  int tenants = 0;  // tenants that are now at tenant_version
  // Tenants that could not be migrated (e.g. a corrupted file); the others still were.
  std::vector<std::pair<std::int64_t, Error>> tenant_failures;
};

// The master database and every tenant database. Thread-safe.
class Storage {
 public:
  // Opens (creating the SQLite directory/file if needed) without migrating.
  // Failure: kInvalidArgument for a bad url, kUnavailable if PostgreSQL is unreachable,
  // kCorrupted if the master file is unreadable.
  static Result<std::unique_ptr<Storage>> open(const StorageOptions& options);
  // Waits for queued async work, then closes every connection.
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  Backend backend() const;
  Database& master();

  // Brings the master and every tenant to the newest schema; running it again is a no-op.
  // Failure (master only): kCorrupted if an applied migration's checksum changed,
  // kConflict if the database is newer than this binary. Tenant failures are reported.
  Result<MigrationReport> migrate();
  // Newest schema version this binary knows.
  static int latest_version(DatabaseKind kind);

  // Creates, migrates and registers tenant `id` (> 0). Failure: kAlreadyExists.
  Result<std::shared_ptr<Database>> create_tenant(std::int64_t id);
  // The tenant's database, opened on first use and cached. Failure: kNotFound if not
  // registered; kCorrupted (naming the tenant) if its file cannot be read; other tenants
  // are unaffected.
  Result<std::shared_ptr<Database>> tenant(std::int64_t id);
  // Registered tenant ids, ascending.
  Result<std::vector<std::int64_t>> list_tenants();
  // Deletes the tenant's file or schema and its registration. Handles still held by
  // others fail with kNotFound from then on. Failure: kNotFound.
  Result<void> erase_tenant(std::int64_t id);

  // Every row of every table of one tenant, read from one snapshot:
  // {"tenant":id,"schema_version":n,"tables":{"users":[{"id":1,...},...],...}}.
  Result<nlohmann::json> export_tenant(std::int64_t id);
  // The same, written atomically (temp file + rename) to path.
  Result<void> export_tenant_to_file(std::int64_t id, const std::string& path);

  // A logical dump of everything, backend-neutral, each database from one snapshot:
  // {"format":"mothership-dump","format_version":1,"master":{...},"tenants":[{...}]}.
  Result<nlohmann::json> dump_all();
  // Loads a dump into this storage, which must be migrated and empty (no tenants, no master
  // rows but installation settings in `meta`, which the dump's replace). Each database is
  // loaded in one transaction. Failure: kConflict (not empty),
  // kInvalidArgument (not a dump, or of another schema version).
  Result<void> restore_all(const nlohmann::json& dump);

  // Erases every tenant and deletes every row of the master database (its schema stays),
  // so restore_all can load a dump. For `restore --force` after a safety backup only.
  Result<void> clear_all();

  // Every column that holds an encrypted secret.
  static const std::vector<SecretColumn>& secret_columns();
  // Gets the new value of one secret from its old one (e.g. decrypt + re-encrypt).
  using SecretRewriter = std::function<Result<std::string>(const SecretColumn&, const std::string& old_value)>;
  // Rewrites every non-NULL secret, in one transaction per database (master, then each
  // tenant). A failure stops the rotation: databases done so far stay rewritten, so the
  // rewriter must accept values under both the old and the new key.
  // Success: the number of values rewritten.
  Result<std::int64_t> rewrite_secrets(const SecretRewriter& rewriter);

  struct Impl;

 private:
  explicit Storage(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ms::storage
