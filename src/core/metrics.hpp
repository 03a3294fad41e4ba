// Process-wide metrics registry: one prometheus::Registry that every subsystem registers
// its counters, gauges and histograms in, and that /metrics serializes.
//
// Thread-safety: every function here is safe to call from any thread. The references
// returned stay valid for the life of the process (families are never removed, except the
// build-info series, which set_build_info replaces).
//
// Naming follows Prometheus conventions: snake_case, a unit suffix (`_seconds`, `_bytes`),
// `_total` for counters. A name reused with another metric type is a programming error and
// throws std::invalid_argument.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/labels.h>
#include <prometheus/registry.h>

namespace ms::metrics {

// The registry shared by the whole process. Created on first use together with the
// process metrics (process_resident_memory_bytes, process_start_time_seconds) and
// mothership_build_info.
std::shared_ptr<prometheus::Registry> registry();

// Families, created on first use. A later call with the same name returns the same family
// (its help text is the one given first). Cache the reference on hot paths: lookup locks.
prometheus::Family<prometheus::Counter>& counter_family(std::string_view name, std::string_view help);
prometheus::Family<prometheus::Gauge>& gauge_family(std::string_view name, std::string_view help);
prometheus::Family<prometheus::Histogram>& histogram_family(std::string_view name, std::string_view help);

// One time series of a family; the same labels give the same series.
prometheus::Counter& counter(std::string_view name, std::string_view help, const prometheus::Labels& labels = {});
prometheus::Gauge& gauge(std::string_view name, std::string_view help, const prometheus::Labels& labels = {});
// `buckets` are the upper bounds; they only matter when the series is first created.
prometheus::Histogram& histogram(std::string_view name, std::string_view help, const prometheus::Labels& labels = {},
                                 const std::vector<double>& buckets = {});

// Buckets for request latencies in seconds, 5 ms .. 10 s.
const std::vector<double>& default_latency_buckets();

// Sets mothership_build_info{version="..."} = 1, replacing a previous version label.
void set_build_info(std::string_view version);

// Refreshes the process metrics and renders the whole registry in the Prometheus text
// exposition format (version 0.0.4).
std::string serialize_text();

// Resident set size of this process in bytes, from /proc/self/statm; 0 when unreadable.
double resident_memory_bytes();

// When this process started, in seconds since the Unix epoch (from /proc; falls back to the
// time the registry was created).
double process_start_time_seconds();

}  // namespace ms::metrics
