#include "app/runtime.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/crypto/secret_box.hpp"
#include "storage/migrations/migrations.hpp"
#include "storage/package_repository.hpp"

namespace ms::app {

Result<std::unique_ptr<storage::Storage>> open_storage(const Config& config, storage::MigrationReport* out,
                                                       bool every_tenant) {
  std::error_code ec;
  // A new data directory is private: it holds customer data and the key file.
  if (std::filesystem::create_directories(config.data_dir, ec))
    std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all, ec);
  if (ec)
    return fail(ErrorCode::kUnavailable, "cannot create the data directory " + config.data_dir + ": " + ec.message());
  storage::StorageOptions options;
  options.url = config.database_url;
  options.data_dir = config.data_dir;
  options.pool_size = config.db_pool_size;
  options.workers = config.db_workers;
  auto storage = storage::Storage::open(options);
  if (!storage) return fail(storage.error());
  Result<storage::MigrationReport> report = storage::MigrationReport{};
  if (every_tenant) {
    report = (*storage)->migrate();
  } else if (auto m = storage::migrations::apply((*storage)->master(), storage::migrations::master(),
                                                 SystemClock::instance());
             m) {
    report->master_version = m->version;
    report->applied = m->applied;
    report->tenant_version = storage::Storage::latest_version(storage::DatabaseKind::kTenant);
  } else {
    report = fail(std::move(m.error()));
  }
  if (!report) return fail(report.error());
  for (const auto& [tenant, error] : report->tenant_failures)
    spdlog::error("tenant {} could not be migrated and stays unavailable: {}", tenant, error.to_string());
  if (out != nullptr) *out = *report;
  if (report->applied > 0)
    spdlog::info("migrations: {} applied (master schema {}, tenant schema {})", report->applied, report->master_version,
                 report->tenant_version);
  return std::move(*storage);
}

Result<int> migrate_tenant(storage::Storage& storage, std::int64_t tenant_id) {
  auto db = storage.tenant(tenant_id);
  if (!db) return fail(std::move(db.error()));
  auto t = storage::migrations::apply(**db, storage::migrations::tenant(), SystemClock::instance());
  if (!t) return fail(std::move(t.error()));
  return t->applied;
}

Result<std::optional<std::string>> read_meta(storage::Database& master, const std::string& key) {
  return master.with_session([&](storage::Session& s) -> Result<std::optional<std::string>> {
    auto row = s.query_one("SELECT value FROM meta WHERE key = :key", {{"key", key}});
    if (!row) return fail(row.error());
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>((*row)->get_string("value"));
  });
}

Result<void> write_meta(storage::Database& master, const std::string& key, const std::string& value) {
  return master.with_session([&](storage::Session& s) -> Result<void> {
    auto r = s.exec(
        "INSERT INTO meta (key, value, updated_at) VALUES (:key, :value, :now) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        {{"key", key}, {"value", value}, {"now", SystemClock::instance().unix_seconds()}});
    if (!r) return fail(r.error());
    return ok();
  });
}

Result<std::unique_ptr<crypto::Keyring>> open_keyring(const Config& config, storage::Database& master) {
  auto check = read_meta(master, kKeyCheckMeta);
  if (!check) return fail(check.error());

  Result<crypto::Keyring> ring = fail(ErrorCode::kInternal, "no key");
  const std::string path = config.effective_secret_key_file();
  if (!config.secret_key.empty()) {
    ring = crypto::Keyring::from_base64(config.secret_key);
    if (!ring) return fail(ErrorCode::kInvalidArgument, "MOTHERSHIP_SECRET_KEY is not a base64-encoded 32-byte key");
  } else if (check->has_value()) {
    // Data was encrypted before: never invent a new key, that would hide the real problem.
    ring = crypto::load_key_file(path);
    if (!ring && ring.error().code == ErrorCode::kNotFound)
      return fail(ErrorCode::kNotFound, "the key file " + path +
                                            " is missing, but this database holds secrets encrypted with it; "
                                            "put the key file back (from your backup) or set MOTHERSHIP_SECRET_KEY");
  } else {
    ring = crypto::load_or_create_key_file(path);
  }
  if (!ring) return fail(ring.error());

  if (check->has_value()) {
    auto verified = crypto::verify_key_check(*ring, **check);
    if (!verified)
      return fail(ErrorCode::kCorrupted,
                  "the secret key does not match the one this data was encrypted with (" +
                      (config.secret_key.empty() ? "key file " + path : std::string("MOTHERSHIP_SECRET_KEY")) +
                      "); nothing was changed");
  } else {
    auto written = write_meta(master, kKeyCheckMeta, crypto::make_key_check(*ring));
    if (!written) return fail(written.error());
  }
  return std::make_unique<crypto::Keyring>(std::move(*ring));
}

Result<void> seed_master_data(storage::Database& master) {
  auto seeded = storage::PackageRepository(master).seed_defaults(SystemClock::instance().unix_seconds());
  if (!seeded) return fail(seeded.error());
  if (*seeded) spdlog::info("packages: the default Starter, Professional and Enterprise packages were added");
  return ok();
}

Result<void> seed_sandbox_payments(storage::Database& master) {
  const std::int64_t now = SystemClock::instance().unix_seconds();
  return master.transaction([&](storage::Session& s) -> Result<void> {
    auto gateways = s.query_one("SELECT count(*) AS n FROM payment_gateways");
    if (!gateways) return fail(std::move(gateways.error()));
    if ((*gateways)->get_int("n") == 0) {
      const std::pair<const char*, const char*> kGateways[] = {
          {"card_to_card", R"({"card_number":"6037990000000000","card_holder":"Mothership Sandbox"})"},
          {"telegram_stars", R"({"invoice_title":"Mothership"})"}};
      for (const auto& [provider, config] : kGateways) {
        auto added =
            s.exec("INSERT INTO payment_gateways (provider, enabled, config, updated_at) VALUES (:p, 1, :c, :now)",
                   {{"p", std::string(provider)}, {"c", std::string(config)}, {"now", now}});
        if (!added) return fail(std::move(added.error()));
      }
      spdlog::info("sandbox: the master takes card to card and Telegram Stars (no payment gateway was set)");
    }
    // Package prices are in USD; wallets in Rial; Stars in XTR.
    const std::pair<const char*, std::int64_t> kRates[] = {{"IRR", 600'000}, {"XTR", 50}};
    for (const auto& [quote, rate] : kRates) {
      auto have = s.query_one(
          "SELECT count(*) AS n FROM exchange_rates WHERE (base = 'USD' AND quote = :q) OR (base = :q2 AND quote = "
          "'USD')",
          {{"q", std::string(quote)}, {"q2", std::string(quote)}});
      if (!have) return fail(std::move(have.error()));
      if ((*have)->get_int("n") > 0) continue;
      auto added = s.exec(
          "INSERT INTO exchange_rates (base, quote, quote_minor_per_base_major, updated_at) VALUES ('USD', :q, :r, "
          ":now)",
          {{"q", std::string(quote)}, {"r", rate}, {"now", now}});
      if (!added) return fail(std::move(added.error()));
    }
    return ok();
  });
}

StartupFailure storage_failure(Error error) {
  int code = error.code == ErrorCode::kInvalidArgument ? 2 : 1;
  return {std::move(error), code};
}

StartupFailure keyring_failure(Error error) {
  bool transient =
      error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kTimeout || error.code == ErrorCode::kInternal;
  return {std::move(error), transient ? 1 : 2};
}

tl::expected<Runtime, StartupFailure> open_runtime(const Config& config) {
  auto storage = open_storage(config);
  if (!storage) return tl::unexpected(storage_failure(storage.error()));
  auto keyring = open_keyring(config, (*storage)->master());
  if (!keyring) return tl::unexpected(keyring_failure(keyring.error()));
  if (auto seeded = seed_master_data((*storage)->master()); !seeded)
    return tl::unexpected(storage_failure(seeded.error()));
  return Runtime{config, std::move(*storage), std::move(*keyring)};
}

Result<void> write_port_file(const std::string& path, std::uint16_t port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) return fail(ErrorCode::kUnavailable, "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fail(ErrorCode::kUnavailable, "cannot write " + path + ": " + ec.message());
  return ok();
}

int report(std::string_view what, const Error& error, int exit_code) {
  std::cerr << "mothership: " << what << ": " << error.message << "\n";
  return exit_code;
}

int report_failure(std::string_view what, const StartupFailure& failure) {
  return report(what, failure.error, failure.exit_code);
}

}  // namespace ms::app
