// Shared plumbing of the HTTP gateways (internal to payments/): one exchange with a
// deadline, and the rule that an answer we cannot read is the gateway's fault
// (kUnavailable: retry later), never a payment.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/client.hpp"

namespace ms::payments::detail {

inline Result<http::ClientResponse> exchange(http::HttpClient& client, std::string method, std::string url,
                                             std::vector<std::pair<std::string, std::string>> headers, std::string body,
                                             std::chrono::milliseconds timeout, std::string_view gateway) {
  http::ClientRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.headers = std::move(headers);
  req.body = std::move(body);
  req.timeout = timeout;
  req.connect_timeout = timeout;
  auto res = client.send_sync(std::move(req));
  if (!res) {
    auto code = res.error().code == ErrorCode::kTimeout ? ErrorCode::kTimeout : ErrorCode::kUnavailable;
    return fail(code, std::string(gateway) + " unreachable: " + res.error().message);
  }
  return res;
}

// The JSON body of a response; kUnavailable naming the gateway when it is not JSON.
inline Result<nlohmann::json> json_body(const http::ClientResponse& res, std::string_view gateway) {
  auto j = nlohmann::json::parse(res.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(ErrorCode::kUnavailable, std::string(gateway) + " answered HTTP " + std::to_string(res.status) +
                                             " with a body that is not JSON");
  return j;
}

// How a gateway's HTTP error status maps to ours: 5xx and 429 may pass, 4xx will not.
inline ErrorCode code_for_status(int status) {
  if (status == 401 || status == 403) return ErrorCode::kUnauthenticated;
  if (status >= 500 || status == 429 || status == 409) return ErrorCode::kUnavailable;
  return ErrorCode::kInvalidArgument;
}

inline std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

}  // namespace ms::payments::detail
