// Config: every setting of a Mothership process, read once at start-up.
//
// Sources, later ones winning: built-in defaults, the YAML file (MOTHERSHIP_CONFIG or
// --config), then MOTHERSHIP_* environment variables. The names are a contract with
// operators and tests (see config/mothership.example.yaml); keep them exactly.
// A bad value is a ConfigError naming the key and what is allowed; `serve` exits 2 on it.
// Config is a plain value: copy it freely, share it read-only between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace ms {

enum class DeployBackend { kInprocess, kProcess, kDocker, kKubernetes };
enum class LogFormat { kText, kJson };
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

std::string_view to_string(DeployBackend b);
std::string_view to_string(LogFormat f);
std::string_view to_string(LogLevel l);

struct Config {
  std::string data_dir = "./data";
  std::string database_url;  // empty: SQLite file <data_dir>/master.db
  std::string redis_url;     // empty: no Redis
  std::string http_listen = "127.0.0.1:8080";
  std::string public_url;  // empty: http://<http_listen>
  std::string telegram_api_url = "https://api.telegram.org";
  std::string master_bot_token;  // empty: sandbox mode; never logged
  std::vector<std::int64_t> operator_ids;
  std::string secret_key;       // base64 key from the environment; never logged
  std::string secret_key_file;  // empty: <data_dir>/secret.key
  DeployBackend deploy_backend = DeployBackend::kInprocess;
  LogFormat log_format = LogFormat::kText;
  LogLevel log_level = LogLevel::kInfo;
  int http_threads = 2;
  std::int64_t http_body_limit = 1 << 20;
  int db_pool_size = 8;
  int db_workers = 4;
  std::string backup_dir;  // empty: <data_dir>/backups
  int backup_keep = 14;
  // Payment gateways' API base URLs (their sandboxes or local test servers in tests).
  std::string nowpayments_api_url = "https://api.nowpayments.io";
  std::string zarinpal_api_url = "https://payment.zarinpal.com";
  std::string stripe_api_url = "https://api.stripe.com";
  std::string paypal_api_url = "https://api-m.paypal.com";
  // Panel URLs customers give may lead to loopback, private or link-local addresses (panels
  // on the operator's own network). Off: such URLs are refused (http/address_policy.hpp).
  // Sandbox mode always allows them.
  bool panels_allow_private_addresses = false;
  bool effective_panels_allow_private_addresses() const { return panels_allow_private_addresses || sandbox_mode(); }

  bool sandbox_mode() const { return master_bot_token.empty(); }
  std::string effective_secret_key_file() const;
  std::string effective_backup_dir() const;
  std::string effective_public_url() const;
  // The SQLite form of database_url when it is empty, so callers see one URL.
  std::string effective_database_url() const;
  // The settings a person may see (secrets shown as "[set]" / "[unset]"), for `doctor`.
  std::vector<std::pair<std::string, std::string>> describe() const;
};

struct ConfigError {
  std::string key;      // "MOTHERSHIP_LOG_LEVEL" or "log.level" (YAML path)
  std::string message;  // "'loud' is not allowed; use one of trace, debug, info, warn, error"
  std::string to_string() const { return key + ": " + message; }
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Loads defaults <- YAML file (if yaml_path or MOTHERSHIP_CONFIG names one) <- environment.
tl::expected<Config, ConfigError> load_config(const std::optional<std::string>& yaml_path,
                                              const EnvLookup& env = process_env());

// Checks values that depend on each other; load_config already calls it.
std::optional<ConfigError> validate(const Config& config);

}  // namespace ms
