// HTTP request and response values as handlers see them: plain C++, no Asio or Beast, so
// that handler code elsewhere compiles fast.
//
// Thread-safety: these are values. A Request is owned by the server until the handler's
// Responder is called; a handler may read and modify it from any one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/result.hpp"

namespace ms::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions };

std::string_view to_string(Method method);
// "GET" -> kGet; methods are case-sensitive on the wire. nullopt for any other token.
std::optional<Method> parse_method(std::string_view token);

// Header fields with case-insensitive names, in arrival order. A name may repeat.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // Replaces every field called `name` by one field.
  void set(std::string_view name, std::string_view value);
  // Appends a field, keeping earlier ones of the same name.
  void add(std::string_view name, std::string_view value);
  // The first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  // Removes every field called `name`.
  void erase(std::string_view name);

  std::size_t size() const { return fields_.size(); }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

// ASCII case-insensitive equality, for header names and tokens.
bool iequals(std::string_view a, std::string_view b);

// Decodes %XX escapes; with `plus_is_space` also '+' -> ' ' (query strings).
// Fails with kInvalidArgument on a truncated or non-hex escape.
Result<std::string> percent_decode(std::string_view in, bool plus_is_space);

struct Request {
  Method method = Method::kGet;
  std::string target;                             // as sent: "/api/v1/tenants/7?x=1"
  std::string raw_path;                           // target before '?', still percent-encoded
  std::string path;                               // raw_path percent-decoded, for logs and display
  std::multimap<std::string, std::string> query;  // decoded; a repeated key keeps every value
  Headers headers;
  std::string body;
  std::map<std::string, std::string> path_params;  // decoded, filled by the router
  std::string route;                               // the matched route pattern, empty when nothing matched
  std::string remote_address;                      // peer IP without the port
  std::string id;                                  // request id (set by the request-id middleware)
  std::chrono::steady_clock::time_point received_at{};

  // Splits and decodes `target` into raw_path, path and query. Fails with kInvalidArgument
  // on a target that is not origin-form ("/...") or has a bad percent escape.
  Result<void> set_target(std::string_view target);

  // First value of a header / query parameter / path parameter, or nullopt.
  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  std::optional<std::string_view> query_param(std::string_view name) const;
  std::optional<std::string_view> path_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // Close the connection without writing anything: for test servers that play a peer
  // dying mid-call. Middleware still sees the response; the client sees a reset.
  bool drop_connection = false;

  // Body is `body.dump()`, Content-Type application/json.
  static Response json(int status, const nlohmann::json& body);
  static Response text(int status, std::string body, std::string_view content_type = "text/plain; charset=utf-8");
  // {"error":{"code":"<code>","message":"<message>"}}
  static Response error(int status, std::string_view code, std::string_view message);
  // Error response with the status from status_for(error.code) and the code's name.
  static Response from_error(const Error& error);
};

// The one mapping from ms::ErrorCode to an HTTP status.
int status_for(ErrorCode code);

}  // namespace ms::http
