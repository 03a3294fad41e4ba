#include "core/metrics.hpp"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include <prometheus/text_serializer.h>

#include "core/version.hpp"

namespace ms::metrics {
namespace {

// Owns the registry plus a name index, so that a second lookup never builds a family twice
// and a name reused with another type fails loudly instead of inside prometheus-cpp.
class State {
 public:
  State() : registry_(std::make_shared<prometheus::Registry>()) {
    fallback_start_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    rss_ = &family<prometheus::Gauge>("process_resident_memory_bytes", "Resident memory size in bytes.", 'g').Add({});
    start_ = &family<prometheus::Gauge>("process_start_time_seconds",
                                        "Start time of the process since unix epoch in seconds.", 'g')
                  .Add({});
  }

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  template <class T>
  prometheus::Family<T>& family(std::string_view name, std::string_view help, char kind) {
    std::lock_guard lock(mutex_);
    auto it = families_.find(name);
    if (it != families_.end()) {
      if (it->second.kind != kind) {
        throw std::invalid_argument("metric " + std::string(name) + " already registered with another type");
      }
      return *static_cast<prometheus::Family<T>*>(it->second.family);
    }
    prometheus::Family<T>* created = nullptr;
    if constexpr (std::is_same_v<T, prometheus::Counter>) {
      created = &prometheus::BuildCounter().Name(std::string(name)).Help(std::string(help)).Register(*registry_);
    } else if constexpr (std::is_same_v<T, prometheus::Gauge>) {
      created = &prometheus::BuildGauge().Name(std::string(name)).Help(std::string(help)).Register(*registry_);
    } else {
      created = &prometheus::BuildHistogram().Name(std::string(name)).Help(std::string(help)).Register(*registry_);
    }
    families_.emplace(std::string(name), Entry{kind, created});
    return *created;
  }

  void set_build_info(std::string_view version) {
    auto& fam = family<prometheus::Gauge>("mothership_build_info", "Mothership build; the value is always 1.", 'g');
    std::lock_guard lock(build_mutex_);
    if (build_info_ != nullptr) fam.Remove(build_info_);
    build_info_ = &fam.Add({{"version", std::string(version)}});
    build_info_->Set(1);
  }

  void refresh_process() {
    rss_->Set(resident_memory_bytes());
    start_->Set(process_start());
  }

  double process_start() {
    std::call_once(start_once_, [this] { start_seconds_ = read_start_time().value_or(fallback_start_); });
    return start_seconds_;
  }

 private:
  struct Entry {
    char kind;
    void* family;
  };

  // starttime (field 22 of /proc/self/stat, in clock ticks after boot) + btime (/proc/stat).
  static std::optional<double> read_start_time() {
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (!std::getline(stat, line)) return std::nullopt;
    // The command name (field 2) may contain spaces; fields after it start past the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    unsigned long long ticks = 0;
    for (int index = 3; rest >> field; ++index) {
      if (index == 22) {
        ticks = std::stoull(field);
        break;
      }
    }
    if (ticks == 0) return std::nullopt;
    std::ifstream proc_stat("/proc/stat");
    std::string key;
    double boot = 0;
    while (proc_stat >> key) {
      if (key == "btime") {
        proc_stat >> boot;
        break;
      }
      std::getline(proc_stat, line);
    }
    long hz = sysconf(_SC_CLK_TCK);
    if (boot <= 0 || hz <= 0) return std::nullopt;
    return boot + static_cast<double>(ticks) / static_cast<double>(hz);
  }

  std::shared_ptr<prometheus::Registry> registry_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> families_;
  std::mutex build_mutex_;
  prometheus::Gauge* build_info_ = nullptr;
  prometheus::Gauge* rss_ = nullptr;
  prometheus::Gauge* start_ = nullptr;
  std::once_flag start_once_;
  double start_seconds_ = 0;
  double fallback_start_ = 0;
};

State& state() {
  static State* instance = [] {
    auto* s = new State();  // never destroyed: metrics may be touched during static teardown
    s->set_build_info(kVersion);
    return s;
  }();
  return *instance;
}

}  // namespace

std::shared_ptr<prometheus::Registry> registry() { return state().registry(); }

prometheus::Family<prometheus::Counter>& counter_family(std::string_view name, std::string_view help) {
  return state().family<prometheus::Counter>(name, help, 'c');
}

prometheus::Family<prometheus::Gauge>& gauge_family(std::string_view name, std::string_view help) {
  return state().family<prometheus::Gauge>(name, help, 'g');
}

prometheus::Family<prometheus::Histogram>& histogram_family(std::string_view name, std::string_view help) {
  return state().family<prometheus::Histogram>(name, help, 'h');
}

prometheus::Counter& counter(std::string_view name, std::string_view help, const prometheus::Labels& labels) {
  return counter_family(name, help).Add(labels);
}

prometheus::Gauge& gauge(std::string_view name, std::string_view help, const prometheus::Labels& labels) {
  return gauge_family(name, help).Add(labels);
}

prometheus::Histogram& histogram(std::string_view name, std::string_view help, const prometheus::Labels& labels,
                                 const std::vector<double>& buckets) {
  return histogram_family(name, help).Add(labels, buckets.empty() ? default_latency_buckets() : buckets);
}

const std::vector<double>& default_latency_buckets() {
  static const std::vector<double> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

void set_build_info(std::string_view version) { state().set_build_info(version); }

std::string serialize_text() {
  auto& s = state();
  s.refresh_process();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, s.registry()->Collect());
  return out.str();
}

double resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  long page = sysconf(_SC_PAGESIZE);
  return static_cast<double>(resident_pages) * static_cast<double>(page > 0 ? page : 4096);
}

double process_start_time_seconds() { return state().process_start(); }

}  // namespace ms::metrics
