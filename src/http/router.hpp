// Router: maps (method, path) to a handler.
//
// Patterns are absolute paths whose segments are literals or `{name}` parameters, e.g.
// "/api/v1/tenants/{id}" or "/telegram/{instance}". A parameter matches one non-empty
// segment; its value is percent-decoded into Request::path_params. When several patterns
// match, the more specific one wins, segment by segment from the left (a literal beats a
// parameter), so "/tenants/new" beats "/tenants/{id}". Among matching patterns, the most
// specific one that has the request's method is used; HEAD falls back to GET. A path that
// matches nothing gets 404 JSON; a path that matches only with other methods gets 405 JSON
// with an Allow header.
//
// Thread-safety: add routes before the server starts; after that, match() and dispatch()
// are const and safe from any number of threads.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http/handler.hpp"
#include "http/request.hpp"

namespace ms::http {

struct RouteMatch {
  int status = 404;                  // 200 when a handler was found, else 404 or 405
  const Handler* handler = nullptr;  // valid while the Router lives
  std::string pattern;               // the matched pattern (also set for 405)
  std::map<std::string, std::string> params;
  std::string allow;  // for 405: "GET, POST"
};

class Router {
 public:
  // Registers a handler. Throws std::invalid_argument for a malformed pattern or a
  // (method, pattern) pair that is already registered: both are start-up programming errors.
  void add(Method method, std::string_view pattern, Handler handler);
  // Registers a handler that answers synchronously on the event loop.
  void add_sync(Method method, std::string_view pattern, SyncHandler handler);

  // Finds the handler for a still percent-encoded path (Request::raw_path).
  RouteMatch match(Method method, std::string_view raw_path) const;

  // Matches `request` and records the result in it: request.route (the pattern, also for
  // 405; empty for 404) and request.path_params.
  RouteMatch resolve(Request& request) const;

  // Runs the handler of `match` (from resolve()), or answers 404/405 JSON. If the handler
  // throws before answering, answers 500.
  void dispatch(Request& request, const RouteMatch& match, const Responder& respond) const;

  // resolve() then dispatch().
  void dispatch(Request& request, const Responder& respond) const;

  std::size_t size() const;

 private:
  struct Segment {
    bool param = false;
    std::string text;  // literal text or the parameter's name
  };
  struct Entry {
    std::string pattern;
    std::vector<Segment> segments;
    std::map<Method, Handler> handlers;
  };

  std::vector<Entry> entries_;
};

}  // namespace ms::http
