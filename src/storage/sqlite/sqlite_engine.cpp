// SQLite engine: <data_dir>/master.db and <data_dir>/tenants/<id>.db, each in WAL mode with
// its own connection pool. Writers are serialised per database (BEGIN IMMEDIATE plus an
// in-process lock); readers run in parallel with them.
//
// Checkpoints run off the request path. SQLite's own auto-checkpoint runs inside the commit
// that crossed the WAL limit, so that one request paid for copying the WAL into the file and
// its fsyncs (a big tenant's scattered pages made those the shop's slowest presses). Here a
// commit past the limit only queues a passive checkpoint on the storage workers; a commit
// finds the WAL far past the limit only if those fall behind, and then checkpoints itself.
//
// SOCI reads a column declared INTEGER through a 32-bit int, so schemas declare every
// integer BIGINT except the INTEGER PRIMARY KEY row ids.
#include <atomic>
#include <filesystem>
#include <system_error>

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>  // declares the sqlite3 C API in namespace sqlite_api
#include <spdlog/spdlog.h>

#include "storage/pool.hpp"

namespace ms::storage::detail {

namespace {

namespace fs = std::filesystem;
using namespace sqlite_api;

constexpr int kBusyTimeoutMs = 10'000;
constexpr int kTenantPoolMax = 4;
constexpr int kCheckpointPages = 1000;         // SQLite's own default limit
constexpr int kInlineCheckpointPages = 16000;  // ~64 MB of WAL: the workers fell behind

// One database file's background checkpoints: at most one queued at a time.
struct Checkpointer {
  std::weak_ptr<ConnectionPool> pool;
  std::shared_ptr<WorkerPool> workers;
  std::atomic<bool> queued{false};

  void run() {
    queued = false;  // commits from here on may ask again
    auto p = pool.lock();
    if (!p) return;  // the database was closed meanwhile
    auto conn = p->acquire();
    if (!conn) return;  // busy or gone: the next commit past the limit asks again
    auto* backend = static_cast<soci::sqlite3_session_backend*>((*conn)->sql->get_backend());
    int rc = sqlite3_wal_checkpoint_v2(backend->conn_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) spdlog::warn("sqlite checkpoint: {}", sqlite3_errstr(rc));
    p->release(std::move(*conn));
  }

  // sqlite3_wal_hook: called after each commit with the WAL's size in pages.
  static int on_commit(void* self, sqlite3* db, const char* name, int pages) {
    auto* c = static_cast<Checkpointer*>(self);
    if (pages >= kInlineCheckpointPages || (pages >= kCheckpointPages && !c->queue())) {
      sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    return SQLITE_OK;
  }

  // False when it could not be queued (the caller checkpoints itself).
  bool queue() {
    if (!workers) return false;
    if (queued.exchange(true)) return true;
    auto self = self_ref.lock();
    if (!self || !workers->post([self] { self->run(); })) {
      queued = false;
      return false;
    }
    return true;
  }
  std::weak_ptr<Checkpointer> self_ref;
};

Result<std::unique_ptr<soci::session>> connect_sqlite(const std::string& path, Checkpointer* checkpointer) {
  std::unique_ptr<soci::session> sql;
  try {
    sql = std::make_unique<soci::session>(*soci::factory_sqlite3(), "db=\"" + path + "\"");
  } catch (const soci::sqlite3_soci_error& e) {
    return fail(map_sqlite_error(e.result(), e.get_error_message()));
  } catch (const std::exception& e) {
    return fail(ErrorCode::kUnavailable, std::string("cannot open database file: ") + e.what());
  }
  auto* backend = static_cast<soci::sqlite3_session_backend*>(sql->get_backend());
  sqlite3* db = backend->conn_;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // journal_mode is the first statement that reads the file: garbage fails here.
  // mmap_size: pages are read from the OS's cache in place, not copied in by a read() each;
  // a big tenant's working set is larger than the default 2 MB page cache, and without it
  // every miss cost a system call (the shop bench's 100k-user tenant was 15-30% slower).
  for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL",
                             "PRAGMA mmap_size = 268435456"}) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, pragma, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return fail(map_sqlite_error(sqlite3_extended_errcode(db), msg));
    }
  }
  // Replaces SQLite's auto-checkpoint (itself a WAL hook) with the background one.
  if (checkpointer) sqlite3_wal_hook(db, &Checkpointer::on_commit, checkpointer);
  return sql;
}

class SqliteEngine final : public Engine {
 public:
  SqliteEngine(const StorageOptions& options, fs::path master_path, fs::path tenant_dir,
               std::shared_ptr<WorkerPool> workers)
      : pool_size_(options.pool_size),
        master_path_(std::move(master_path)),
        tenant_dir_(std::move(tenant_dir)),
        workers_(std::move(workers)) {}

  Result<void> open() {
    std::error_code ec;
    fs::create_directories(master_path_.parent_path(), ec);
    if (!ec) fs::create_directories(tenant_dir_, ec);
    if (ec) return fail(ErrorCode::kUnavailable, "cannot create data directory: " + ec.message());
    auto pool = make_pool(master_path_, pool_size_);
    // Open one connection now so that a bad master file fails at start-up.
    auto first = pool->acquire();
    if (!first) return fail(first.error().code, "master database: " + first.error().message);
    pool->release(std::move(*first));
    master_ = std::make_shared<PooledDatabase>(PooledDatabase::Config{Backend::kSqlite, "master", "", pool, workers_});
    return ok();
  }

  Backend backend() const override { return Backend::kSqlite; }
  std::shared_ptr<PooledDatabase> master() override { return master_; }

  Result<void> create_tenant_store(std::int64_t id) override {
    fs::path path = tenant_path(id);
    std::error_code ec;
    if (fs::exists(path, ec)) return fail(ErrorCode::kAlreadyExists, tenant_name(id) + " already has a database file");
    auto sql = connect_sqlite(path.string(), nullptr);  // creates the file
    if (!sql) return fail(sql.error().code, tenant_name(id) + ": " + sql.error().message);
    return ok();
  }

  Result<std::shared_ptr<PooledDatabase>> open_tenant(std::int64_t id) override {
    fs::path path = tenant_path(id);
    std::error_code ec;
    if (!fs::exists(path, ec)) return fail(ErrorCode::kNotFound, tenant_name(id) + " has no database file");
    auto pool = make_pool(path, std::min(pool_size_, kTenantPoolMax));
    auto first = pool->acquire();
    if (!first) {
      auto code = first.error().code == ErrorCode::kInternal ? ErrorCode::kCorrupted : first.error().code;
      return fail(code, tenant_name(id) + " database cannot be opened: " + first.error().message);
    }
    pool->release(std::move(*first));
    return std::make_shared<PooledDatabase>(
        PooledDatabase::Config{Backend::kSqlite, tenant_name(id), "", std::move(pool), workers_});
  }

  Result<void> drop_tenant_store(std::int64_t id, PooledDatabase* open_handle) override {
    if (open_handle) open_handle->retire();
    fs::path path = tenant_path(id);
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      fs::remove(fs::path(path.string() + suffix), ec);
      if (ec) return fail(ErrorCode::kUnavailable, "cannot delete " + tenant_name(id) + " file: " + ec.message());
    }
    return ok();
  }

  Result<std::vector<std::string>> list_tables(Session& s) override {
    auto rows = s.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name <> 'schema_migrations' ORDER BY name");
    if (!rows) return fail(std::move(rows.error()));
    std::vector<std::string> out;
    for (const Row& r : *rows) out.push_back(r.get_string("name"));
    return out;
  }

  Result<std::vector<std::string>> list_columns(Session& s, const std::string& table) override {
    if (!is_identifier(table)) return fail(ErrorCode::kInvalidArgument, "bad table name");
    auto rows = s.query("SELECT name FROM pragma_table_info('" + table + "') ORDER BY cid");
    if (!rows) return fail(std::move(rows.error()));
    std::vector<std::string> out;
    for (const Row& r : *rows) out.push_back(r.get_string("name"));
    return out;
  }

  Result<void> defer_foreign_keys(Session& s) override {
    auto r = s.exec("PRAGMA defer_foreign_keys = ON");
    if (!r) return fail(std::move(r.error()));
    return ok();
  }

  Result<void> after_load(Session&, const std::string&) override {
    return ok();  // AUTOINCREMENT already tracks the largest id inserted
  }

 private:
  std::shared_ptr<ConnectionPool> make_pool(const fs::path& path, int size) {
    auto checkpointer = std::make_shared<Checkpointer>();
    checkpointer->workers = workers_;
    checkpointer->self_ref = checkpointer;
    auto pool = std::make_shared<ConnectionPool>(
        [p = path.string(), checkpointer] { return connect_sqlite(p, checkpointer.get()); }, size);
    checkpointer->pool = pool;
    return pool;
  }
  fs::path tenant_path(std::int64_t id) const { return tenant_dir_ / (std::to_string(id) + ".db"); }
  static std::string tenant_name(std::int64_t id) { return "tenant " + std::to_string(id); }

  int pool_size_;
  fs::path master_path_;
  fs::path tenant_dir_;
  std::shared_ptr<WorkerPool> workers_;
  std::shared_ptr<PooledDatabase> master_;
};

}  // namespace

Result<std::unique_ptr<Engine>> make_sqlite_engine(const StorageOptions& options, std::shared_ptr<WorkerPool> workers) {
  fs::path master_path;
  fs::path tenant_dir;
  const std::string& url = options.url;
  if (url.empty() || url == "sqlite:" || url == "sqlite://") {
    if (options.data_dir.empty()) return fail(ErrorCode::kInvalidArgument, "SQLite storage needs a data_dir");
    master_path = fs::path(options.data_dir) / "master.db";
    tenant_dir = fs::path(options.data_dir) / "tenants";
  } else if (url.rfind("sqlite://", 0) == 0) {
    master_path = url.substr(std::string_view("sqlite://").size());
    if (!master_path.is_absolute()) {
      return fail(ErrorCode::kInvalidArgument, "sqlite url needs an absolute path: sqlite:///abs/path/master.db");
    }
    tenant_dir =
        options.data_dir.empty() ? master_path.parent_path() / "tenants" : fs::path(options.data_dir) / "tenants";
  } else {
    return fail(ErrorCode::kInvalidArgument, "unsupported database url scheme (sqlite: or postgresql://)");
  }
  auto engine = std::make_unique<SqliteEngine>(options, master_path, tenant_dir, std::move(workers));
  if (auto r = engine->open(); !r) return fail(std::move(r.error()));
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace ms::storage::detail
