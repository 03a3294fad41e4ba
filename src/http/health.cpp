#include "http/health.hpp"

#include <memory>

#include <nlohmann/json.hpp>

#include "core/metrics.hpp"
#include "core/worker_pool.hpp"

namespace ms::http {
namespace {

Response run_checks(const std::vector<ReadinessCheck>& checks) {
  nlohmann::json results = nlohmann::json::object();
  bool ready = true;
  for (const auto& c : checks) {
    std::string outcome;
    try {
      auto r = c.check();
      outcome = r ? "ok" : r.error().to_string();
      ready = ready && r.has_value();
    } catch (const std::exception& e) {
      outcome = std::string("internal: check threw: ") + e.what();
      ready = false;
    }
    results[c.name] = outcome;
  }
  return Response::json(ready ? 200 : 503,
                        nlohmann::json{{"status", ready ? "ready" : "not_ready"}, {"checks", std::move(results)}});
}

}  // namespace

void add_health_routes(Router& router, HealthChecks health) {
  router.add_sync(Method::kGet, "/healthz", [](Request&) {
    return Response::json(200, nlohmann::json{{"status", "ok"}});
  });

  auto checks = std::make_shared<const std::vector<ReadinessCheck>>(std::move(health.checks));
  auto run_blocking = std::move(health.run_blocking);
  if (!run_blocking) {
    auto pool = std::make_shared<WorkerPool>(1, 1024);
    run_blocking = [pool](std::function<void()> task) {
      if (!pool->post(std::move(task))) throw std::runtime_error("readiness worker is shutting down");
    };
  }
  router.add(Method::kGet, "/readyz", [checks, run_blocking](Request&, Responder respond) {
    run_blocking([checks, respond] { respond(run_checks(*checks)); });
  });

  router.add_sync(Method::kGet, "/metrics", [](Request&) {
    return Response::text(200, metrics::serialize_text(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace ms::http
