// PanelRepository: a tenant's panels (`panels` table) with their credentials encrypted at
// rest: the password and the cached access token are SecretBox envelopes in password_enc and
// access_token_enc, decrypted only into crypto::Secret values (which never print).
// Works on SQLite and PostgreSQL alike. Thread-safe as far as its Database is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto/secret.hpp"
#include "core/crypto/secret_box.hpp"
#include "http/client.hpp"
#include "panels/marzban/marzban.hpp"
#include "panels/panel.hpp"
#include "storage/storage.hpp"

namespace ms::panels {

struct PanelRecord {
  std::int64_t id = 0;  // set by insert
  std::string name;     // the owner's name for it; unique per tenant
  std::string kind = "marzban";
  std::string base_url;
  std::string username;
  crypto::Secret password;
  crypto::Secret access_token;  // empty: none cached
  http::TlsPolicy::Mode tls_mode = http::TlsPolicy::Mode::kVerify;
  std::string tls_pin;  // SHA-256 fingerprint for kPinned
  std::optional<std::int64_t> max_users;
  bool enabled = true;
  bool healthy = true;
  std::optional<std::int64_t> last_health_at;
  std::string version;
  std::string last_error;  // PanelError::describe() of the last failure; never a secret
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

class PanelRepository {
 public:
  PanelRepository(storage::Database& db, const crypto::SecretBox& box) : db_(db), box_(box) {}

  // Success: the new id. kAlreadyExists when the name is taken; kInvalidArgument for a
  // pinned panel without a valid fingerprint.
  Result<std::int64_t> insert(const PanelRecord& panel, std::int64_t now);
  // Success: the panel (secrets decrypted) or nullopt. kCorrupted if a secret cannot be
  // opened with the keyring.
  Result<std::optional<PanelRecord>> get(std::int64_t id);
  Result<std::vector<PanelRecord>> list();
  // Keeps the panel's newest login token (encrypted). kNotFound.
  Result<void> save_token(std::int64_t id, const crypto::Secret& token, std::int64_t now);
  // New login details; the cached token is dropped. kNotFound.
  Result<void> set_credentials(std::int64_t id, const std::string& username, const crypto::Secret& password,
                               std::int64_t now);
  // Records what a call or health check saw: up/down, version, last error. kNotFound.
  Result<void> record_health(std::int64_t id, const HealthState& health, std::int64_t now);
  // Only panels that are enabled and healthy get new sales.
  Result<std::vector<std::int64_t>> sellable_ids();
  Result<void> remove(std::int64_t id);

 private:
  Result<PanelRecord> from_row(const storage::Row& r) const;

  storage::Database& db_;
  const crypto::SecretBox& box_;
};

// MarzbanOptions for a stored panel: URL, login, TLS, the cached token, and an on_login that
// stores each new token in `repo` (encrypted).
MarzbanOptions marzban_options(const PanelRecord& panel, PanelRepository& repo, const Clock& clock);

std::string_view to_string(http::TlsPolicy::Mode mode);  // verify | insecure | pinned
std::optional<http::TlsPolicy::Mode> parse_tls_mode(std::string_view text);

}  // namespace ms::panels
