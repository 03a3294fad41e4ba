// The address policy for requests the platform makes on a customer's behalf (panel URLs a
// customer typed): such a request must not reach the platform's own machine or network
// (loopback, private and link-local ranges incl. cloud metadata at 169.254.169.254, CGNAT,
// unique-local and link-local IPv6, multicast, reserved). Operators who run panels on their
// own network opt in with `panels.allow_private_addresses`.
//
// Two checks: check_public_url() resolves the URL's host before a flow starts and refuses it
// if ANY address is refused; CurlClient checks the address of every connection it opens for
// a request with the policy on (ClientRequest / CurlClientOptions::refuse_private_addresses),
// so a name that resolves differently later (DNS rebinding) still cannot reach a refused
// address. CurlClient follows no redirects, so a 3xx never leads anywhere.
// A refusal is ErrorCode::kPermissionDenied with a message starting with kAddressRefused.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

struct sockaddr;

namespace ms::http {

inline constexpr std::string_view kAddressRefused = "address not allowed";

// The name of the refused range `address` is in ("loopback", "private", "link-local", ...),
// or nullopt for an address a customer's request may reach.
std::optional<std::string_view> refused_range_v4(std::uint32_t address_host_order);
std::optional<std::string_view> refused_range_v6(const std::array<std::uint8_t, 16>& address);
// An IPv4 or IPv6 socket address; other families are refused as "not IP".
std::optional<std::string_view> refused_range(const sockaddr* address);
// A numeric address as text ("10.0.0.1", "::ffff:127.0.0.1"); nullopt also for a non-address.
std::optional<std::string_view> refused_range(std::string_view numeric_address);

// Resolves the host of an http(s) URL (numeric forms such as 2130706433 or 0177.0.0.1
// included) and refuses it if any of its addresses is in a refused range:
// kPermissionDenied "address not allowed: <host> is <range> (<address>)"; kInvalidArgument
// for a malformed URL; kUnavailable when the name does not resolve. Blocks for the lookup.
Result<void> check_public_url(const std::string& url);

// Whether `e` is a refusal by this policy (from check_public_url or a CurlClient request).
bool is_address_refusal(const Error& e);

}  // namespace ms::http
