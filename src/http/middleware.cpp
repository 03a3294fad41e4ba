#include "http/middleware.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <random>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "core/metrics.hpp"

namespace ms::http {
namespace {

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == ':' || c == '-';
  });
}

double seconds_since(const Clock& clock, std::chrono::steady_clock::time_point start) {
  if (start == std::chrono::steady_clock::time_point{}) return 0;
  return std::chrono::duration<double>(clock.steady_now() - start).count();
}

}  // namespace

BeforeOutcome run_before(const MiddlewareChain& chain, Request& request) {
  BeforeOutcome out;
  for (const auto& m : chain) {
    ++out.ran;
    if (!m.before) continue;
    try {
      out.response = m.before(request);
    } catch (const std::exception& e) {
      spdlog::error("http middleware {} threw: {}", m.name, e.what());
      out.response = Response::error(500, "internal", "internal error");
    } catch (...) {
      spdlog::error("http middleware {} threw a non-standard exception", m.name);
      out.response = Response::error(500, "internal", "internal error");
    }
    if (out.response) break;
  }
  return out;
}

void run_after(const MiddlewareChain& chain, std::size_t ran, const Request& request, Response& response) {
  for (std::size_t i = std::min(ran, chain.size()); i-- > 0;) {
    const auto& m = chain[i];
    if (!m.after) continue;
    try {
      m.after(request, response);
    } catch (const std::exception& e) {
      spdlog::error("http middleware {} threw after the response: {}", m.name, e.what());
    } catch (...) {
      spdlog::error("http middleware {} threw a non-standard exception after the response", m.name);
    }
  }
}

std::string generate_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (std::size_t i = 0; i < out.size(); i += 16) {
    std::uint64_t v = rng();
    for (std::size_t j = 0; j < 16; ++j) {
      out[i + j] = kHex[v & 0xF];
      v >>= 4;
    }
  }
  return out;
}

Middleware request_id_middleware() {
  Middleware m;
  m.name = "request_id";
  m.before = [](Request& request) -> std::optional<Response> {
    auto incoming = request.header("X-Request-Id");
    request.id = (incoming && valid_request_id(*incoming)) ? std::string(*incoming) : generate_request_id();
    return std::nullopt;
  };
  m.after = [](const Request& request, Response& response) {
    if (!request.id.empty()) response.headers.set("X-Request-Id", request.id);
  };
  return m;
}

Middleware access_log_middleware(std::shared_ptr<spdlog::logger> logger, const Clock& clock) {
  Middleware m;
  m.name = "access_log";
  m.after = [logger = std::move(logger), &clock](const Request& request, Response& response) {
    auto* log = logger ? logger.get() : spdlog::default_logger_raw();
    double ms = seconds_since(clock, request.received_at) * 1000.0;
    auto level = response.status >= 500 ? spdlog::level::warn : spdlog::level::info;
    log->log(level, "http {} {} {} {:.1f}ms id={} peer={}", to_string(request.method), request.raw_path,
             response.status, ms, request.id, request.remote_address);
  };
  return m;
}

Middleware metrics_middleware(const Clock& clock) {
  // Family::Add allocates a new metric on every call (then drops it if the labels exist), so
  // the series each request needs are cached here.
  struct Series {
    prometheus::Family<prometheus::Counter>& requests =
        metrics::counter_family("http_requests_total", "HTTP requests answered, by route pattern.");
    prometheus::Family<prometheus::Histogram>& durations = metrics::histogram_family(
        "http_request_duration_seconds", "Time from request read to response, by route pattern.");
    std::mutex mutex;
    std::unordered_map<std::string, prometheus::Counter*> counters;
    std::unordered_map<std::string, prometheus::Histogram*> histograms;
  };
  auto series = std::make_shared<Series>();
  Middleware m;
  m.name = "metrics";
  m.after = [series, &clock](const Request& request, Response& response) {
    std::string route = request.route.empty() ? "unmatched" : request.route;
    std::string method(to_string(request.method));
    std::string status = std::to_string(response.status);
    std::string key = method + ' ' + route;
    prometheus::Counter* counter = nullptr;
    prometheus::Histogram* histogram = nullptr;
    {
      std::lock_guard lock(series->mutex);
      auto& h = series->histograms[key];
      if (h == nullptr) {
        h = &series->durations.Add({{"method", method}, {"route", route}}, metrics::default_latency_buckets());
      }
      histogram = h;
      auto& c = series->counters[key + ' ' + status];
      if (c == nullptr) c = &series->requests.Add({{"method", method}, {"route", route}, {"status", status}});
      counter = c;
    }
    counter->Increment();
    histogram->Observe(seconds_since(clock, request.received_at));
  };
  return m;
}

}  // namespace ms::http
