// `mothership doctor`: checks what a running installation needs and says, in plain words,
// what is wrong and how to fix it. It only reads: it creates and changes nothing.
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "app/app.hpp"
#include "app/redis_check.hpp"
#include "app/runtime.hpp"
#include "core/crypto/keyring.hpp"
#include "core/crypto/secret_box.hpp"

namespace ms::app {
namespace {

namespace fs = std::filesystem;

struct Doctor {
  int failures = 0;
  void ok(std::string_view what, std::string_view detail) { std::cout << "ok    " << what << ": " << detail << "\n"; }
  void warn(std::string_view what, std::string_view detail) { std::cout << "warn  " << what << ": " << detail << "\n"; }
  void bad(std::string_view what, std::string_view detail) {
    ++failures;
    std::cout << "FAIL  " << what << ": " << detail << "\n";
  }
};

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int i = 0;
  while (bytes >= 1024 && i < 4) {
    bytes /= 1024;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", bytes, units[i]);
  return buf;
}

void check_data_dir(Doctor& d, const Config& c) {
  std::error_code ec;
  if (!fs::exists(c.data_dir, ec)) {
    d.warn("data directory", c.data_dir + " does not exist yet; `serve` or `migrate` creates it");
    return;
  }
  if (::access(c.data_dir.c_str(), W_OK) != 0) {
    d.bad("data directory", c.data_dir + " is not writable by this user; fix its owner or mode");
    return;
  }
  d.ok("data directory", c.data_dir + " is writable");
  struct statvfs fsinfo {};
  if (::statvfs(c.data_dir.c_str(), &fsinfo) != 0) {
    d.bad("disk", "cannot read free space of " + c.data_dir);
    return;
  }
  double free_bytes = static_cast<double>(fsinfo.f_bavail) * fsinfo.f_frsize;
  double total = static_cast<double>(fsinfo.f_blocks) * fsinfo.f_frsize;
  std::string detail = human_bytes(free_bytes) + " free of " + human_bytes(total);
  if (free_bytes < 100.0 * 1024 * 1024)
    d.bad("disk", detail + "; databases and backups need room: free some space");
  else if (free_bytes < 1024.0 * 1024 * 1024)
    d.warn("disk", detail + "; less than 1 GB left");
  else
    d.ok("disk", detail);
}

// Returns the keyring if it could be loaded.
std::optional<crypto::Keyring> check_key(Doctor& d, const Config& c) {
  if (!c.secret_key.empty()) {
    auto ring = crypto::Keyring::from_base64(c.secret_key);
    if (!ring) {
      d.bad("secret key", "MOTHERSHIP_SECRET_KEY is not a base64-encoded 32-byte key");
      return std::nullopt;
    }
    d.ok("secret key", "from MOTHERSHIP_SECRET_KEY (key " + ring->primary_id() + ")");
    return *ring;
  }
  const std::string path = c.effective_secret_key_file();
  auto ring = crypto::load_key_file(path);
  if (!ring) {
    if (ring.error().code == ErrorCode::kNotFound)
      d.warn("secret key", "key file " + path + " does not exist yet; the first `serve` creates it (mode 0600)");
    else
      d.bad("secret key", ring.error().message);
    return std::nullopt;
  }
  d.ok("secret key",
       "key file " + path + " (mode 0600, key " + ring->primary_id() + ", " + std::to_string(ring->size()) + " keys)");
  return *ring;
}

void check_database(Doctor& d, const Config& c, const std::optional<crypto::Keyring>& ring) {
  const std::string url = c.effective_database_url();
  const bool sqlite = c.database_url.empty() || c.database_url.rfind("sqlite:", 0) == 0;
  if (sqlite && c.database_url.empty() && !fs::exists(c.data_dir + "/master.db")) {
    d.warn("database", "SQLite " + c.data_dir + "/master.db does not exist yet; `serve` or `migrate` creates it");
    return;
  }
  storage::StorageOptions options;
  options.url = c.database_url;
  options.data_dir = c.data_dir;
  options.pool_size = 1;
  options.workers = 1;
  auto storage = storage::Storage::open(options);
  if (!storage) {
    d.bad("database", "cannot open " + c.describe()[1].second + ": " + storage.error().message);
    return;
  }
  if (auto ping = (*storage)->master().ping(); !ping) {
    d.bad("database", "does not answer: " + ping.error().message);
    return;
  }
  auto version = (*storage)->master().with_session([](storage::Session& s) -> Result<std::int64_t> {
    auto row = s.query_one("SELECT MAX(version) AS v FROM schema_migrations");
    if (!row) return fail(row.error());
    return (*row && !(*row)->is_null("v")) ? (*row)->get_int("v") : 0;
  });
  const int latest = storage::Storage::latest_version(storage::DatabaseKind::kMaster);
  std::string name = std::string(storage::to_string((*storage)->backend()));
  if (!version) {
    d.warn("database", name + " answers but holds no schema yet; run `mothership migrate`");
  } else if (*version < latest) {
    d.warn("database", name + " schema v" + std::to_string(*version) + ", this binary has v" + std::to_string(latest) +
                           "; run `mothership migrate`");
  } else if (*version > latest) {
    d.bad("database", name + " schema v" + std::to_string(*version) + " is newer than this binary (v" +
                          std::to_string(latest) + "); upgrade mothership");
  } else {
    d.ok("database", name + " answers, schema v" + std::to_string(*version) + " (up to date)");
  }
  if (version && *version > 0) {
    auto check = read_meta((*storage)->master(), kKeyCheckMeta);
    if (check && check->has_value() && ring) {
      if (auto v = crypto::verify_key_check(*ring, **check); !v)
        d.bad("secret key", "does not match the one this data was encrypted with: " + v.error().message);
      else
        d.ok("secret key", "opens the data in this database");
    }
    auto tenants = (*storage)->list_tenants();
    if (!tenants) {
      d.bad("tenants", tenants.error().message);
    } else {
      int broken = 0;
      for (auto id : *tenants) {
        auto db = (*storage)->tenant(id);
        Result<void> ping = db ? (*db)->ping() : fail(db.error());
        if (!ping) {
          ++broken;
          d.bad("tenant " + std::to_string(id), ping.error().message);
        }
      }
      if (broken == 0) d.ok("tenants", std::to_string(tenants->size()) + " open and answer");
    }
  }
}

}  // namespace

int doctor(const Config& config) {
  Doctor d;
  d.ok("configuration", "loaded and valid");
  for (const auto& [key, value] : config.describe()) std::cout << "        " << key << " = " << value << "\n";
  check_data_dir(d, config);
  auto ring = check_key(d, config);
  check_database(d, config, ring);
  if (!config.redis_url.empty()) {
    if (auto pong = redis_ping(config.redis_url, std::chrono::milliseconds(2000)); !pong)
      d.bad("redis", pong.error().message);
    else
      d.ok("redis", "answers PING");
  }
  if (config.sandbox_mode())
    d.ok("telegram", "sandbox mode (no MOTHERSHIP_MASTER_BOT_TOKEN): bots talk to the built-in emulator");
  else
    d.ok("telegram", "master bot token set; Bot API at " + config.telegram_api_url);
  std::cout << (d.failures == 0 ? "all checks passed\n" : std::to_string(d.failures) + " problem(s) found\n");
  return d.failures == 0 ? 0 : 1;
}

}  // namespace ms::app
