// PackageRepository: the platform packages (Starter / Professional / Enterprise ...) in the
// master database. Packages are data the operator edits, not code: defaults are seeded once
// into an empty table, and from then on the rows are the truth.
// Thread-safe as far as its Database is; holds no state of its own.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "domain/package.hpp"
#include "storage/storage.hpp"

namespace ms::storage {

class PackageRepository {
 public:
  explicit PackageRepository(Database& master) : db_(master) {}

  // Every package, active or not, in the operator's order.
  Result<std::vector<domain::Package>> list();
  // Success: the package with this code, or nullopt.
  Result<std::optional<domain::Package>> get(std::string_view code);
  // Validates every package, then inserts or updates each by code in one transaction, in
  // the given order; packages not named are left as they are (retire one with active=false:
  // existing subscribers keep it). Failure: kInvalidArgument naming the package and field.
  // Success: how many were written.
  Result<std::size_t> upsert_all(std::span<const domain::Package> packages, std::int64_t now);
  // Inserts domain::default_packages() when there is no package at all.
  // Success: true if it inserted them.
  Result<bool> seed_defaults(std::int64_t now);

 private:
  Database& db_;
};

}  // namespace ms::storage
