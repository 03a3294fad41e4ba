// MarzbanPanel: the Panel over Marzban's REST API (v0.7.x and v0.8.x), through an
// http::HttpClient. What it speaks is in ../shared/reference/marzban/README.md:
//  - form login at <base>/api/admin/token; the bearer token is cached (and handed to
//    `on_login` so the caller can keep it encrypted); on a 401 it logs in once more and
//    repeats the call once;
//  - integer `expire` (unix seconds), bytes, `month` (not `monthly`), naive UTC datetimes,
//    create answering 200 (201 accepted too), 422 details as an object or a list;
//  - the version from /api/system; inbound tags from /api/inbounds, checked before a create
//    (cached for a minute, dropped when the panel says a tag or protocol is gone);
//  - base URLs with a path prefix ("https://host:8443/secret"; a pasted ".../dashboard/" is
//    trimmed to the panel root); HTTPS verified, or pinned to a certificate fingerprint, or
//    (explicitly) unchecked.
// Modify sends back the current proxy settings of protocols that stay, so changing inbounds
// never changes an account's credentials (Marzban would make new ones).
//
// Threads and blocking: see panel.hpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "core/crypto/secret.hpp"
#include "http/client.hpp"
#include "panels/panel.hpp"

namespace ms::panels {

struct MarzbanOptions {
  std::string base_url;  // e.g. "https://panel.example.com:8443" or ".../prefix"
  std::string username;
  crypto::Secret password;
  http::TlsPolicy tls;  // default: verify against the system's CAs
  // A token kept from an earlier run (decrypted), tried before logging in; may be empty.
  crypto::Secret cached_token;
  // Called after every successful login with the new token (store it encrypted).
  std::function<void(const crypto::Secret& token)> on_login;
  std::chrono::milliseconds timeout{15'000};        // one HTTP exchange
  int attempts = 3;                                 // for calls that are safe to repeat
  std::chrono::milliseconds backoff{250};           // before the 2nd attempt; doubles after
  int max_concurrent = 4;                           // calls to this panel at once
  std::chrono::milliseconds queue_timeout{30'000};  // longest wait for a free call slot
  int failures_before_down = 3;                     // consecutive failed calls that mark it down
  std::chrono::seconds inbounds_ttl{60};
  const Clock* clock = nullptr;  // nullptr: the system clock
  // A URL a customer typed: never connect to a loopback, private or internal address
  // (kAddressRefused). The panels' client may also refuse them for every request.
  bool refuse_private_addresses = false;
};

class MarzbanPanel final : public Panel {
 public:
  // `http` must outlive the panel. The URL is checked by normalize_url() at the first call.
  MarzbanPanel(http::HttpClient& http, MarzbanOptions options);
  ~MarzbanPanel() override;

  // The panel root an owner's URL names: scheme://host[:port][/prefix] without a trailing
  // '/', a "#..." fragment, a query, or a trailing "/dashboard". kInvalidArgument for
  // anything but an http(s) URL with a host.
  static Result<std::string> normalize_url(std::string_view url);

  // Logs in now (the probe's first step). kUnauthorized for a wrong username or password.
  PanelResult<void> login();
  // The panel's version as last read ("" before system() or check_health()).
  std::string version() const;

  PanelResult<Account> create(const NewAccount& account) override;
  PanelResult<Account> get(const std::string& username) override;
  PanelResult<Account> modify(const std::string& username, const AccountChanges& changes) override;
  PanelResult<Account> renew(const std::string& username, const Renewal& renewal) override;
  PanelResult<Account> reset_usage(const std::string& username) override;
  PanelResult<Account> revoke_link(const std::string& username) override;
  PanelResult<Account> enable(const std::string& username) override;
  PanelResult<Account> disable(const std::string& username) override;
  PanelResult<void> remove(const std::string& username) override;
  PanelResult<AccountPage> list(const ListQuery& query) override;
  PanelResult<std::vector<InboundInfo>> inbounds() override;
  PanelResult<SystemStats> system() override;
  PanelResult<SubscriptionInfo> subscription(const std::string& username) override;
  PanelResult<SystemStats> check_health() override;
  HealthState health() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ms::panels
