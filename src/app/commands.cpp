// `mothership migrate` and `mothership tenant ...`.
#include <iostream>

#include "app/app.hpp"
#include "app/runtime.hpp"

namespace ms::app {

int migrate(const Config& config) {
  storage::MigrationReport report;
  auto storage = open_storage(config, &report);
  if (!storage) return report_failure("migrate", storage_failure(storage.error()));
  auto keyring = open_keyring(config, (*storage)->master());
  if (!keyring) return report_failure("migrate", keyring_failure(keyring.error()));
  if (report.applied == 0) {
    std::cout << "schema up to date: master v" << report.master_version << ", tenants v" << report.tenant_version
              << " (" << report.tenants << " tenants)\n";
  } else {
    std::cout << report.applied << " migrations applied: master now v" << report.master_version << ", tenants v"
              << report.tenant_version << " (" << report.tenants << " tenants)\n";
  }
  for (const auto& [tenant, error] : report.tenant_failures)
    std::cout << "tenant " << tenant << " could not be migrated: " << error.message << "\n";
  return report.tenant_failures.empty() ? 0 : 1;
}

int tenant_create(const Config& config, std::int64_t id) {
  auto rt = open_runtime(config);
  if (!rt) return report_failure("tenant create", rt.error());
  auto created = rt->storage->create_tenant(id);
  if (!created) return report("tenant create", created.error());
  std::cout << "tenant " << id << " created (schema v" << storage::Storage::latest_version(storage::DatabaseKind::kTenant)
            << ", " << storage::to_string(rt->storage->backend()) << ")\n";
  return 0;
}

int tenant_list(const Config& config) {
  auto rt = open_runtime(config);
  if (!rt) return report_failure("tenant list", rt.error());
  auto ids = rt->storage->list_tenants();
  if (!ids) return report("tenant list", ids.error());
  for (auto id : *ids) std::cout << id << "\n";
  std::cerr << ids->size() << " tenants\n";
  return 0;
}

int tenant_export(const Config& config, std::int64_t id, const std::string& output) {
  auto rt = open_runtime(config);
  if (!rt) return report_failure("tenant export", rt.error());
  auto exported = rt->storage->export_tenant_to_file(id, output);
  if (!exported) return report("tenant export", exported.error());
  std::cout << "tenant " << id << " exported to " << output << "\n";
  return 0;
}

int tenant_erase(const Config& config, std::int64_t id) {
  auto rt = open_runtime(config);
  if (!rt) return report_failure("tenant erase", rt.error());
  auto erased = rt->storage->erase_tenant(id);
  if (!erased) return report("tenant erase", erased.error());
  std::cout << "tenant " << id << " erased\n";
  return 0;
}

}  // namespace ms::app
