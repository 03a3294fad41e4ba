#include <map>
#include <string_view>
#include <utility>

#include <sodium.h>

#include "storage/migrations/migrations.hpp"

namespace ms::storage::migrations {

namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)";

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

struct Applied {
  std::string name;
  std::string checksum;
};

Result<std::map<int, Applied>> read_applied(Session& s) {
  auto rows = s.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version");
  if (!rows) return fail(std::move(rows.error()));
  std::map<int, Applied> out;
  for (const Row& r : *rows) {
    out[static_cast<int>(r.get_int("version"))] = Applied{r.get_string("name"), r.get_string("checksum")};
  }
  return out;
}

Result<void> verify(const std::map<int, Applied>& applied, const std::vector<Migration>& list,
                    const std::string& db_name) {
  const int latest = list.empty() ? 0 : list.back().version;
  for (const auto& [version, row] : applied) {
    if (version > latest) {
      return fail(ErrorCode::kConflict, db_name + " has schema version " + std::to_string(version) +
                                            ", newer than this binary knows (" + std::to_string(latest) +
                                            "): run a newer mothership");
    }
    if (version < 1) return fail(ErrorCode::kCorrupted, db_name + ": bad schema_migrations version");
    const Migration& m = list[static_cast<std::size_t>(version - 1)];
    if (row.checksum != checksum(m.sql)) {
      return fail(ErrorCode::kCorrupted, db_name + ": migration " + std::to_string(version) + " (" +
                                             std::string(m.name) + ") was changed after it was applied");
    }
  }
  return ok();
}

}  // namespace

std::vector<std::string> render(std::string_view sql, Backend backend) {
  std::string text(sql);
  replace_all(text, "{{pk}}",
              backend == Backend::kSqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY");
  replace_all(text, "{{deferrable}}", "DEFERRABLE INITIALLY IMMEDIATE");
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = text.find(';', start);
    std::string stmt = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    // A statement only one backend needs (a rebuild of a referenced table differs) starts
    // with {{sqlite}} or {{postgres}}: kept, without the marker, for that backend only.
    const std::size_t first = stmt.find_first_not_of(" \t\r\n");
    bool keep = first != std::string::npos;
    for (auto [marker, for_backend] : {std::pair{std::string_view("{{sqlite}}"), Backend::kSqlite},
                                       std::pair{std::string_view("{{postgres}}"), Backend::kPostgres}}) {
      if (keep && stmt.compare(first, marker.size(), marker) == 0) {
        keep = backend == for_backend;
        stmt.erase(first, marker.size());
      }
    }
    if (keep) out.push_back(std::move(stmt));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string checksum(std::string_view text) {
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : hash) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Result<int> current_version(Session& s) {
  auto row = s.query_one("SELECT MAX(version) AS v FROM schema_migrations");
  if (!row) return fail(std::move(row.error()));
  if (!*row) return 0;
  return static_cast<int>((*row)->opt_int("v").value_or(0));
}

Result<Outcome> apply(Database& db, const std::vector<Migration>& list, const Clock& clock) {
  auto created = db.with_session([](Session& s) -> Result<void> {
    auto r = s.exec(kCreateTable);
    if (!r && r.error().code != ErrorCode::kAlreadyExists) return fail(std::move(r.error()));
    return ok();
  });
  if (!created) return fail(std::move(created.error()));

  auto applied = db.with_session([](Session& s) { return read_applied(s); });
  if (!applied) return fail(std::move(applied.error()));
  if (auto v = verify(*applied, list, db.name()); !v) return fail(std::move(v.error()));

  Outcome outcome;
  for (const Migration& m : list) {
    if (applied->count(m.version)) continue;
    auto step = db.transaction([&](Session& s) -> Result<bool> {
      if (s.backend() == Backend::kPostgres) {
        // Two processes migrating the same database take turns.
        auto lock = s.exec("SELECT pg_advisory_xact_lock(7270420)");
        if (!lock) return fail(std::move(lock.error()));
      }
      auto again =
          s.query_one("SELECT version FROM schema_migrations WHERE version = :v", {{"v", std::int64_t{m.version}}});
      if (!again) return fail(std::move(again.error()));
      if (*again) return false;  // another process applied it meanwhile
      for (const std::string& stmt : render(m.sql, s.backend())) {
        auto r = s.exec(stmt);
        if (!r) {
          return fail(r.error().code, db.name() + ": migration " + std::to_string(m.version) + " (" +
                                          std::string(m.name) + ") failed: " + r.error().message);
        }
      }
      auto r = s.exec("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (:v, :n, :c, :t)",
                      {{"v", std::int64_t{m.version}},
                       {"n", std::string(m.name)},
                       {"c", checksum(m.sql)},
                       {"t", clock.unix_seconds()}});
      if (!r) return fail(std::move(r.error()));
      return true;
    });
    if (!step) return fail(std::move(step.error()));
    if (*step) ++outcome.applied;
  }
  auto version = db.with_session([](Session& s) { return current_version(s); });
  if (!version) return fail(std::move(version.error()));
  outcome.version = *version;
  return outcome;
}

}  // namespace ms::storage::migrations
