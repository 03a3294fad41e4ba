#include "panels/panel_repository.hpp"

#include <spdlog/spdlog.h>

namespace ms::panels {

using storage::Row;
using storage::Session;
using storage::Value;

namespace {

constexpr std::string_view kColumns =
    "id, name, kind, base_url, username, password_enc, access_token_enc, tls_mode, tls_pin, max_users, enabled, "
    "healthy, last_health_at, version, last_error, created_at, updated_at";

Value opt(const std::optional<std::int64_t>& v) { return v ? Value{*v} : Value{}; }
Value opt_text(const std::string& v) { return v.empty() ? Value{} : Value{v}; }

Result<void> expect_one(Result<std::int64_t> changed, std::int64_t id) {
  if (!changed) return fail(std::move(changed.error()));
  if (*changed == 0) return fail(ErrorCode::kNotFound, "panel " + std::to_string(id) + " does not exist");
  return ok();
}

}  // namespace

std::string_view to_string(http::TlsPolicy::Mode mode) {
  switch (mode) {
    case http::TlsPolicy::Mode::kVerify: return "verify";
    case http::TlsPolicy::Mode::kInsecure: return "insecure";
    case http::TlsPolicy::Mode::kPinned: return "pinned";
  }
  return "verify";
}

std::optional<http::TlsPolicy::Mode> parse_tls_mode(std::string_view text) {
  if (text == "verify") return http::TlsPolicy::Mode::kVerify;
  if (text == "insecure") return http::TlsPolicy::Mode::kInsecure;
  if (text == "pinned") return http::TlsPolicy::Mode::kPinned;
  return std::nullopt;
}

Result<PanelRecord> PanelRepository::from_row(const Row& r) const {
  PanelRecord p;
  p.id = r.get_int("id");
  p.name = r.get_string("name");
  p.kind = r.get_string("kind");
  p.base_url = r.get_string("base_url");
  p.username = r.get_string("username");
  auto password = box_.decrypt(r.get_string("password_enc"));
  if (!password) {
    return fail(ErrorCode::kCorrupted, "panel " + std::to_string(p.id) + ": password: " + password.error().message);
  }
  p.password = crypto::Secret(std::move(*password));
  if (auto enc = r.opt_string("access_token_enc")) {
    auto token = box_.decrypt(*enc);
    // A token that cannot be opened is only a cache: log in again instead.
    if (token) p.access_token = crypto::Secret(std::move(*token));
  }
  p.tls_mode = parse_tls_mode(r.get_string("tls_mode")).value_or(http::TlsPolicy::Mode::kVerify);
  p.tls_pin = r.opt_string("tls_pin").value_or("");
  p.max_users = r.opt_int("max_users");
  p.enabled = r.get_bool("enabled");
  p.healthy = r.get_bool("healthy");
  p.last_health_at = r.opt_int("last_health_at");
  p.version = r.opt_string("version").value_or("");
  p.last_error = r.opt_string("last_error").value_or("");
  p.created_at = r.get_int("created_at");
  p.updated_at = r.get_int("updated_at");
  return p;
}

Result<std::int64_t> PanelRepository::insert(const PanelRecord& p, std::int64_t now) {
  if (p.tls_mode == http::TlsPolicy::Mode::kPinned && !http::parse_sha256_fingerprint(p.tls_pin)) {
    return fail(ErrorCode::kInvalidArgument, "a pinned panel needs the certificate's SHA-256 fingerprint");
  }
  return db_.with_session([&](Session& s) -> Result<std::int64_t> {
    auto row = s.query_one(
        "INSERT INTO panels (name, kind, base_url, username, password_enc, access_token_enc, tls_mode, tls_pin, "
        "max_users, enabled, healthy, created_at, updated_at) VALUES (:name, :kind, :url, :user, :pw, :token, :mode, "
        ":pin, :max, :enabled, 1, :now, :now) RETURNING id",
        {{"name", p.name},
         {"kind", p.kind},
         {"url", p.base_url},
         {"user", p.username},
         {"pw", box_.encrypt(p.password.reveal())},
         {"token", p.access_token.empty() ? Value{} : Value{box_.encrypt(p.access_token.reveal())}},
         {"mode", std::string(to_string(p.tls_mode))},
         {"pin", opt_text(p.tls_pin)},
         {"max", opt(p.max_users)},
         {"enabled", std::int64_t{p.enabled ? 1 : 0}},
         {"now", now}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return fail(ErrorCode::kInternal, "INSERT ... RETURNING returned no row");
    return (*row)->get_int("id");
  });
}

Result<std::optional<PanelRecord>> PanelRepository::get(std::int64_t id) {
  return db_.with_session([&](Session& s) -> Result<std::optional<PanelRecord>> {
    auto row = s.query_one("SELECT " + std::string(kColumns) + " FROM panels WHERE id = :id", {{"id", id}});
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::optional<PanelRecord>();
    auto p = from_row(**row);
    if (!p) return fail(std::move(p.error()));
    return std::optional<PanelRecord>(std::move(*p));
  });
}

Result<std::vector<PanelRecord>> PanelRepository::list() {
  return db_.with_session([&](Session& s) -> Result<std::vector<PanelRecord>> {
    auto rows = s.query("SELECT " + std::string(kColumns) + " FROM panels ORDER BY id");
    if (!rows) return fail(std::move(rows.error()));
    std::vector<PanelRecord> out;
    for (const Row& r : *rows) {
      auto p = from_row(r);
      if (!p) return fail(std::move(p.error()));
      out.push_back(std::move(*p));
    }
    return out;
  });
}

Result<void> PanelRepository::save_token(std::int64_t id, const crypto::Secret& token, std::int64_t now) {
  return db_.with_session([&](Session& s) {
    return expect_one(s.exec("UPDATE panels SET access_token_enc = :t, updated_at = :now WHERE id = :id",
                             {{"t", box_.encrypt(token.reveal())}, {"now", now}, {"id", id}}),
                      id);
  });
}

Result<void> PanelRepository::set_credentials(std::int64_t id, const std::string& username,
                                              const crypto::Secret& password, std::int64_t now) {
  return db_.with_session([&](Session& s) {
    return expect_one(s.exec("UPDATE panels SET username = :u, password_enc = :pw, access_token_enc = NULL, "
                             "updated_at = :now WHERE id = :id",
                             {{"u", username}, {"pw", box_.encrypt(password.reveal())}, {"now", now}, {"id", id}}),
                      id);
  });
}

Result<void> PanelRepository::record_health(std::int64_t id, const HealthState& h, std::int64_t now) {
  return db_.with_session([&](Session& s) {
    return expect_one(
        s.exec("UPDATE panels SET healthy = :up, last_health_at = :now, version = COALESCE(:version, version), "
               "last_error = :error, updated_at = :now WHERE id = :id",
               {{"up", std::int64_t{h.up ? 1 : 0}},
                {"now", now},
                {"version", opt_text(h.version)},
                {"error", h.last_error ? Value{h.last_error->describe()} : Value{}},
                {"id", id}}),
        id);
  });
}

Result<std::vector<std::int64_t>> PanelRepository::sellable_ids() {
  return db_.with_session([&](Session& s) -> Result<std::vector<std::int64_t>> {
    auto rows = s.query("SELECT id FROM panels WHERE enabled = 1 AND healthy = 1 ORDER BY id");
    if (!rows) return fail(std::move(rows.error()));
    std::vector<std::int64_t> out;
    for (const Row& r : *rows) out.push_back(r.get_int("id"));
    return out;
  });
}

Result<void> PanelRepository::remove(std::int64_t id) {
  return db_.with_session([&](Session& s) {
    return expect_one(s.exec("DELETE FROM panels WHERE id = :id", {{"id", id}}), id);
  });
}

MarzbanOptions marzban_options(const PanelRecord& panel, PanelRepository& repo, const Clock& clock) {
  MarzbanOptions o;
  o.base_url = panel.base_url;
  o.username = panel.username;
  o.password = panel.password;
  o.cached_token = panel.access_token;
  o.tls.mode = panel.tls_mode;
  o.tls.pin = panel.tls_pin;
  o.clock = &clock;
  const std::int64_t id = panel.id;
  o.on_login = [&repo, &clock, id](const crypto::Secret& token) {
    if (auto saved = repo.save_token(id, token, clock.unix_seconds()); !saved) {
      // Only a cache: the next start logs in again.
      spdlog::warn("panel {}: could not keep the login token: {}", id, saved.error().to_string());
    }
  };
  return o;
}

}  // namespace ms::panels
