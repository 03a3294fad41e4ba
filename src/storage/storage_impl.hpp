// Internal to storage: Storage's state, shared by storage.cpp and dump.cpp.
#pragma once

#include <map>
#include <mutex>

#include "storage/pool.hpp"

namespace ms::storage {

struct Storage::Impl {
  StorageOptions options;
  const Clock* clock = nullptr;
  std::shared_ptr<WorkerPool> workers;
  std::unique_ptr<detail::Engine> engine;
  std::shared_ptr<detail::PooledDatabase> master;

  struct Open {
    std::shared_ptr<detail::PooledDatabase> db;
    std::uint64_t last_used = 0;
  };
  std::mutex tenants_mutex;  // guards `open` and serialises create/erase
  std::map<std::int64_t, Open> open;
  std::uint64_t use_counter = 0;

  // The cached or newly opened tenant; the caller holds tenants_mutex.
  Result<std::shared_ptr<detail::PooledDatabase>> tenant_locked(std::int64_t id);
  // Whether the master registry lists the tenant.
  Result<bool> registered(std::int64_t id);
  // Closes idle, unreferenced SQLite tenants beyond max_open_tenants; holds tenants_mutex.
  void trim_locked();

  // {"schema_version":n,"tables":{...}} of one database, from one snapshot.
  Result<nlohmann::json> export_database(detail::PooledDatabase& db);
  // Loads export_database() output into an empty, migrated database in one transaction.
  Result<void> load_database(detail::PooledDatabase& db, const nlohmann::json& data);
};

}  // namespace ms::storage
