// Schema migrations: versioned, checksummed, forward-only, kept in C++ source.
//
// Each database (master, each tenant) has a schema_migrations(version, name, checksum,
// applied_at) table. The checksum is the SHA-256 of a migration's SQL text as written here
// (before dialect substitution), so editing an applied migration is detected. Migrations
// are written once for both backends; the runner substitutes:
//   {{pk}}          INTEGER PRIMARY KEY AUTOINCREMENT | BIGSERIAL PRIMARY KEY
//   {{deferrable}}  DEFERRABLE INITIALLY IMMEDIATE (both; lets restore defer FK checks)
// and a statement that starts with {{sqlite}} or {{postgres}} runs on that backend only
// (rebuilding a table other tables reference takes different steps on each).
// Statements are separated by ';' (none may contain a ';' in a literal).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "storage/storage.hpp"

namespace ms::storage::migrations {

struct Migration {
  int version;  // 1, 2, 3 ... without gaps
  std::string_view name;
  std::string_view sql;
};

const std::vector<Migration>& master();
const std::vector<Migration>& tenant();

// SQL with dialect tokens replaced, split into statements.
std::vector<std::string> render(std::string_view sql, Backend backend);
// Lower-case hex SHA-256 of text.
std::string checksum(std::string_view text);

struct Outcome {
  int version = 0;  // the database's version afterwards
  int applied = 0;  // migrations applied by this call
};

// Applies the pending migrations of `list` to db, each in its own transaction.
// Failure: kCorrupted if an applied migration's checksum differs (naming the version),
// kConflict if the database has a version this binary does not know (it is newer).
Result<Outcome> apply(Database& db, const std::vector<Migration>& list, const Clock& clock);
// The highest applied version; 0 for a database never migrated.
Result<int> current_version(Session& s);

}  // namespace ms::storage::migrations
