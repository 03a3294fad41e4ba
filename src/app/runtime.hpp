// Runtime: the parts every command needs, built from a Config in one place: the storage
// (master + tenants, migrated) and the keyring that opens the secrets stored in it.
//
// The keyring is checked against the key check stored in the master database before
// anything else is written, so a wrong key stops start-up and overwrites nothing.
#pragma once

#include <memory>
#include <string>

#include "core/config.hpp"
#include "core/crypto/keyring.hpp"
#include "core/result.hpp"
#include "storage/storage.hpp"

namespace ms::app {

struct Runtime {
  Config config;
  std::unique_ptr<storage::Storage> storage;
  std::unique_ptr<crypto::Keyring> keyring;
};

// The master meta key that holds the key check envelope.
inline constexpr const char* kKeyCheckMeta = "secret_key_check";

// Opens the storage and brings every database to the newest schema; `report`, if given,
// receives what the migration did. every_tenant = false: the master only (a process that
// serves one shop migrates its own tenant with migrate_tenant below). Failure:
// kUnavailable (database unreachable), kCorrupted, kConflict (newer schema),
// kInvalidArgument (bad URL).
Result<std::unique_ptr<storage::Storage>> open_storage(const Config& config, storage::MigrationReport* report = nullptr,
                                                       bool every_tenant = true);
// Brings one tenant database to the newest schema. Success: the migrations applied.
// Failure: kNotFound (no such tenant), kCorrupted, kConflict.
Result<int> migrate_tenant(storage::Storage& storage, std::int64_t tenant_id);

// Loads the keyring (MOTHERSHIP_SECRET_KEY, else the key file, created on first run only
// while the database holds no encrypted data) and verifies it against the stored key
// check, writing the check on first use. Failure: kCorrupted (wrong key), kNotFound (key
// file missing although data was encrypted with one), kPermissionDenied (key file mode),
// kInvalidArgument (malformed key).
Result<std::unique_ptr<crypto::Keyring>> open_keyring(const Config& config, storage::Database& master);

// Why start-up failed, and the exit code that says so: 2 when a person must change the
// configuration or the key (wrong key, bad URL, key file mode), 1 otherwise.
struct StartupFailure {
  Error error;
  int exit_code = 1;
};
StartupFailure storage_failure(Error error);
StartupFailure keyring_failure(Error error);

// Data a new installation starts with (the default packages); never overwrites edits.
Result<void> seed_master_data(storage::Database& master);

// Sandbox mode only (no master bot token: Telegram is the emulator): so a person trying the
// master bot by hand can pay for a package through real payment paths, a master with no
// payment gateways gets card to card (a sandbox card; an operator approves the receipt) and
// Telegram Stars (paid in the emulator), and the USD->IRR and USD->XTR rates the package
// prices need when none is set. Never touches gateways or rates an operator set.
Result<void> seed_sandbox_payments(storage::Database& master);

// open_storage + open_keyring + seed_master_data.
tl::expected<Runtime, StartupFailure> open_runtime(const Config& config);

// Writes the bound HTTP port to `path` atomically (tests wait for this file).
Result<void> write_port_file(const std::string& path, std::uint16_t port);

// Prints "mothership: <what>: <why>" to stderr and returns exit_code.
int report(std::string_view what, const Error& error, int exit_code = 1);
int report_failure(std::string_view what, const StartupFailure& failure);

// Reads / writes one master meta value.
Result<std::optional<std::string>> read_meta(storage::Database& master, const std::string& key);
Result<void> write_meta(storage::Database& master, const std::string& key, const std::string& value);

}  // namespace ms::app
