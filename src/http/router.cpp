#include "http/router.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace ms::http {
namespace {

// "/a/b" -> {"a", "b"}; "/" -> {""}; "/a/" -> {"a", ""}.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool valid_param_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

const std::vector<Method>& all_methods() {
  static const std::vector<Method> kAll{Method::kGet,   Method::kHead,   Method::kPost,   Method::kPut,
                                        Method::kPatch, Method::kDelete, Method::kOptions};
  return kAll;
}

}  // namespace

void Router::add(Method method, std::string_view pattern, Handler handler) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  }
  if (!handler) throw std::invalid_argument("empty handler for " + std::string(pattern));
  std::vector<Segment> segments;
  std::set<std::string, std::less<>> names;
  for (std::string_view part : split_path(pattern)) {
    Segment seg;
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      seg.param = true;
      seg.text = std::string(part.substr(1, part.size() - 2));
      if (!valid_param_name(seg.text) || !names.insert(seg.text).second) {
        throw std::invalid_argument("bad parameter in route pattern: " + std::string(pattern));
      }
    } else if (part.find_first_of("{}?#%") != std::string_view::npos) {
      throw std::invalid_argument("bad literal in route pattern: " + std::string(pattern));
    } else {
      seg.text = std::string(part);
    }
    segments.push_back(std::move(seg));
  }
  // Two patterns that differ only in parameter names would be ambiguous; treat them as one.
  auto same_shape = [&](const Entry& e) {
    if (e.segments.size() != segments.size()) return false;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (e.segments[i].param != segments[i].param) return false;
      if (!segments[i].param && e.segments[i].text != segments[i].text) return false;
    }
    return true;
  };
  auto it = std::find_if(entries_.begin(), entries_.end(), same_shape);
  if (it == entries_.end()) {
    entries_.push_back(Entry{std::string(pattern), std::move(segments), {}});
    it = std::prev(entries_.end());
  } else if (it->pattern != pattern) {
    throw std::invalid_argument("route " + std::string(pattern) + " conflicts with " + it->pattern);
  }
  if (!it->handlers.emplace(method, std::move(handler)).second) {
    throw std::invalid_argument("route registered twice: " + std::string(to_string(method)) + " " +
                                std::string(pattern));
  }
}

void Router::add_sync(Method method, std::string_view pattern, SyncHandler handler) {
  if (!handler) throw std::invalid_argument("empty handler for " + std::string(pattern));
  add(method, pattern, [h = std::move(handler)](Request& request, Responder respond) { respond(h(request)); });
}

RouteMatch Router::match(Method method, std::string_view raw_path) const {
  RouteMatch result;
  auto parts = split_path(raw_path);
  std::vector<std::string> decoded;
  decoded.reserve(parts.size());
  for (auto part : parts) {
    auto d = percent_decode(part, false);
    if (!d) return result;  // a path we cannot decode matches nothing
    decoded.push_back(std::move(*d));
  }

  std::vector<const Entry*> candidates;
  for (const auto& entry : entries_) {
    if (entry.segments.size() != decoded.size()) continue;
    bool ok = true;
    for (std::size_t i = 0; i < decoded.size() && ok; ++i) {
      const auto& seg = entry.segments[i];
      ok = seg.param ? !decoded[i].empty() : seg.text == decoded[i];
    }
    if (ok) candidates.push_back(&entry);
  }
  if (candidates.empty()) return result;

  // More specific first: compare left to right, a literal beats a parameter.
  std::sort(candidates.begin(), candidates.end(), [](const Entry* a, const Entry* b) {
    for (std::size_t i = 0; i < a->segments.size(); ++i) {
      if (a->segments[i].param != b->segments[i].param) return !a->segments[i].param;
    }
    return false;
  });

  for (const Entry* entry : candidates) {
    auto h = entry->handlers.find(method);
    if (h == entry->handlers.end() && method == Method::kHead) h = entry->handlers.find(Method::kGet);
    if (h == entry->handlers.end()) continue;
    result.status = 200;
    result.handler = &h->second;
    result.pattern = entry->pattern;
    for (std::size_t i = 0; i < decoded.size(); ++i) {
      if (entry->segments[i].param) result.params[entry->segments[i].text] = std::move(decoded[i]);
    }
    return result;
  }

  std::set<Method> allowed;
  for (const Entry* entry : candidates) {
    for (const auto& [m, h] : entry->handlers) {
      allowed.insert(m);
      if (m == Method::kGet) allowed.insert(Method::kHead);
    }
  }
  result.status = 405;
  result.pattern = candidates.front()->pattern;
  for (Method m : all_methods()) {
    if (!allowed.count(m)) continue;
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += to_string(m);
  }
  return result;
}

RouteMatch Router::resolve(Request& request) const {
  RouteMatch m = match(request.method, request.raw_path);
  request.route = m.pattern;
  request.path_params = m.params;
  return m;
}

void Router::dispatch(Request& request, const Responder& respond) const {
  dispatch(request, resolve(request), respond);
}

void Router::dispatch(Request& request, const RouteMatch& m, const Responder& respond) const {
  if (m.status == 404 || m.handler == nullptr) {
    if (m.status == 405) {
      auto r = Response::error(405, "method_not_allowed",
                               std::string(to_string(request.method)) + " is not allowed on " + request.path);
      r.headers.set("Allow", m.allow);
      respond(std::move(r));
    } else {
      respond(Response::error(404, "not_found", "no route for " + request.path));
    }
    return;
  }
  try {
    (*m.handler)(request, respond);
  } catch (const std::exception& e) {
    // The exception text may hold internals; the client only learns that it failed.
    spdlog::error("http handler {} {} threw: {}", to_string(request.method), m.pattern, e.what());
    respond(Response::error(500, "internal", "internal error"));
  } catch (...) {
    spdlog::error("http handler {} {} threw a non-standard exception", to_string(request.method), m.pattern);
    respond(Response::error(500, "internal", "internal error"));
  }
}

std::size_t Router::size() const {
  std::size_t n = 0;
  for (const auto& e : entries_) n += e.handlers.size();
  return n;
}

}  // namespace ms::http
