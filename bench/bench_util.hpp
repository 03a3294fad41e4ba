// What every bench program shares: dying with a message, flags, percentiles.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "core/result.hpp"

namespace ms::bench {

inline std::string& program_name() {
  static std::string name = "bench";
  return name;
}

[[noreturn]] inline void die(const std::string& what) {
  std::cerr << program_name() << ": " << what << "\n";
  std::exit(1);
}

template <class T>
T must(Result<T> r, const std::string& what) {
  if (!r) die(what + ": " + r.error().to_string());
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

inline std::vector<std::string> split(const std::string& text, char sep = ',') {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto next = text.find(sep, at);
    out.push_back(text.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos) break;
    at = next + 1;
  }
  return out;
}

// Nearest rank: the smallest value with at least p (0..1) of the values at or below it.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// `--name value` flags and `--name` switches, each bound to a variable; anything else dies.
class Flags {
 public:
  explicit Flags(std::string program) { program_name() = std::move(program); }

  Flags& text(const std::string& name, std::string& out) {
    return take(name, [&out](const std::string& v) { out = v; });
  }
  Flags& number(const std::string& name, int& out) {
    return take(name, [&out, name](const std::string& v) { out = to_int(name, v); });
  }
  Flags& numbers(const std::string& name, std::vector<int>& out) {
    return take(name, [&out, name](const std::string& v) {
      out.clear();
      for (const auto& part : split(v)) out.push_back(to_int(name, part));
    });
  }
  Flags& texts(const std::string& name, std::vector<std::string>& out) {
    return take(name, [&out](const std::string& v) { out = split(v); });
  }
  Flags& toggle(const std::string& name, bool& out) {
    switches_[name] = &out;
    return *this;
  }

  void parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (auto s = switches_.find(a); s != switches_.end()) {
        *s->second = true;
      } else if (auto v = values_.find(a); v != values_.end()) {
        if (i + 1 >= argc) die("missing value after " + a);
        v->second(argv[++i]);
      } else {
        die("unknown flag " + a);
      }
    }
  }

 private:
  Flags& take(const std::string& name, std::function<void(const std::string&)> set) {
    values_[name] = std::move(set);
    return *this;
  }
  static int to_int(const std::string& name, const std::string& v) {
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') die(name + " takes a number, not '" + v + "'");
    return static_cast<int>(n);
  }

  std::map<std::string, std::function<void(const std::string&)>> values_;
  std::map<std::string, bool*> switches_;
};

// The database flags the storage, shop and deploy benches share.
struct DatabaseFlags {
  std::string backend = "sqlite";
  std::string pg_url;
  std::string dir;

  void add_to(Flags& flags) { flags.text("--backend", backend).text("--pg-url", pg_url).text("--dir", dir); }
  void check() const {
    if (backend != "sqlite" && backend != "postgres") die("--backend is sqlite or postgres");
    if (backend == "postgres" && pg_url.empty()) die("--backend postgres needs --pg-url");
  }
};

}  // namespace ms::bench
