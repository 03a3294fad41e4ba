// ConnectionPool and PooledDatabase: borrowing connections, transactions and retries.
#include "storage/pool.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include <soci/soci.h>

namespace ms::storage::detail {

namespace {

constexpr auto kAcquireWait = std::chrono::seconds(30);
constexpr int kTransactionAttempts = 6;

// Databases this thread is inside a transaction of: nesting one on the same database
// would wait for itself (SQLite's writer lock, or the last pooled connection).
thread_local std::vector<const Database*> t_open_transactions;

std::string_view begin_sql(Backend backend, Access access) {
  if (backend == Backend::kSqlite) return access == Access::kTransaction ? "BEGIN IMMEDIATE" : "BEGIN";
  return access == Access::kTransaction ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
}

void backoff(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  int base_ms = 2 << attempt;  // 4, 8, 16, 32, 64 ms
  std::uniform_int_distribution<int> jitter(0, base_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(base_ms + jitter(rng)));
}

}  // namespace

Connection::~Connection() = default;

bool is_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

ConnectionPool::ConnectionPool(Connect connect, int max_size)
    : connect_(std::move(connect)), max_size_(std::max(max_size, 1)) {}

Result<std::unique_ptr<Connection>> ConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  if (!freed_.wait_for(lock, kAcquireWait, [this] { return !idle_.empty() || open_ < max_size_; })) {
    return fail(ErrorCode::kUnavailable, "no database connection free within 30 s (pool exhausted)");
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }
  ++open_;
  lock.unlock();
  auto sql = connect_();
  if (!sql) {
    lock.lock();
    --open_;
    lock.unlock();
    freed_.notify_one();
    return fail(std::move(sql.error()));
  }
  auto conn = std::make_unique<Connection>();
  conn->sql = std::move(*sql);
  return conn;
}

void ConnectionPool::release(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard lock(mutex_);
    if (conn->broken) {
      --open_;
    } else {
      idle_.push_back(std::move(conn));
    }
  }
  freed_.notify_one();
  // a broken connection is closed here, outside the lock
}

void ConnectionPool::close_idle() {
  std::vector<std::unique_ptr<Connection>> closing;
  {
    std::lock_guard lock(mutex_);
    closing.swap(idle_);
    open_ -= static_cast<int>(closing.size());
  }
  freed_.notify_all();
}

std::size_t ConnectionPool::idle_count() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

PooledDatabase::PooledDatabase(Config config) : config_(std::move(config)) {}

void PooledDatabase::retire() {
  retired_ = true;
  if (config_.backend == Backend::kSqlite) config_.pool->close_idle();
}

Result<void> PooledDatabase::post(std::function<void()> task) { return config_.workers->post(std::move(task)); }

Result<void> PooledDatabase::ping() {
  return run(Access::kSession, [](Session& s) -> Result<void> {
    auto r = s.query("SELECT 1 AS one");
    if (!r) return fail(std::move(r.error()));
    return ok();
  });
}

Result<void> PooledDatabase::run(Access access, const Body& body) {
  if (retired_) return fail(ErrorCode::kNotFound, config_.name + " was erased");
  if (access == Access::kSession) return run_once(access, body);
  if (std::find(t_open_transactions.begin(), t_open_transactions.end(), this) != t_open_transactions.end()) {
    return fail(ErrorCode::kInternal, "nested transaction on " + config_.name);
  }
  for (int attempt = 0;; ++attempt) {
    Result<void> r = run_once(access, body);
    if (r || r.error().code != ErrorCode::kConflict || attempt + 1 >= kTransactionAttempts) return r;
    backoff(attempt);
  }
}

Result<void> PooledDatabase::run_once(Access access, const Body& body) {
  auto acquired = config_.pool->acquire();
  if (!acquired) return fail(std::move(acquired.error()));
  // Returns the connection to the pool on every path, exceptions included.
  struct Lease {
    ConnectionPool& pool;
    std::unique_ptr<Connection> conn;
    ~Lease() { pool.release(std::move(conn)); }
  } lease{*config_.pool, std::move(*acquired)};
  Connection& conn = *lease.conn;
  SociSession session(conn, config_.backend);

  if (!config_.schema.empty() && conn.search_path != config_.schema) {
    auto set = session.exec("SET search_path TO " + config_.schema);
    if (!set) return fail(std::move(set.error()));
    conn.search_path = config_.schema;
  }
  if (access == Access::kSession) return body(session);

  std::unique_lock<std::mutex> writer;
  if (config_.backend == Backend::kSqlite && access == Access::kTransaction) {
    writer = std::unique_lock(write_mutex_);
  }
  auto begun = session.exec(begin_sql(config_.backend, access));
  if (!begun) return fail(std::move(begun.error()));

  struct Marker {
    const Database* db;
    Marker(const Database* d) : db(d) { t_open_transactions.push_back(d); }
    ~Marker() { t_open_transactions.erase(std::find(t_open_transactions.begin(), t_open_transactions.end(), db)); }
  };
  Result<void> r;
  try {
    Marker marker(this);
    r = body(session);
  } catch (...) {
    if (!session.exec("ROLLBACK")) conn.broken = true;
    throw;
  }
  if (r) {
    auto committed = session.exec("COMMIT");
    if (committed) return ok();
    r = fail(std::move(committed.error()));
  }
  // A failed COMMIT may leave the transaction open (SQLite busy): end it either way.
  if (!session.exec("ROLLBACK")) conn.broken = true;
  return r;
}

}  // namespace ms::storage::detail
