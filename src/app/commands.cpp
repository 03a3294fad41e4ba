// `mothership migrate` and `mothership tenant ...`.
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/app.hpp"
#include "app/runtime.hpp"
#include "core/clock.hpp"
#include "domain/package_json.hpp"
#include "storage/package_repository.hpp"

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
  std::cout << "tenant " << id << " created (schema v"
            << storage::Storage::latest_version(storage::DatabaseKind::kTenant) << ", "
            << storage::to_string(rt->storage->backend()) << ")\n";
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

int packages_list(const Config& config) {
  auto rt = open_runtime(config);
  if (!rt) return report_failure("packages list", rt.error());
  auto packages = storage::PackageRepository(rt->storage->master()).list();
  if (!packages) return report("packages list", packages.error());
  std::cout << domain::packages_to_json(*packages).dump(2) << "\n";
  return 0;
}

int packages_import(const Config& config, const std::string& file) {
  std::ifstream in(file);
  if (!in) return report("packages import", Error{ErrorCode::kNotFound, "cannot read " + file}, 2);
  std::stringstream text;
  text << in.rdbuf();
  auto json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded())
    return report("packages import", Error{ErrorCode::kInvalidArgument, file + " is not JSON"}, 2);
  auto packages = domain::packages_from_json(json);
  if (!packages) return report("packages import: nothing changed", packages.error(), 2);
  auto rt = open_runtime(config);
  if (!rt) return report_failure("packages import", rt.error());
  auto written =
      storage::PackageRepository(rt->storage->master()).upsert_all(*packages, SystemClock::instance().unix_seconds());
  if (!written) return report("packages import: nothing changed", written.error());
  std::cout << *written << " packages written\n";
  return 0;
}

}  // namespace ms::app
