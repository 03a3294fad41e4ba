// MarzbanTestServer: a strict Marzban panel for tests, written from
// ../shared/reference/marzban/ (Marzban's own OpenAPI document and exchanges observed
// against a real v0.7.0 server). It accepts what Marzban accepts and rejects what it rejects,
// with the same status codes and bodies: form login and bearer tokens, users CRUD with
// Marzban's validation and 422 object-shaped details, 409, 400 for a protocol with no
// inbound, reset, revoke_sub, the users list, inbounds, system stats, subscription links
// whose URL changes on every read, naive UTC datetimes, the v0.7.0 / v0.8.4 differences and
// an optional path prefix. It is the panel of every integration test that needs one.
//
// Faults for tests (C++ API, or POST /_test/faults outside the prefix): answer a status,
// drop the connection, answer late, answer HTML, apply the call and then lose the answer
// (drop or answer late), or hold the request (before or after applying it) until the test
// releases it; a fault may run a hook of the test's when it hits (e.g. to kill the client
// while its request is held). Over HTTP by default; HTTPS (a TLS front relaying to the
// plain server) when given a certificate and key.
//
// Thread-safety: every method may be called from any thread while the server runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace ms::marzban_test {

struct Inbound {
  std::string tag;
  std::string protocol;  // vmess | vless | trojan | shadowsocks
  std::string network = "tcp";
  std::string tls = "none";
  int port = 0;
};

// The inbounds of the observed server: VMess TCP, VLESS TCP, Shadowsocks TCP; no trojan.
std::vector<Inbound> default_inbounds();

struct Options {
  std::string version = "0.7.0";  // "0.7.0" or "0.8.4"
  std::string username = "admin";
  std::string password = "admin";
  bool sudo = true;
  std::string path_prefix;  // "" or e.g. "/panel": every Marzban route lives under it
  std::string listen = "127.0.0.1:0";
  // Subscription URLs are <prefix>/sub/<token>. Empty: the server's own base URL. With
  // `relative_subscription_urls` they are "/sub/<token>" (Marzban's default configuration).
  std::string subscription_url_prefix;
  bool relative_subscription_urls = false;
  std::vector<Inbound> inbounds = default_inbounds();
  std::chrono::seconds token_lifetime{24 * 3600};
  // PEM files; when both are set the server speaks HTTPS only.
  std::string tls_cert_file;
  std::string tls_key_file;
  const Clock* clock = nullptr;  // nullptr: the system clock
};

struct Fault {
  enum class Kind {
    kStatus,      // answer `status` without doing anything (500: bare text; 502-504: proxy HTML)
    kDrop,        // close the connection without answering, without doing anything
    kDelay,       // wait `delay`, then do the call and answer (a slow panel)
    kHtml,        // answer 200 text/html (a login page or proxy page where JSON was expected)
    kApplyDrop,   // do the call, then close the connection: the answer is lost
    kApplyDelay,  // do the call at once, answer only after `delay`: the answer comes too late
    kHold,        // park the request, nothing done, until release_held() (then done and answered)
    kApplyHold,   // do the call at once, park the answer until release_held()
  };
  std::string method;  // "GET", "POST", ...; empty: any
  std::string path;    // relative to the prefix, e.g. "/api/user"; a trailing '*' matches a prefix
  Kind kind = Kind::kStatus;
  int status = 500;
  std::chrono::milliseconds delay{0};
  int times = 1;  // how many matching requests it hits; -1: every one
  // Runs when the fault hits, on a server thread, before the fault acts (kApplyHold: after
  // the call was done, before the answer is parked). C++ API only; it may block briefly.
  std::function<void()> on_hit = {};
};

class MarzbanTestServer {
 public:
  explicit MarzbanTestServer(Options options = {});
  ~MarzbanTestServer();
  MarzbanTestServer(const MarzbanTestServer&) = delete;
  MarzbanTestServer& operator=(const MarzbanTestServer&) = delete;

  // Binds and serves. kUnavailable if the address cannot be bound, kInvalidArgument for a
  // bad option (version, prefix, TLS files).
  Result<void> start();
  void stop();

  std::uint16_t port() const;
  // "http://127.0.0.1:<port><prefix>" (https with TLS): what an owner types in as panel URL.
  std::string base_url() const;

  void add_fault(Fault fault);
  void clear_faults();
  // Requests parked by kHold / kApplyHold faults.
  std::size_t held() const;
  // Answers every parked request (kHold ones are done first); an answer to a client that is
  // gone is dropped. stop() drops parked requests without doing them.
  void release_held();

  // Other admins (non-sudo admins see and touch only their own users; 403 elsewhere).
  void add_admin(const std::string& username, const std::string& password, bool sudo);
  // A password change invalidates every token issued before it, as in Marzban.
  void set_password(const std::string& username, const std::string& password);
  // Every issued token stops working (as if it expired).
  void expire_tokens();
  void remove_inbound(const std::string& tag);
  // Plays traffic: sets used_traffic (and adds to lifetime_used_traffic).
  bool set_used_traffic(const std::string& username, std::int64_t bytes);

  std::size_t user_count() const;
  bool has_user(const std::string& username) const;
  // The user as GET /api/user/{username} would answer (JSON text), or nullopt.
  std::optional<std::string> user_json(const std::string& username) const;
  // Requests seen, by "METHOD /route/pattern" relative to the prefix, e.g.
  // "POST /api/user", "PUT /api/user/{username}", "POST /api/admin/token".
  int hits(const std::string& key) const;
  std::map<std::string, int> all_hits() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace ms::marzban_test
