// Health routes for load balancers, orchestrators and Prometheus:
//   GET /healthz  200 {"status":"ok"} whenever the process serves HTTP at all.
//   GET /readyz   runs every readiness check off the event loop; 200
//                 {"status":"ready","checks":{"database":"ok"}} when all pass, else 503
//                 {"status":"not_ready","checks":{"database":"unavailable: ..."}}.
//   GET /metrics  the core metrics registry in Prometheus text format 0.0.4.
//
// Thread-safety: checks run on a worker thread, one /readyz at a time per worker; a check
// must be safe to call from that thread. A check that throws counts as failed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "http/router.hpp"

namespace ms::http {

struct ReadinessCheck {
  std::string name;                     // key in the "checks" object, e.g. "database"
  std::function<Result<void>()> check;  // may block (a database ping); ok() means ready
};

struct HealthChecks {
  std::vector<ReadinessCheck> checks;
  // Runs blocking work off the event loop. When empty, the routes own a one-thread
  // WorkerPool that lives as long as the router.
  std::function<void(std::function<void()>)> run_blocking;
};

// Adds GET /healthz, /readyz and /metrics to `router`.
void add_health_routes(Router& router, HealthChecks health);

}  // namespace ms::http
