// Panel: one VPN panel (Marzban today; Marzneshin and PasarGuard later, as other dialects
// behind this interface) as the shop bots see it: accounts of end users, the panel's
// inbounds and stats, and its health.
//
// Every answer is a value: the typed result, or a PanelError whose kind says what went wrong
// (the panel refused the request, the credentials are wrong, the panel is down or slow...)
// and whose message_key() names a text an owner understands, in fa and en.
//
// Promises every implementation keeps:
//  - Inbound tags are read from the panel, never assumed; a selection naming a tag the panel
//    no longer has fails with kValidation before anything is created.
//  - Calls that are safe to repeat (reads, modify with absolute values, reset, delete) are
//    retried with backoff on timeouts, connection errors and 5xx; create and revoke_link
//    are never repeated blindly (see provision.hpp for how a lost create answer is resolved).
//  - At most a configured number of calls run against one panel at once; more wait.
//  - A panel that keeps failing is marked down: every call then fails at once with kDown
//    (shop bots stop selling on it) until check_health() succeeds.
//  - Credentials never appear in errors or logs.
//
// Threads: every method may be called from any number of threads at once. Methods block the
// calling thread for the panel's round trips: call them from a worker pool, never from an
// event loop or an HTTP client callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/result.hpp"

namespace ms::panels {

// ---- Errors ---------------------------------------------------------------------------------

enum class PanelErrorKind {
  kBadRequest,      // 400: the panel refused it (e.g. a protocol with no inbound on the panel)
  kUnauthorized,    // 401 after a fresh login: wrong username or password
  kForbidden,       // 403: the panel admin may not do this (not sudo, or another admin's user)
  kNotFound,        // 404: no such account
  kConflict,        // 409: the account name is taken
  kValidation,      // 422 (or our own check before sending): a field the panel does not accept
  kServerError,     // 5xx: the panel failed
  kTimeout,         // no answer in time
  kConnection,      // refused, reset, DNS: the panel is unreachable
  kTls,             // the certificate is not trusted or does not match the pin
  kBadResponse,     // an answer that is not Marzban's (HTML, a wrong path, a broken body)
  kDown,            // the panel is marked down after repeated failures; no call was made
  kBusy,            // too many calls to this panel at once; this one waited too long
  kAddressRefused,  // the URL leads to a private or internal address (http/address_policy.hpp); no call made
};
std::string_view to_string(PanelErrorKind kind);  // "bad_request", "unauthorized", ...

struct PanelError {
  PanelErrorKind kind = PanelErrorKind::kServerError;
  int http_status = 0;                        // when the panel answered
  std::string detail;                         // the panel's own words (safe to log and show)
  std::map<std::string, std::string> fields;  // 422: field -> message

  // i18n key of the owner's message: "panel.error.<kind>" with placeholder {detail}.
  std::string message_key() const;
  // One line for logs: "validation (422): username: Username only can be ...".
  std::string describe() const;
  // As an ms::Error (kind -> ErrorCode), for callers that speak Result<T>.
  Error to_error() const;
  // Whether repeating the same call later may succeed (the panel, not the request, failed).
  bool transient() const;
};

template <class T>
using PanelResult = tl::expected<T, PanelError>;

inline tl::unexpected<PanelError> panel_fail(PanelErrorKind kind, std::string detail, int http_status = 0) {
  return tl::unexpected<PanelError>(PanelError{kind, http_status, std::move(detail), {}});
}

// ---- Accounts -------------------------------------------------------------------------------

enum class Protocol { kVmess, kVless, kTrojan, kShadowsocks };
std::string_view to_string(Protocol p);  // "vmess", "vless", "trojan", "shadowsocks"
std::optional<Protocol> parse_protocol(std::string_view text);

enum class AccountStatus { kActive, kDisabled, kLimited, kExpired, kOnHold };
std::string_view to_string(AccountStatus s);  // Marzban's words: active, disabled, limited, ...
std::optional<AccountStatus> parse_account_status(std::string_view text);

enum class ResetStrategy { kNoReset, kDay, kWeek, kMonth, kYear };
std::string_view to_string(ResetStrategy r);  // no_reset, day, week, month, year
std::optional<ResetStrategy> parse_reset_strategy(std::string_view text);

// Protocols an account may use and, for each, the inbound tags it is limited to. An empty
// tag list means every inbound of that protocol the panel has at the time of the call.
using InboundSelection = std::map<Protocol, std::vector<std::string>>;

struct NewAccount {
  std::string username;               // the panel's rules: 3-32 of a-z, 0-9, '_' (domain::panel_username)
  InboundSelection inbounds;          // at least one protocol
  std::int64_t data_limit_bytes = 0;  // 0: unlimited
  std::int64_t expire_at = 0;         // unix seconds (UTC); 0: never
  // > 0: the account starts "on hold" and its period of this many seconds begins at its
  // first connection; expire_at must then be 0.
  std::int64_t on_hold_seconds = 0;
  ResetStrategy reset = ResetStrategy::kNoReset;
  std::string note;  // at most 500 characters
};

struct Account {
  std::string username;
  AccountStatus status = AccountStatus::kActive;
  std::int64_t data_limit_bytes = 0;  // 0: unlimited
  std::int64_t used_bytes = 0;
  std::int64_t lifetime_used_bytes = 0;
  std::int64_t expire_at = 0;  // 0: never
  std::int64_t on_hold_seconds = 0;
  ResetStrategy reset = ResetStrategy::kNoReset;
  InboundSelection inbounds;  // as the panel holds them (tags filled in)
  std::string note;
  std::string subscription_url;  // absolute; it may differ on every read, all stay valid
  std::vector<std::string> links;
  std::int64_t created_at = 0;  // unix seconds
  std::optional<std::int64_t> online_at;
  std::optional<std::int64_t> sub_updated_at;

  // Bytes left before the limit; nullopt when unlimited.
  std::optional<std::int64_t> remaining_bytes() const;
};

// Partial change: what is nullopt stays as it is.
struct AccountChanges {
  std::optional<std::int64_t> data_limit_bytes;  // 0: unlimited
  std::optional<std::int64_t> expire_at;         // 0: never
  std::optional<ResetStrategy> reset;
  std::optional<std::string> note;
  std::optional<InboundSelection> inbounds;  // replaces the protocols and tags
};

// Extend an account (a paid renewal or a traffic top-up).
struct Renewal {
  std::int64_t extend_seconds = 0;  // added to the expiry (0: expiry unchanged)
  std::int64_t add_bytes = 0;       // added to the data limit (0: limit unchanged)
  // true: what is left carries over (time counts from the later of now and the old expiry;
  // the new traffic is added to the old limit). false: a fresh period (time counts from
  // now; usage is reset and the limit becomes add_bytes).
  bool carry_over = true;
};

// The absolute changes a renewal means for `current` at `now` (pure; used by renew()).
// kValidation on overflow or negative values. `reset_usage` tells whether usage must be reset.
struct RenewalPlan {
  AccountChanges changes;
  bool reset_usage = false;
};
PanelResult<RenewalPlan> plan_renewal(const Account& current, const Renewal& renewal, std::int64_t now);

struct ListQuery {
  std::int64_t offset = 0;
  std::int64_t limit = 50;  // 1..1000
  std::string search;       // part of the account name or note
  std::optional<AccountStatus> status;
};

struct AccountPage {
  std::vector<Account> accounts;
  std::int64_t total = 0;  // accounts matching the query, all pages together
};

struct InboundInfo {
  std::string tag;
  Protocol protocol = Protocol::kVless;
  std::string network;
  std::string tls;
  std::string port;  // Marzban sends a number or a text
};

struct SystemStats {
  std::string version;  // the panel's version, e.g. "0.7.0"
  std::int64_t total_users = 0;
  std::int64_t active_users = 0;
  std::int64_t mem_total = 0;
  std::int64_t mem_used = 0;
  std::int64_t cpu_cores = 0;
  double cpu_usage = 0;
  std::int64_t incoming_bytes = 0;
  std::int64_t outgoing_bytes = 0;
};

struct SubscriptionInfo {
  std::string url;  // absolute
  std::vector<std::string> links;
  AccountStatus status = AccountStatus::kActive;
  std::int64_t used_bytes = 0;
  std::int64_t data_limit_bytes = 0;  // 0: unlimited
  std::int64_t expire_at = 0;         // 0: never
};

struct HealthState {
  bool up = true;
  int consecutive_failures = 0;
  std::optional<PanelError> last_error;
  std::string version;  // known after the first successful system() / check_health()
  std::chrono::system_clock::time_point checked_at{};
};

class Panel {
 public:
  virtual ~Panel() = default;

  // Creates the account. kConflict when the name is taken (provisioning adopts it),
  // kBadRequest for a protocol the panel has no inbound for, kValidation for a field the
  // panel refuses or an inbound tag it does not have.
  virtual PanelResult<Account> create(const NewAccount& account) = 0;
  virtual PanelResult<Account> get(const std::string& username) = 0;  // kNotFound
  virtual PanelResult<Account> modify(const std::string& username, const AccountChanges& changes) = 0;
  // Reads the account, applies plan_renewal() and writes the result (and resets usage for a
  // fresh period); a disabled, limited or expired account becomes active. Not idempotent:
  // callers that must renew exactly once keep the planned values and use modify().
  virtual PanelResult<Account> renew(const std::string& username, const Renewal& renewal) = 0;
  virtual PanelResult<Account> reset_usage(const std::string& username) = 0;
  // New credentials and a new subscription link; every old link stops working.
  virtual PanelResult<Account> revoke_link(const std::string& username) = 0;
  virtual PanelResult<Account> enable(const std::string& username) = 0;
  virtual PanelResult<Account> disable(const std::string& username) = 0;
  // Success also when a retry finds the account already gone.
  virtual PanelResult<void> remove(const std::string& username) = 0;
  virtual PanelResult<AccountPage> list(const ListQuery& query) = 0;
  virtual PanelResult<std::vector<InboundInfo>> inbounds() = 0;
  virtual PanelResult<SystemStats> system() = 0;
  virtual PanelResult<SubscriptionInfo> subscription(const std::string& username) = 0;

  // Logs in if needed and reads the panel's stats, even when the panel is marked down:
  // success marks it up again, a failure marks it down.
  virtual PanelResult<SystemStats> check_health() = 0;
  // The health as last observed; no I/O.
  virtual HealthState health() const = 0;
  // Shop bots sell on a panel only while this is true.
  bool accepting_sales() const { return health().up; }
};

}  // namespace ms::panels
