#include "core/config.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <map>
#include <set>

namespace ms {
namespace {

template <class E>
struct EnumName {
  std::string_view name;
  E value;
};

constexpr EnumName<DeployBackend> kBackends[] = {{"inprocess", DeployBackend::kInprocess},
                                                 {"process", DeployBackend::kProcess},
                                                 {"docker", DeployBackend::kDocker},
                                                 {"kubernetes", DeployBackend::kKubernetes}};
constexpr EnumName<LogFormat> kFormats[] = {{"text", LogFormat::kText}, {"json", LogFormat::kJson}};
constexpr EnumName<LogLevel> kLevels[] = {{"trace", LogLevel::kTrace},
                                          {"debug", LogLevel::kDebug},
                                          {"info", LogLevel::kInfo},
                                          {"warn", LogLevel::kWarn},
                                          {"error", LogLevel::kError}};

template <class E, std::size_t N>
std::string_view name_of(const EnumName<E> (&table)[N], E value) {
  for (const auto& e : table)
    if (e.value == value) return e.name;
  return "?";
}

template <class E, std::size_t N>
tl::expected<E, ConfigError> parse_enum(const EnumName<E> (&table)[N], const std::string& key,
                                        const std::string& text) {
  std::string allowed;
  for (const auto& e : table) {
    if (e.name == text) return e.value;
    if (!allowed.empty()) allowed += ", ";
    allowed += e.name;
  }
  return tl::unexpected(ConfigError{key, "'" + text + "' is not allowed; use one of " + allowed});
}

tl::expected<std::int64_t, ConfigError> parse_int(const std::string& key, const std::string& text, std::int64_t min,
                                                  std::int64_t max) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
    return tl::unexpected(ConfigError{key, "'" + text + "' is not a whole number"});
  if (v < min || v > max)
    return tl::unexpected(
        ConfigError{key, "'" + text + "' is out of range; use " + std::to_string(min) + ".." + std::to_string(max)});
  return v;
}

tl::expected<std::vector<std::int64_t>, ConfigError> parse_ids(const std::string& key, const std::string& text) {
  std::vector<std::int64_t> ids;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string part = text.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) {
      auto id = parse_int(key, part, 1, INT64_MAX);
      if (!id) return tl::unexpected(ConfigError{key, "'" + part + "' is not a Telegram user id (a positive number)"});
      ids.push_back(*id);
    }
    start = end + 1;
  }
  return ids;
}

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

// Every key a person can set, with its YAML path and environment variable. Setting a key
// is one function so YAML and environment give identical validation and messages.
using Setter = std::function<std::optional<ConfigError>(Config&, const std::string& key, const std::string& value)>;

struct Key {
  std::string yaml;
  std::string env;
  Setter set;
};

std::optional<ConfigError> as_error(const auto& expected) {
  if (expected) return std::nullopt;
  return expected.error();
}

Setter string_to(std::string Config::*field) {
  return [field](Config& c, const std::string&, const std::string& v) -> std::optional<ConfigError> {
    c.*field = v;
    return std::nullopt;
  };
}

Setter int_to(int Config::*field, int min, int max) {
  return [=](Config& c, const std::string& key, const std::string& v) -> std::optional<ConfigError> {
    auto n = parse_int(key, v, min, max);
    if (n) c.*field = static_cast<int>(*n);
    return as_error(n);
  };
}

Setter bool_to(bool Config::*field) {
  return [field](Config& c, const std::string& key, const std::string& v) -> std::optional<ConfigError> {
    if (v == "true" || v == "1" || v == "yes") {
      c.*field = true;
    } else if (v == "false" || v == "0" || v == "no") {
      c.*field = false;
    } else {
      return ConfigError{key, "'" + v + "' is not allowed; use true or false"};
    }
    return std::nullopt;
  };
}

const std::vector<Key>& keys() {
  static const std::vector<Key> k = {
      {"data_dir", "MOTHERSHIP_DATA_DIR", string_to(&Config::data_dir)},
      {"database_url", "MOTHERSHIP_DATABASE_URL", string_to(&Config::database_url)},
      {"redis_url", "MOTHERSHIP_REDIS_URL", string_to(&Config::redis_url)},
      {"http.listen", "MOTHERSHIP_HTTP_LISTEN", string_to(&Config::http_listen)},
      {"public_url", "MOTHERSHIP_PUBLIC_URL", string_to(&Config::public_url)},
      {"telegram.api_url", "MOTHERSHIP_TELEGRAM_API_URL", string_to(&Config::telegram_api_url)},
      {"telegram.master_bot_token", "MOTHERSHIP_MASTER_BOT_TOKEN", string_to(&Config::master_bot_token)},
      {"operator_ids", "MOTHERSHIP_OPERATOR_IDS",
       [](Config& c, const std::string& key, const std::string& v) {
         auto ids = parse_ids(key, v);
         if (ids) c.operator_ids = *ids;
         return as_error(ids);
       }},
      {"secret_key", "MOTHERSHIP_SECRET_KEY", string_to(&Config::secret_key)},
      {"secret_key_file", "MOTHERSHIP_SECRET_KEY_FILE", string_to(&Config::secret_key_file)},
      {"deploy.backend", "MOTHERSHIP_DEPLOY_BACKEND",
       [](Config& c, const std::string& key, const std::string& v) {
         auto b = parse_enum(kBackends, key, v);
         if (b) c.deploy_backend = *b;
         return as_error(b);
       }},
      {"log.format", "MOTHERSHIP_LOG_FORMAT",
       [](Config& c, const std::string& key, const std::string& v) {
         auto f = parse_enum(kFormats, key, v);
         if (f) c.log_format = *f;
         return as_error(f);
       }},
      {"log.level", "MOTHERSHIP_LOG_LEVEL",
       [](Config& c, const std::string& key, const std::string& v) {
         auto l = parse_enum(kLevels, key, v);
         if (l) c.log_level = *l;
         return as_error(l);
       }},
      {"http.threads", "MOTHERSHIP_HTTP_THREADS", int_to(&Config::http_threads, 1, 64)},
      {"http.body_limit_bytes", "MOTHERSHIP_HTTP_BODY_LIMIT",
       [](Config& c, const std::string& key, const std::string& v) {
         auto n = parse_int(key, v, 1024, std::int64_t{1} << 30);
         if (n) c.http_body_limit = *n;
         return as_error(n);
       }},
      {"database.pool_size", "MOTHERSHIP_DB_POOL_SIZE", int_to(&Config::db_pool_size, 1, 256)},
      {"database.workers", "MOTHERSHIP_DB_WORKERS", int_to(&Config::db_workers, 1, 256)},
      {"backup.dir", "MOTHERSHIP_BACKUP_DIR", string_to(&Config::backup_dir)},
      {"backup.keep", "MOTHERSHIP_BACKUP_KEEP", int_to(&Config::backup_keep, 1, 10000)},
      {"payments.nowpayments_api_url", "MOTHERSHIP_NOWPAYMENTS_API_URL", string_to(&Config::nowpayments_api_url)},
      {"payments.zarinpal_api_url", "MOTHERSHIP_ZARINPAL_API_URL", string_to(&Config::zarinpal_api_url)},
      {"payments.stripe_api_url", "MOTHERSHIP_STRIPE_API_URL", string_to(&Config::stripe_api_url)},
      {"payments.paypal_api_url", "MOTHERSHIP_PAYPAL_API_URL", string_to(&Config::paypal_api_url)},
      {"panels.allow_private_addresses", "MOTHERSHIP_PANELS_ALLOW_PRIVATE_ADDRESSES",
       bool_to(&Config::panels_allow_private_addresses)},
  };
  return k;
}

// Flattens YAML maps into "a.b" keys; lists become comma-separated text.
std::optional<ConfigError> flatten(const YAML::Node& node, const std::string& prefix,
                                   std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      std::string key = prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
      if (auto err = flatten(kv.second, key, out)) return err;
    }
    return std::nullopt;
  }
  if (node.IsSequence()) {
    std::string joined;
    for (const auto& item : node) {
      if (!item.IsScalar()) return ConfigError{prefix, "a list here may hold only plain values"};
      if (!joined.empty()) joined += ",";
      joined += item.as<std::string>();
    }
    out[prefix] = joined;
    return std::nullopt;
  }
  if (node.IsNull()) return std::nullopt;  // "key:" with no value keeps the default
  out[prefix] = node.as<std::string>();
  return std::nullopt;
}

bool valid_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = listen.substr(0, colon);
  std::int64_t port = 0;
  std::string p = listen.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || ptr != p.data() + p.size() || port < 0 || port > 65535) return false;
  if (host.front() == '[') return host.back() == ']' && host.size() > 2;
  return host.find(':') == std::string::npos;
}

}  // namespace

std::string_view to_string(DeployBackend b) { return name_of(kBackends, b); }
std::string_view to_string(LogFormat f) { return name_of(kFormats, f); }
std::string_view to_string(LogLevel l) { return name_of(kLevels, l); }

std::string Config::effective_secret_key_file() const {
  return secret_key_file.empty() ? data_dir + "/secret.key" : secret_key_file;
}
std::string Config::effective_backup_dir() const { return backup_dir.empty() ? data_dir + "/backups" : backup_dir; }
std::string Config::effective_public_url() const { return public_url.empty() ? "http://" + http_listen : public_url; }
std::string Config::effective_database_url() const {
  return database_url.empty() ? "sqlite://" + data_dir + "/master.db" : database_url;
}

std::vector<std::pair<std::string, std::string>> Config::describe() const {
  auto redact_url = [](const std::string& url) {
    // postgresql://user:pass@host -> postgresql://user:***@host
    auto scheme = url.find("://");
    auto at = url.find('@');
    if (scheme == std::string::npos || at == std::string::npos) return url;
    auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
  };
  std::string ids;
  for (auto id : operator_ids) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  return {
      {"MOTHERSHIP_DATA_DIR", data_dir},
      {"MOTHERSHIP_DATABASE_URL", redact_url(effective_database_url())},
      {"MOTHERSHIP_REDIS_URL", redis_url.empty() ? "[unset]" : redact_url(redis_url)},
      {"MOTHERSHIP_HTTP_LISTEN", http_listen},
      {"MOTHERSHIP_PUBLIC_URL", effective_public_url()},
      {"MOTHERSHIP_TELEGRAM_API_URL", telegram_api_url},
      {"MOTHERSHIP_MASTER_BOT_TOKEN", master_bot_token.empty() ? "[unset: sandbox mode]" : "[set]"},
      {"MOTHERSHIP_OPERATOR_IDS", ids.empty() ? "[none]" : ids},
      {"MOTHERSHIP_SECRET_KEY", secret_key.empty() ? "[unset]" : "[set]"},
      {"MOTHERSHIP_SECRET_KEY_FILE", effective_secret_key_file()},
      {"MOTHERSHIP_DEPLOY_BACKEND", std::string(to_string(deploy_backend))},
      {"MOTHERSHIP_LOG_FORMAT", std::string(to_string(log_format))},
      {"MOTHERSHIP_LOG_LEVEL", std::string(to_string(log_level))},
      {"MOTHERSHIP_NOWPAYMENTS_API_URL", nowpayments_api_url},
      {"MOTHERSHIP_ZARINPAL_API_URL", zarinpal_api_url},
      {"MOTHERSHIP_STRIPE_API_URL", stripe_api_url},
      {"MOTHERSHIP_PAYPAL_API_URL", paypal_api_url},
      {"MOTHERSHIP_PANELS_ALLOW_PRIVATE_ADDRESSES", effective_panels_allow_private_addresses() ? "true" : "false"},
  };
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::optional<ConfigError> validate(const Config& c) {
  if (c.data_dir.empty()) return ConfigError{"MOTHERSHIP_DATA_DIR", "must not be empty"};
  if (!c.database_url.empty() && !starts_with(c.database_url, "sqlite:") &&
      !starts_with(c.database_url, "postgresql://") && !starts_with(c.database_url, "postgres://"))
    return ConfigError{"MOTHERSHIP_DATABASE_URL", "'" + c.database_url.substr(0, c.database_url.find("://")) +
                                                      "://...' is not supported; use sqlite:///path/master.db or "
                                                      "postgresql://user:pass@host:port/db"};
  if (!c.redis_url.empty() && !starts_with(c.redis_url, "redis://"))
    return ConfigError{"MOTHERSHIP_REDIS_URL", "must start with redis:// (e.g. redis://127.0.0.1:6379/0)"};
  if (!valid_listen(c.http_listen))
    return ConfigError{"MOTHERSHIP_HTTP_LISTEN",
                       "'" + c.http_listen + "' is not host:port (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:80)"};
  if (!c.public_url.empty() && !starts_with(c.public_url, "http://") && !starts_with(c.public_url, "https://"))
    return ConfigError{"MOTHERSHIP_PUBLIC_URL", "must start with http:// or https://"};
  if (!starts_with(c.telegram_api_url, "http://") && !starts_with(c.telegram_api_url, "https://"))
    return ConfigError{"MOTHERSHIP_TELEGRAM_API_URL", "must start with http:// or https://"};
  for (const auto& [key, url] : {std::pair<const char*, const std::string*>{"MOTHERSHIP_NOWPAYMENTS_API_URL",
                                                                            &c.nowpayments_api_url},
                                 {"MOTHERSHIP_ZARINPAL_API_URL", &c.zarinpal_api_url},
                                 {"MOTHERSHIP_STRIPE_API_URL", &c.stripe_api_url},
                                 {"MOTHERSHIP_PAYPAL_API_URL", &c.paypal_api_url}})
    if (!starts_with(*url, "http://") && !starts_with(*url, "https://"))
      return ConfigError{key, "must start with http:// or https://"};
  if (!c.master_bot_token.empty()) {
    auto colon = c.master_bot_token.find(':');
    bool digits = colon != std::string::npos && colon > 0;
    for (std::size_t i = 0; digits && i < colon; ++i)
      digits = std::isdigit(static_cast<unsigned char>(c.master_bot_token[i]));
    if (!digits || c.master_bot_token.size() - colon - 1 < 30)
      return ConfigError{"MOTHERSHIP_MASTER_BOT_TOKEN",
                         "does not look like a bot token from @BotFather (digits, a colon, then 30+ characters)"};
  }
  return std::nullopt;
}

tl::expected<Config, ConfigError> load_config(const std::optional<std::string>& yaml_path, const EnvLookup& env) {
  Config config;
  std::optional<std::string> path = yaml_path;
  if (!path) path = env("MOTHERSHIP_CONFIG");
  if (path && !path->empty()) {
    std::map<std::string, std::string> flat;
    try {
      YAML::Node root = YAML::LoadFile(*path);
      if (!root.IsNull() && !root.IsMap())
        return tl::unexpected(ConfigError{"MOTHERSHIP_CONFIG", *path + " must hold a YAML mapping of settings"});
      if (auto err = flatten(root, "", flat)) return tl::unexpected(*err);
    } catch (const YAML::BadFile&) {
      return tl::unexpected(ConfigError{"MOTHERSHIP_CONFIG", "cannot read " + *path});
    } catch (const YAML::Exception& e) {
      return tl::unexpected(ConfigError{"MOTHERSHIP_CONFIG", *path + " is not valid YAML: " + e.what()});
    }
    for (const auto& [yaml_key, value] : flat) {
      const Key* found = nullptr;
      for (const auto& k : keys())
        if (k.yaml == yaml_key) found = &k;
      if (found == nullptr)
        return tl::unexpected(ConfigError{yaml_key, "is not a known setting (see config/mothership.example.yaml)"});
      if (auto err = found->set(config, yaml_key, value)) return tl::unexpected(*err);
    }
  }
  for (const auto& k : keys()) {
    if (auto v = env(k.env)) {
      if (auto err = k.set(config, k.env, *v)) return tl::unexpected(*err);
    }
  }
  if (auto err = validate(config)) return tl::unexpected(*err);
  return config;
}

}  // namespace ms
