// Shared by the panel integration tests: a strict Marzban test panel on 127.0.0.1 and a
// MarzbanPanel pointed at it with test-sized timeouts.
#pragma once

#include <memory>
#include <stdexcept>

#include "http/client.hpp"
#include "marzban_server.hpp"
#include "panels/marzban/marzban.hpp"

namespace ms::panels::testing {

// Timeouts generous enough for a loaded machine (sanitizers, parallel tests); tests about
// timeouts set a short one themselves and make the panel far slower than it.
inline MarzbanOptions fast_options(const std::string& url, const std::string& password = "admin") {
  MarzbanOptions o;
  o.base_url = url;
  o.username = "admin";
  o.password = crypto::Secret(password);
  o.timeout = std::chrono::seconds(3);
  o.backoff = std::chrono::milliseconds(1);
  o.attempts = 3;
  return o;
}

struct Rig {
  explicit Rig(marzban_test::Options server_options = {}) : server(std::move(server_options)) {
    auto started = server.start();
    if (!started) throw std::runtime_error(started.error().to_string());
  }
  std::unique_ptr<MarzbanPanel> panel(MarzbanOptions o) { return std::make_unique<MarzbanPanel>(client, std::move(o)); }
  std::unique_ptr<MarzbanPanel> panel() { return panel(fast_options(server.base_url())); }

  marzban_test::MarzbanTestServer server;
  http::CurlClient client;
};

inline NewAccount new_account(const std::string& username) {
  NewAccount a;
  a.username = username;
  a.inbounds = {{Protocol::kVless, {"VLESS TCP"}}, {Protocol::kVmess, {}}};
  a.data_limit_bytes = 10LL << 30;
  a.expire_at = 1'900'000'000;
  a.note = "order 42";
  return a;
}

}  // namespace ms::panels::testing
