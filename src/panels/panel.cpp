#include "panels/panel.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace ms::panels {

namespace {

template <class E, std::size_t N>
std::optional<E> parse_from(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view text) {
  for (const auto& [value, name] : table)
    if (name == text) return value;
  return std::nullopt;
}

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "unknown";
}

constexpr std::array kKinds = {
    std::pair{PanelErrorKind::kBadRequest, std::string_view("bad_request")},
    std::pair{PanelErrorKind::kUnauthorized, std::string_view("unauthorized")},
    std::pair{PanelErrorKind::kForbidden, std::string_view("forbidden")},
    std::pair{PanelErrorKind::kNotFound, std::string_view("not_found")},
    std::pair{PanelErrorKind::kConflict, std::string_view("conflict")},
    std::pair{PanelErrorKind::kValidation, std::string_view("validation")},
    std::pair{PanelErrorKind::kServerError, std::string_view("server_error")},
    std::pair{PanelErrorKind::kTimeout, std::string_view("timeout")},
    std::pair{PanelErrorKind::kConnection, std::string_view("connection")},
    std::pair{PanelErrorKind::kTls, std::string_view("tls")},
    std::pair{PanelErrorKind::kBadResponse, std::string_view("bad_response")},
    std::pair{PanelErrorKind::kDown, std::string_view("down")},
    std::pair{PanelErrorKind::kBusy, std::string_view("busy")},
    std::pair{PanelErrorKind::kAddressRefused, std::string_view("address_refused")},
};

constexpr std::array kProtocols = {
    std::pair{Protocol::kVmess, std::string_view("vmess")},
    std::pair{Protocol::kVless, std::string_view("vless")},
    std::pair{Protocol::kTrojan, std::string_view("trojan")},
    std::pair{Protocol::kShadowsocks, std::string_view("shadowsocks")},
};

constexpr std::array kStatuses = {
    std::pair{AccountStatus::kActive, std::string_view("active")},
    std::pair{AccountStatus::kDisabled, std::string_view("disabled")},
    std::pair{AccountStatus::kLimited, std::string_view("limited")},
    std::pair{AccountStatus::kExpired, std::string_view("expired")},
    std::pair{AccountStatus::kOnHold, std::string_view("on_hold")},
};

constexpr std::array kResets = {
    std::pair{ResetStrategy::kNoReset, std::string_view("no_reset")},
    std::pair{ResetStrategy::kDay, std::string_view("day")},
    std::pair{ResetStrategy::kWeek, std::string_view("week")},
    std::pair{ResetStrategy::kMonth, std::string_view("month")},
    std::pair{ResetStrategy::kYear, std::string_view("year")},
};

}  // namespace

std::string_view to_string(PanelErrorKind kind) { return name_of(kKinds, kind); }
std::string_view to_string(Protocol p) { return name_of(kProtocols, p); }
std::optional<Protocol> parse_protocol(std::string_view text) { return parse_from(kProtocols, text); }
std::string_view to_string(AccountStatus s) { return name_of(kStatuses, s); }
std::optional<AccountStatus> parse_account_status(std::string_view text) { return parse_from(kStatuses, text); }
std::string_view to_string(ResetStrategy r) { return name_of(kResets, r); }
std::optional<ResetStrategy> parse_reset_strategy(std::string_view text) { return parse_from(kResets, text); }

std::string PanelError::message_key() const { return "panel.error." + std::string(to_string(kind)); }

std::string PanelError::describe() const {
  std::string out(to_string(kind));
  if (http_status != 0) out += " (" + std::to_string(http_status) + ")";
  if (!detail.empty()) out += ": " + detail;
  return out;
}

Error PanelError::to_error() const {
  ErrorCode code = ErrorCode::kInternal;
  switch (kind) {
    case PanelErrorKind::kBadRequest:
    case PanelErrorKind::kValidation: code = ErrorCode::kInvalidArgument; break;
    case PanelErrorKind::kUnauthorized: code = ErrorCode::kUnauthenticated; break;
    case PanelErrorKind::kForbidden:
    case PanelErrorKind::kAddressRefused: code = ErrorCode::kPermissionDenied; break;
    case PanelErrorKind::kNotFound: code = ErrorCode::kNotFound; break;
    case PanelErrorKind::kConflict: code = ErrorCode::kAlreadyExists; break;
    case PanelErrorKind::kTimeout: code = ErrorCode::kTimeout; break;
    case PanelErrorKind::kBusy: code = ErrorCode::kLimitExceeded; break;
    case PanelErrorKind::kServerError:
    case PanelErrorKind::kConnection:
    case PanelErrorKind::kTls:
    case PanelErrorKind::kBadResponse:
    case PanelErrorKind::kDown: code = ErrorCode::kUnavailable; break;
  }
  return Error{code, "panel: " + describe()};
}

bool PanelError::transient() const {
  switch (kind) {
    case PanelErrorKind::kServerError:
    case PanelErrorKind::kTimeout:
    case PanelErrorKind::kConnection:
    case PanelErrorKind::kDown:
    case PanelErrorKind::kBusy: return true;
    default: return false;
  }
}

std::optional<std::int64_t> Account::remaining_bytes() const {
  if (data_limit_bytes <= 0) return std::nullopt;
  return std::max<std::int64_t>(0, data_limit_bytes - used_bytes);
}

PanelResult<RenewalPlan> plan_renewal(const Account& current, const Renewal& renewal, std::int64_t now) {
  if (renewal.extend_seconds < 0 || renewal.add_bytes < 0) {
    return panel_fail(PanelErrorKind::kValidation, "a renewal cannot take time or traffic away");
  }
  RenewalPlan plan;
  auto add = [](std::int64_t a, std::int64_t b) -> std::optional<std::int64_t> {
    std::int64_t out = 0;
    if (__builtin_add_overflow(a, b, &out)) return std::nullopt;
    return out;
  };
  if (renewal.extend_seconds > 0) {
    std::int64_t from = now;
    // An unlimited account stays unlimited in time unless the period is fresh.
    if (renewal.carry_over && current.expire_at == 0 && current.status != AccountStatus::kOnHold) {
      from = -1;
    } else if (renewal.carry_over && current.expire_at > now) {
      from = current.expire_at;
    }
    if (from >= 0) {
      auto until = add(from, renewal.extend_seconds);
      if (!until) return panel_fail(PanelErrorKind::kValidation, "the new expiry is out of range");
      plan.changes.expire_at = *until;
    }
  }
  if (renewal.carry_over) {
    if (renewal.add_bytes > 0 && current.data_limit_bytes > 0) {
      auto limit = add(current.data_limit_bytes, renewal.add_bytes);
      if (!limit) return panel_fail(PanelErrorKind::kValidation, "the new data limit is out of range");
      plan.changes.data_limit_bytes = *limit;
    }
  } else {
    plan.reset_usage = true;
    if (renewal.add_bytes > 0) plan.changes.data_limit_bytes = renewal.add_bytes;
  }
  return plan;
}

}  // namespace ms::panels
