// MarzbanPanel's insides, not for use outside panels/: Marzban's JSON answers mapped to our
// types (accounts, system stats, errors) and the small readers they are built from. Nothing
// here talks to a panel; marzban.cpp does the HTTP.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "http/client.hpp"
#include "panels/panel.hpp"

namespace ms::panels::marzban_json {

using nlohmann::json;

// "2026-11-26T02:14:04.179724" (naive UTC, as Marzban sends) -> unix seconds. A zone
// suffix, if a panel ever sends one, is honoured.
std::optional<std::int64_t> parse_datetime(std::string_view s);
// A number member (floats truncated), else `fallback`.
std::int64_t int_or(const json& j, const char* key, std::int64_t fallback = 0);
// A string member, else "".
std::string string_or(const json& j, const char* key);
// A datetime member (parse_datetime), else nullopt.
std::optional<std::int64_t> opt_time(const json& j, const char* key);

// Marzban without a subscription prefix sends "/sub/...": made absolute against the origin
// of the panel at `base`; absolute URLs and "" stay as they are.
std::string absolute_url(const std::string& url, std::string_view base);
// A user object -> Account; kBadResponse when it lacks username/status or has an unknown
// status.
PanelResult<Account> account_from_json(const json& j, std::string_view base);
// GET /api/system -> SystemStats; kBadResponse without a version.
PanelResult<SystemStats> system_from_json(const json& j);

// A failed exchange (no answer) as a PanelError; `timeout` is named in a timeout's detail.
PanelError transport_error(const Error& e, std::chrono::milliseconds timeout);
// The error an HTTP answer that is not a success means (FastAPI's detail shapes read).
PanelError answer_error(const http::ClientResponse& r);
// Errors that say the panel is unwell (as opposed to a refusal of this one request).
bool counts_against_health(const PanelError& e);

}  // namespace ms::panels::marzban_json
