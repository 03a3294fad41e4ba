// `mothership panel probe`: tries every call a shop bot needs on one panel with a throwaway
// account and prints one JSON report. The URL's path (often a secret) and the credentials
// never appear in the report or the logs: only scheme://host:port.
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/app.hpp"
#include "http/client.hpp"
#include "panels/marzban/marzban.hpp"
#include "panels/probe.hpp"

namespace ms::app {

int panel_probe(const PanelProbeOptions& o) {
  if (o.type != "marzban") {
    std::cerr << "mothership: panel type '" << o.type << "' is not supported yet (marzban)\n";
    return 2;
  }
  auto url = panels::MarzbanPanel::normalize_url(o.url);
  if (!url) {
    std::cerr << "mothership: --url: " << url.error().message << "\n";
    return 2;
  }
  if (o.insecure && !o.pin.empty()) {
    std::cerr << "mothership: choose --insecure or --pin, not both\n";
    return 2;
  }
  panels::MarzbanOptions mo;
  mo.base_url = *url;
  mo.username = o.username;
  mo.password = crypto::Secret(o.password);
  mo.timeout = std::chrono::milliseconds(o.timeout_ms);
  mo.failures_before_down = 1'000;  // the probe reports every step; it never stops early
  if (o.insecure) mo.tls.mode = http::TlsPolicy::Mode::kInsecure;
  if (!o.pin.empty()) {
    if (!http::parse_sha256_fingerprint(o.pin)) {
      std::cerr << "mothership: --pin: a SHA-256 fingerprint is 64 hex digits (colons allowed)\n";
      return 2;
    }
    mo.tls = http::TlsPolicy{http::TlsPolicy::Mode::kPinned, "", o.pin};
  }
  http::CurlClient client;
  panels::MarzbanPanel panel(client, std::move(mo));
  auto report = panels::run_probe(panel, [&] { return panel.login(); });
  auto j = report.to_json();
  auto origin = http::loggable_origin(*url);
  j["panel"] = {{"type", o.type}, {"url", origin ? *origin : std::string()}};
  std::cout << j.dump(2) << std::endl;
  return report.ok ? 0 : 1;
}

}  // namespace ms::app
