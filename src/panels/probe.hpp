// The panel probe: everything a shop bot will ask of a panel, tried once on a throwaway
// account, so an owner knows at once whether a panel works (`mothership panel probe`, and
// the bot's "add panel" flow). Steps: login, system, inbounds, create (with a data limit
// and an expiry), get, modify, reset, revoke, delete. The probe account is always removed,
// also when a step in between fails (a "cleanup" step then reports that removal).
// Threads: blocks for the panel's round trips.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.hpp"
#include "panels/panel.hpp"

namespace ms::panels {

struct ProbeStep {
  std::string name;
  bool ok = false;
  std::int64_t ms = 0;
  std::optional<PanelError> error;
  std::string note;  // what was checked or seen, e.g. "version 0.7.0", "3 inbounds"
};

struct ProbeReport {
  bool ok = false;  // every step passed
  std::string username;
  std::string version;
  std::vector<ProbeStep> steps;
  std::int64_t total_ms = 0;

  // {"ok":..,"version":..,"account":..,"total_ms":..,"steps":[{"step","ok","ms","note","error":{kind,status,
  // detail}}]} : no URL path, no credential.
  nlohmann::json to_json() const;
};

struct ProbeOptions {
  std::string username;  // empty: "msprobe_" + 8 random characters
  std::int64_t data_limit_bytes = 1LL << 30;
  std::int64_t lifetime_seconds = 3600;
  const Clock* clock = nullptr;
};

// `login` runs as the first step (e.g. MarzbanPanel::login); may be empty.
ProbeReport run_probe(Panel& panel, const std::function<PanelResult<void>()>& login, const ProbeOptions& options = {});

}  // namespace ms::panels
