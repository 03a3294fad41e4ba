// Marzban's JSON mapped to our types (marzban_json.hpp).
#include "panels/marzban/marzban_json.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "http/client.hpp"

namespace ms::panels::marzban_json {

// "2026-11-26T02:14:04.179724" (naive UTC, as Marzban sends) -> unix seconds. A zone
// suffix, if a panel ever sends one, is honoured.
std::optional<std::int64_t> parse_datetime(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 ||
      std::sscanf(std::string(s.substr(0, 19)).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  std::int64_t t = timegm(&tm);
  std::string_view rest = s.substr(19);
  while (!rest.empty() && (rest.front() == '.' || std::isdigit(static_cast<unsigned char>(rest.front())))) {
    rest.remove_prefix(1);
  }
  if (rest.size() >= 6 && (rest.front() == '+' || rest.front() == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) == 2) {
      std::int64_t off = oh * 3600 + om * 60;
      t += rest.front() == '+' ? -off : off;
    }
  }
  return t;
}

std::int64_t int_or(const json& j, const char* key, std::int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return fallback;
  return it->is_number_float() ? static_cast<std::int64_t>(it->get<double>()) : it->get<std::int64_t>();
}

std::string string_or(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<std::int64_t> opt_time(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return parse_datetime(it->get<std::string>());
}

std::string absolute_url(const std::string& url, std::string_view base) {
  if (url.empty() || url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) return url;
  // Marzban without a subscription prefix sends "/sub/...": relative to the panel's origin.
  auto o = http::loggable_origin(std::string(base));
  return (o ? *o : std::string(base)) + (url.front() == '/' ? "" : "/") + url;
}

PanelResult<Account> account_from_json(const json& j, std::string_view base) {
  if (!j.is_object() || !j.contains("username") || !j["username"].is_string() || !j.contains("status")) {
    return panel_fail(PanelErrorKind::kBadResponse, "the panel's account answer lacks username or status");
  }
  Account a;
  a.username = j["username"].get<std::string>();
  auto status = parse_account_status(string_or(j, "status"));
  if (!status)
    return panel_fail(PanelErrorKind::kBadResponse, "unknown account status '" + string_or(j, "status") + "'");
  a.status = *status;
  a.data_limit_bytes = int_or(j, "data_limit");
  a.used_bytes = int_or(j, "used_traffic");
  a.lifetime_used_bytes = int_or(j, "lifetime_used_traffic", a.used_bytes);
  a.expire_at = int_or(j, "expire");
  a.on_hold_seconds = int_or(j, "on_hold_expire_duration");
  a.reset = parse_reset_strategy(string_or(j, "data_limit_reset_strategy")).value_or(ResetStrategy::kNoReset);
  if (auto it = j.find("inbounds"); it != j.end() && it->is_object()) {
    for (const auto& [p, tags] : it->items()) {
      auto protocol = parse_protocol(p);
      if (!protocol || !tags.is_array()) continue;
      auto& list = a.inbounds[*protocol];
      for (const auto& t : tags)
        if (t.is_string()) list.push_back(t.get<std::string>());
    }
  }
  if (auto it = j.find("proxies"); it != j.end() && it->is_object()) {
    for (const auto& [p, _] : it->items())
      if (auto protocol = parse_protocol(p)) a.inbounds.try_emplace(*protocol);
  }
  a.note = string_or(j, "note");
  a.subscription_url = absolute_url(string_or(j, "subscription_url"), base);
  if (auto it = j.find("links"); it != j.end() && it->is_array()) {
    for (const auto& l : *it)
      if (l.is_string()) a.links.push_back(l.get<std::string>());
  }
  a.created_at = opt_time(j, "created_at").value_or(0);
  a.online_at = opt_time(j, "online_at");
  a.sub_updated_at = opt_time(j, "sub_updated_at");
  return a;
}

PanelResult<SystemStats> system_from_json(const json& j) {
  if (!j.is_object() || !j.contains("version") || !j["version"].is_string()) {
    return panel_fail(PanelErrorKind::kBadResponse, "the system answer has no version");
  }
  SystemStats s;
  s.version = j["version"].get<std::string>();
  s.total_users = int_or(j, "total_user");
  s.active_users = int_or(j, "users_active");
  s.mem_total = int_or(j, "mem_total");
  s.mem_used = int_or(j, "mem_used");
  s.cpu_cores = int_or(j, "cpu_cores");
  s.cpu_usage = j.contains("cpu_usage") && j["cpu_usage"].is_number() ? j["cpu_usage"].get<double>() : 0.0;
  s.incoming_bytes = int_or(j, "incoming_bandwidth");
  s.outgoing_bytes = int_or(j, "outgoing_bandwidth");
  return s;
}

PanelError transport_error(const Error& e, std::chrono::milliseconds timeout) {
  switch (e.code) {
    case ErrorCode::kTimeout:
      return PanelError{PanelErrorKind::kTimeout,
                        0,
                        "no answer within " + std::to_string(timeout.count() / 1000.0).substr(0, 4) + " s",
                        {}};
    case ErrorCode::kLimitExceeded: return PanelError{PanelErrorKind::kBadResponse, 0, e.message, {}};
    case ErrorCode::kPermissionDenied: return PanelError{PanelErrorKind::kAddressRefused, 0, e.message, {}};
    default: break;
  }
  const std::string& m = e.message;
  bool tls = m.find("SSL") != std::string::npos || m.find("certificate") != std::string::npos ||
             m.find("TLS") != std::string::npos;
  return PanelError{tls ? PanelErrorKind::kTls : PanelErrorKind::kConnection, 0, m, {}};
}

// The error an HTTP answer that is not a success means.
PanelError answer_error(const http::ClientResponse& r) {
  PanelError e;
  e.http_status = r.status;
  json body = json::parse(r.body, nullptr, false);
  bool is_json = !body.is_discarded() && body.is_object();
  if (r.status >= 500) {
    e.kind = PanelErrorKind::kServerError;
    e.detail = is_json && body.contains("detail") && body["detail"].is_string()
                   ? body["detail"].get<std::string>()
                   : "the panel failed (HTTP " + std::to_string(r.status) + ")";
    return e;
  }
  if (!is_json || !body.contains("detail")) {
    e.kind = PanelErrorKind::kBadResponse;
    e.detail = "the address did not answer like a Marzban panel (HTTP " + std::to_string(r.status) +
               (r.body.find('<') != std::string::npos ? ", HTML" : "") + ")";
    return e;
  }
  const json& d = body["detail"];
  if (d.is_string()) {
    e.detail = d.get<std::string>();
  } else if (d.is_object()) {
    for (const auto& [field, msg] : d.items()) {
      std::string text = msg.is_string() ? msg.get<std::string>() : msg.dump();
      e.fields[field] = text;
      e.detail += (e.detail.empty() ? "" : "; ") + field + ": " + text;
    }
  } else if (d.is_array()) {  // FastAPI's usual shape
    for (const auto& item : d) {
      std::string field = "body";
      if (item.contains("loc") && item["loc"].is_array() && !item["loc"].empty()) {
        const json& last = item["loc"].back();
        field = last.is_string() ? last.get<std::string>() : last.dump();
      }
      std::string text = item.value("msg", std::string("invalid"));
      e.fields[field] = text;
      e.detail += (e.detail.empty() ? "" : "; ") + field + ": " + text;
    }
  }
  switch (r.status) {
    case 400: e.kind = PanelErrorKind::kBadRequest; break;
    case 401: e.kind = PanelErrorKind::kUnauthorized; break;
    case 403: e.kind = PanelErrorKind::kForbidden; break;
    case 404:
      // FastAPI's own 404 means no such route: the URL or its path prefix is wrong.
      e.kind = e.detail == "Not Found" ? PanelErrorKind::kBadResponse : PanelErrorKind::kNotFound;
      if (e.kind == PanelErrorKind::kBadResponse) e.detail = "no Marzban API at this address (check the path)";
      break;
    case 405: e.kind = PanelErrorKind::kBadResponse; break;
    case 409: e.kind = PanelErrorKind::kConflict; break;
    case 422: e.kind = PanelErrorKind::kValidation; break;
    default: e.kind = PanelErrorKind::kBadRequest; break;
  }
  return e;
}

bool counts_against_health(const PanelError& e) {
  switch (e.kind) {
    case PanelErrorKind::kServerError:
    case PanelErrorKind::kTimeout:
    case PanelErrorKind::kConnection:
    case PanelErrorKind::kTls:
    case PanelErrorKind::kBadResponse:
    case PanelErrorKind::kUnauthorized: return true;
    default: return false;
  }
}

}  // namespace ms::panels::marzban_json
