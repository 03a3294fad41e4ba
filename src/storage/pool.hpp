// Internal to storage: SOCI connections, their pool, the Session and Database over them,
// and the per-backend Engine that Storage drives. Nothing outside src/storage includes it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/worker_pool.hpp"
#include "storage/storage.hpp"

namespace soci {
class session;
}

namespace ms::storage::detail {

struct Connection {
  std::unique_ptr<soci::session> sql;
  std::string search_path;  // PostgreSQL: the schema this connection is set to now
  bool broken = false;      // lost; dropped instead of returned to the pool
  ~Connection();
};

// Connections made on demand up to max_size; acquire waits while all are in use.
// Thread-safe.
class ConnectionPool {
 public:
  using Connect = std::function<Result<std::unique_ptr<soci::session>>()>;
  ConnectionPool(Connect connect, int max_size);

  // Failure: the connect error, or kUnavailable if none was free within the wait limit.
  Result<std::unique_ptr<Connection>> acquire();
  void release(std::unique_ptr<Connection> conn);
  // Closes idle connections (e.g. before deleting a SQLite file).
  void close_idle();
  std::size_t idle_count() const;

 private:
  Connect connect_;
  const int max_size_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
};

// Maps an exception thrown by SOCI on `conn` to an Error without parameter values, and
// marks the connection broken when it was lost.
Error map_exception(Backend backend, Connection& conn, const std::exception& e);
Error map_sqlite_error(int code, std::string_view message);
Error map_pg_error(std::string_view sqlstate, std::string_view message, bool connection_lost);

class SociSession final : public Session {
 public:
  SociSession(Connection& conn, Backend backend) : conn_(conn), backend_(backend) {}
  Backend backend() const override { return backend_; }
  Result<std::int64_t> exec(std::string_view sql, const Params& params = {}) override;
  Result<Rows> query(std::string_view sql, const Params& params = {}) override;

 private:
  Connection& conn_;
  Backend backend_;
};

// A Database over a ConnectionPool. On PostgreSQL `schema` is set as search_path on every
// borrowed connection (the pool is shared by the master and all tenants).
class PooledDatabase final : public Database {
 public:
  struct Config {
    Backend backend;
    std::string name;
    std::string schema;  // PostgreSQL only
    std::shared_ptr<ConnectionPool> pool;
    std::shared_ptr<WorkerPool> workers;
  };
  explicit PooledDatabase(Config config);

  Backend backend() const override { return config_.backend; }
  const std::string& name() const override { return config_.name; }
  Result<void> ping() override;
  // After this every call fails with kNotFound (the tenant was erased).
  void retire();
  ConnectionPool& pool() { return *config_.pool; }

 protected:
  Result<void> run(Access access, const Body& body) override;
  Result<void> post(std::function<void()> task) override;

 private:
  Result<void> run_once(Access access, const Body& body);

  Config config_;
  std::atomic<bool> retired_{false};
  std::mutex write_mutex_;  // SQLite: one writing transaction at a time, queued fairly
};

// What differs between SQLite and PostgreSQL beyond SQL execution.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual Backend backend() const = 0;
  virtual std::shared_ptr<PooledDatabase> master() = 0;
  // Creates empty storage for a tenant. Failure: kAlreadyExists.
  virtual Result<void> create_tenant_store(std::int64_t id) = 0;
  // Opens an existing tenant. Failure: kNotFound (no storage), kCorrupted (unreadable).
  virtual Result<std::shared_ptr<PooledDatabase>> open_tenant(std::int64_t id) = 0;
  // Deletes the tenant's storage; a missing one is not an error.
  virtual Result<void> drop_tenant_store(std::int64_t id, PooledDatabase* open_handle) = 0;
  // User tables of the session's database, sorted, without schema_migrations.
  virtual Result<std::vector<std::string>> list_tables(Session& s) = 0;
  virtual Result<std::vector<std::string>> list_columns(Session& s, const std::string& table) = 0;
  // Inside a transaction: check foreign keys only at commit (for loading dumps).
  virtual Result<void> defer_foreign_keys(Session& s) = 0;
  // After loading rows with explicit ids: move id generators past them.
  virtual Result<void> after_load(Session& s, const std::string& table) = 0;
};

Result<std::unique_ptr<Engine>> make_sqlite_engine(const StorageOptions& options, std::shared_ptr<WorkerPool> workers);
Result<std::unique_ptr<Engine>> make_postgres_engine(const StorageOptions& options,
                                                     std::shared_ptr<WorkerPool> workers);

// A postgresql:// URL as the key="value" string that SOCI's PostgreSQL backend takes.
Result<std::string> pg_conninfo(const std::string& url);

// True for [a-z_][a-z0-9_]*: names that are safe to put into SQL text.
bool is_identifier(std::string_view name);

}  // namespace ms::storage::detail
