// Storage: opening, migrating, and the tenant registry and cache.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "storage/migrations/migrations.hpp"
#include "storage/storage_impl.hpp"

namespace ms::storage {

namespace {

std::string tenant_name(std::int64_t id) { return "tenant " + std::to_string(id); }

Result<void> check_id(std::int64_t id) {
  if (id <= 0) return fail(ErrorCode::kInvalidArgument, "tenant id must be positive");
  return ok();
}

}  // namespace

Result<std::unique_ptr<Storage>> Storage::open(const StorageOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->clock = options.clock ? options.clock : &SystemClock::instance();
  impl->workers =
      std::make_shared<WorkerPool>(options.workers, static_cast<std::size_t>(std::max(options.worker_queue, 1)));
  const std::string& url = options.url;
  Result<std::unique_ptr<detail::Engine>> engine =
      (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
          ? detail::make_postgres_engine(options, impl->workers)
          : detail::make_sqlite_engine(options, impl->workers);
  if (!engine) return fail(std::move(engine.error()));
  impl->engine = std::move(*engine);
  impl->master = impl->engine->master();
  return std::unique_ptr<Storage>(new Storage(std::move(impl)));
}

Storage::Storage(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Storage::~Storage() {
  // Queued async work still uses the databases: let it finish first.
  impl_->workers->shutdown();
}

Backend Storage::backend() const { return impl_->engine->backend(); }
Database& Storage::master() { return *impl_->master; }

int Storage::latest_version(DatabaseKind kind) {
  const auto& list = kind == DatabaseKind::kMaster ? migrations::master() : migrations::tenant();
  return list.empty() ? 0 : list.back().version;
}

Result<MigrationReport> Storage::migrate() {
  MigrationReport report;
  auto m = migrations::apply(*impl_->master, migrations::master(), *impl_->clock);
  if (!m) return fail(std::move(m.error()));
  report.master_version = m->version;
  report.applied += m->applied;
  report.tenant_version = latest_version(DatabaseKind::kTenant);

  auto ids = list_tenants();
  if (!ids) return fail(std::move(ids.error()));
  for (std::int64_t id : *ids) {
    auto db = tenant(id);
    if (!db) {
      report.tenant_failures.emplace_back(id, db.error());
      continue;
    }
    auto t = migrations::apply(**db, migrations::tenant(), *impl_->clock);
    if (!t) {
      report.tenant_failures.emplace_back(id, t.error());
      continue;
    }
    report.applied += t->applied;
    ++report.tenants;
  }
  return report;
}

Result<bool> Storage::Impl::registered(std::int64_t id) {
  return master->with_session([&](Session& s) -> Result<bool> {
    auto row = s.query_one("SELECT id FROM tenants WHERE id = :id", {{"id", id}});
    if (!row) return fail(std::move(row.error()));
    return row->has_value();
  });
}

Result<std::shared_ptr<detail::PooledDatabase>> Storage::Impl::tenant_locked(std::int64_t id) {
  if (auto it = open.find(id); it != open.end()) {
    it->second.last_used = ++use_counter;
    return it->second.db;
  }
  auto known = registered(id);
  if (!known) return fail(std::move(known.error()));
  if (!*known) return fail(ErrorCode::kNotFound, tenant_name(id) + " does not exist");
  auto db = engine->open_tenant(id);
  if (!db) {
    // Registered but without storage: something deleted it behind our back.
    if (db.error().code == ErrorCode::kNotFound) {
      return fail(ErrorCode::kCorrupted, tenant_name(id) + " is registered but its database is missing");
    }
    return fail(std::move(db.error()));
  }
  trim_locked();
  open[id] = Open{*db, ++use_counter};
  return *db;
}

void Storage::Impl::trim_locked() {
  if (engine->backend() != Backend::kSqlite) return;  // PostgreSQL tenants share one pool
  const auto limit = static_cast<std::size_t>(std::max(options.max_open_tenants, 1));
  while (open.size() >= limit) {
    auto victim = open.end();
    for (auto it = open.begin(); it != open.end(); ++it) {
      if (it->second.db.use_count() > 1) continue;  // someone is using it
      if (victim == open.end() || it->second.last_used < victim->second.last_used) victim = it;
    }
    if (victim == open.end()) return;  // all in use: allow more than the limit
    open.erase(victim);
  }
}

Result<std::shared_ptr<Database>> Storage::create_tenant(std::int64_t id) {
  if (auto r = check_id(id); !r) return fail(std::move(r.error()));
  std::lock_guard lock(impl_->tenants_mutex);
  auto known = impl_->registered(id);
  if (!known) return fail(std::move(known.error()));
  if (*known) return fail(ErrorCode::kAlreadyExists, tenant_name(id) + " already exists");
  if (auto r = impl_->engine->create_tenant_store(id); !r) return fail(std::move(r.error()));
  auto db = impl_->engine->open_tenant(id);
  if (!db) return fail(std::move(db.error()));
  auto migrated = migrations::apply(**db, migrations::tenant(), *impl_->clock);
  if (migrated) {
    auto reg = impl_->master->with_session([&](Session& s) -> Result<void> {
      auto r = s.exec("INSERT INTO tenants (id, status, created_at) VALUES (:id, 'active', :t)",
                      {{"id", id}, {"t", impl_->clock->unix_seconds()}});
      if (!r) return fail(std::move(r.error()));
      return ok();
    });
    if (reg) {
      impl_->trim_locked();
      impl_->open[id] = Impl::Open{*db, ++impl_->use_counter};
      return std::shared_ptr<Database>(*db);
    }
    migrated = fail(std::move(reg.error()));
  }
  // Leave nothing half-made behind.
  (void)impl_->engine->drop_tenant_store(id, db->get());
  return fail(std::move(migrated.error()));
}

Result<std::shared_ptr<Database>> Storage::tenant(std::int64_t id) {
  if (auto r = check_id(id); !r) return fail(std::move(r.error()));
  std::lock_guard lock(impl_->tenants_mutex);
  auto db = impl_->tenant_locked(id);
  if (!db) return fail(std::move(db.error()));
  return std::shared_ptr<Database>(*db);
}

Result<std::vector<std::int64_t>> Storage::list_tenants() {
  return impl_->master->with_session([](Session& s) -> Result<std::vector<std::int64_t>> {
    auto rows = s.query("SELECT id FROM tenants ORDER BY id");
    if (!rows) return fail(std::move(rows.error()));
    std::vector<std::int64_t> ids;
    for (const Row& r : *rows) ids.push_back(r.get_int("id"));
    return ids;
  });
}

Result<void> Storage::erase_tenant(std::int64_t id) {
  if (auto r = check_id(id); !r) return fail(std::move(r.error()));
  std::lock_guard lock(impl_->tenants_mutex);
  auto known = impl_->registered(id);
  if (!known) return fail(std::move(known.error()));
  if (!*known) return fail(ErrorCode::kNotFound, tenant_name(id) + " does not exist");
  // Unregister first (one transaction): a failure then leaves the tenant whole, and a
  // failed drop below leaves only unreachable storage, never a registered tenant without it.
  auto unregistered = impl_->master->transaction([&](Session& s) -> Result<void> {
    auto u = s.exec("UPDATE customers SET tenant_id = NULL WHERE tenant_id = :id", {{"id", id}});
    if (!u) return fail(std::move(u.error()));
    auto d = s.exec("DELETE FROM tenants WHERE id = :id", {{"id", id}});
    if (!d) return fail(std::move(d.error()));
    return ok();
  });
  if (!unregistered) return fail(std::move(unregistered.error()));
  std::shared_ptr<detail::PooledDatabase> handle;
  if (auto it = impl_->open.find(id); it != impl_->open.end()) {
    handle = it->second.db;
    impl_->open.erase(it);
  }
  return impl_->engine->drop_tenant_store(id, handle.get());
}

}  // namespace ms::storage
