// `mothership backup`, `restore` and `secrets rotate`: the commands that rewrite or copy
// everything, so each is careful to leave the old state whole until the new one is.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/app.hpp"
#include "app/runtime.hpp"
#include "core/crypto/atomic_file.hpp"
#include "core/crypto/backup_stream.hpp"
#include "core/crypto/secret_box.hpp"
#include "domain/package.hpp"
#include "storage/package_repository.hpp"

namespace ms::app {
namespace {

namespace fs = std::filesystem;

std::string utc_stamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Keys retired by `secrets rotate` live beside the key file, so archives made before a
// rotation can still be restored.
std::string retired_key_file(const Config& config) { return config.effective_secret_key_file() + ".retired"; }

// The dump of every database, encrypted with the primary key, written atomically.
Result<std::size_t> write_archive(Runtime& rt, const std::string& path) {
  auto dump = rt.storage->dump_all();
  if (!dump) return fail(dump.error());
  std::string sealed = crypto::encrypt_bytes(dump->dump(), rt.keyring->primary_key());
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  auto writer = crypto::AtomicFileWriter::open(path);
  if (!writer) return fail(writer.error());
  if (auto w = writer->write(sealed); !w) return fail(w.error());
  if (auto c = writer->commit(); !c) return fail(c.error());
  return sealed.size();
}

// Keeps the newest `keep` scheduled archives (mothership-*.msbk) in dir.
void prune_archives(const std::string& dir, int keep) {
  std::vector<fs::path> archives;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    if (name.rfind("mothership-", 0) == 0 && entry.path().extension() == ".msbk") archives.push_back(entry.path());
  }
  std::sort(archives.begin(), archives.end());  // names sort by time
  for (std::size_t i = 0; i + keep < archives.size(); ++i) fs::remove(archives[i], ec);
}

// Brings every stored secret to the keyring's primary key. Success: how many were looked at.
Result<std::int64_t> reencrypt_secrets(storage::Storage& storage, const crypto::Keyring& keys) {
  crypto::SecretBox box(keys);
  return storage.rewrite_secrets([&](const storage::SecretColumn&, const std::string& old) -> Result<std::string> {
    if (!box.needs_rotation(old)) return old;
    return box.reencrypt(old);
  });
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, "cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// True when the installation holds nothing a restore would lose: no tenants, and in the
// master only installation settings and the untouched default packages.
bool installation_empty(storage::Storage& storage, std::string& what) {
  auto tenants = storage.list_tenants();
  if (tenants && !tenants->empty()) {
    what = std::to_string(tenants->size()) + " tenants";
    return false;
  }
  auto dump = storage.dump_all();
  if (!dump) return true;
  std::size_t rows = 0;
  for (const auto& [table, list] : (*dump)["master"]["tables"].items())
    if (table != "meta" && table != "packages") rows += list.size();
  if (rows > 0) {
    what = std::to_string(rows) + " rows in the master database";
    return false;
  }
  auto packages = storage::PackageRepository(storage.master()).list();
  if (packages && !packages->empty() && *packages != domain::default_packages()) {
    what = "edited packages";
    return false;
  }
  return true;
}

}  // namespace

int backup(const Config& config, const std::optional<std::string>& output) {
  auto rt = open_runtime(config);
  if (!rt) return report_failure("backup", rt.error());
  const std::string dir = config.effective_backup_dir();
  const std::string path = output ? *output : dir + "/mothership-" + utc_stamp() + ".msbk";
  auto written = write_archive(*rt, path);
  if (!written) return report("backup failed, nothing replaced", written.error());
  if (!output) prune_archives(dir, config.backup_keep);
  std::cout << "backup written: " << path << " (" << *written << " bytes, encrypted with key "
            << rt->keyring->primary_id() << ")\n";
  return 0;
}

int restore(const Config& config, const std::string& archive, bool force) {
  auto rt = open_runtime(config);
  if (!rt) return report_failure("restore", rt.error());
  auto sealed = read_file(archive);
  if (!sealed) return report("restore", sealed.error());
  // Current keys, then keys retired by rotation: they open archives made before it.
  crypto::Keyring keys = *rt->keyring;
  if (auto retired = crypto::load_key_file(retired_key_file(config)); retired) {
    for (const auto& id : retired->key_ids()) keys.add_primary(*retired->find(id));
    keys.add_primary(rt->keyring->primary_key());
  }
  auto plain = crypto::decrypt_bytes(*sealed, keys);
  if (!plain)
    return report("restore: " + archive + " is damaged or was made with another key; nothing changed", plain.error());
  nlohmann::json dump = nlohmann::json::parse(*plain, nullptr, false);
  if (dump.is_discarded() || !dump.is_object())
    return report("restore",
                  Error{ErrorCode::kCorrupted, archive + " does not hold a Mothership dump; nothing changed"});

  // Refuse what restore_all would refuse before anything is cleared.
  const int master_version = storage::Storage::latest_version(storage::DatabaseKind::kMaster);
  if (dump.value("format", "") != "mothership-dump" || !dump.contains("master") || !dump["master"].is_object() ||
      dump["master"].value("schema_version", -1) != master_version)
    return report("restore", Error{ErrorCode::kInvalidArgument,
                                   archive + " is not a dump of master schema v" + std::to_string(master_version) +
                                       " (made by another version of mothership?); nothing changed"});
  std::string what;
  if (!installation_empty(*rt->storage, what)) {
    if (!force)
      return report("restore", Error{ErrorCode::kConflict, "this installation already holds data (" + what +
                                                               "); add --force to replace it (a safety backup "
                                                               "of the current data is written first)"});
    const std::string safety = config.effective_backup_dir() + "/pre-restore-" + utc_stamp() + ".msbk";
    if (auto saved = write_archive(*rt, safety); !saved)
      return report("restore: cannot write the safety backup; nothing changed", saved.error());
    std::cout << "safety backup of the current data: " << safety << "\n";
  }
  // Even an "empty" installation holds its settings and seeded packages: the archive's win.
  if (auto cleared = rt->storage->clear_all(); !cleared) return report("restore", cleared.error());
  if (auto restored = rt->storage->restore_all(dump); !restored)
    return report("restore failed (the safety backup, if any, holds the previous data)", restored.error());
  // Secrets in the archive may be under a retired key: bring them to the current key, and
  // make the key check this installation's again.
  auto rewritten = reencrypt_secrets(*rt->storage, keys);
  if (!rewritten) return report("restore: re-encrypting secrets", rewritten.error());
  if (auto w = write_meta(rt->storage->master(), kKeyCheckMeta, crypto::make_key_check(*rt->keyring)); !w)
    return report("restore", w.error());
  std::size_t tenants = dump.contains("tenants") ? dump["tenants"].size() : 0;
  std::cout << "restored " << archive << ": master and " << tenants << " tenants\n";
  return 0;
}

int secrets_rotate(const Config& config) {
  if (!config.secret_key.empty())
    return report("secrets rotate",
                  Error{ErrorCode::kInvalidArgument,
                        "MOTHERSHIP_SECRET_KEY is set; rotation rewrites the key file. Unset it, point "
                        "MOTHERSHIP_SECRET_KEY_FILE at a file holding that key, and run rotate again"},
                  2);
  auto rt = open_runtime(config);
  if (!rt) return report_failure("secrets rotate", rt.error());
  const std::string path = config.effective_secret_key_file();
  crypto::Keyring ring = *rt->keyring;
  const auto old_ids = ring.key_ids();
  ring.add_primary(crypto::generate_key());
  // 1. The key file holds the new primary and the old keys: every value stays readable
  //    whatever happens next, and running rotate again finishes the job.
  if (auto saved = crypto::save_key_file(path, ring); !saved) return report("secrets rotate", saved.error());
  // 2. Re-encrypt every secret, then the key check.
  auto count = reencrypt_secrets(*rt->storage, ring);
  if (!count) return report("secrets rotate stopped (run it again to finish)", count.error());
  if (auto w = write_meta(rt->storage->master(), kKeyCheckMeta, crypto::make_key_check(ring)); !w)
    return report("secrets rotate stopped (run it again to finish)", w.error());
  // 3. Retire the old keys: kept apart for restoring older archives, gone from daily use.
  crypto::Keyring retired = *rt->keyring;
  if (auto old_retired = crypto::load_key_file(retired_key_file(config)); old_retired)
    for (const auto& id : old_retired->key_ids()) retired.add_primary(*old_retired->find(id));
  for (const auto& id : rt->keyring->key_ids()) retired.add_primary(*rt->keyring->find(id));
  if (auto saved = crypto::save_key_file(retired_key_file(config), retired); !saved)
    return report("secrets rotate", saved.error());
  for (const auto& id : old_ids)
    if (id != ring.primary_id()) (void)ring.remove(id);
  if (auto saved = crypto::save_key_file(path, ring); !saved) return report("secrets rotate", saved.error());
  std::cout << "new key " << ring.primary_id() << " in " << path << "; " << *count
            << " secrets re-encrypted; old keys retired to " << retired_key_file(config)
            << " (needed only to restore archives made before now)\n";
  return 0;
}

}  // namespace ms::app
