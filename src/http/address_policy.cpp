#include "http/address_policy.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

namespace ms::http {

namespace {

struct V4Range {
  std::uint32_t base;
  int bits;
  std::string_view name;
};

constexpr std::uint32_t ip4(int a, int b, int c, int d) {
  return (static_cast<std::uint32_t>(a) << 24) | (static_cast<std::uint32_t>(b) << 16) |
         (static_cast<std::uint32_t>(c) << 8) | static_cast<std::uint32_t>(d);
}

constexpr std::array kV4Refused = {
    V4Range{ip4(0, 0, 0, 0), 8, "this network"},
    V4Range{ip4(10, 0, 0, 0), 8, "private"},
    V4Range{ip4(100, 64, 0, 0), 10, "shared (carrier-grade NAT)"},
    V4Range{ip4(127, 0, 0, 0), 8, "loopback"},
    V4Range{ip4(169, 254, 0, 0), 16, "link-local"},
    V4Range{ip4(172, 16, 0, 0), 12, "private"},
    V4Range{ip4(192, 0, 0, 0), 24, "reserved"},
    V4Range{ip4(192, 168, 0, 0), 16, "private"},
    V4Range{ip4(198, 18, 0, 0), 15, "reserved"},
    V4Range{ip4(224, 0, 0, 0), 4, "multicast"},
    V4Range{ip4(240, 0, 0, 0), 4, "reserved"},  // includes 255.255.255.255
};

std::uint32_t embedded_v4(const std::array<std::uint8_t, 16>& a, int at) {
  return (static_cast<std::uint32_t>(a[at]) << 24) | (static_cast<std::uint32_t>(a[at + 1]) << 16) |
         (static_cast<std::uint32_t>(a[at + 2]) << 8) | static_cast<std::uint32_t>(a[at + 3]);
}

bool all_zero(const std::array<std::uint8_t, 16>& a, int from, int to) {
  for (int i = from; i < to; ++i)
    if (a[i] != 0) return false;
  return true;
}

}  // namespace

std::optional<std::string_view> refused_range_v4(std::uint32_t address) {
  for (const auto& r : kV4Refused) {
    const std::uint32_t mask = r.bits == 0 ? 0 : ~std::uint32_t{0} << (32 - r.bits);
    if ((address & mask) == r.base) return r.name;
  }
  return std::nullopt;
}

std::optional<std::string_view> refused_range_v6(const std::array<std::uint8_t, 16>& a) {
  if (all_zero(a, 0, 15) && a[15] == 1) return "loopback";
  if (all_zero(a, 0, 16)) return "unspecified";
  // ::ffff:a.b.c.d (v4-mapped) and ::a.b.c.d (v4-compatible): the IPv4 address decides,
  // and a v4-compatible one is refused in any case (deprecated, never a real panel).
  if (all_zero(a, 0, 10) && a[10] == 0xff && a[11] == 0xff) return refused_range_v4(embedded_v4(a, 12));
  if (all_zero(a, 0, 12)) return "reserved";
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that is reached in the end.
  if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && all_zero(a, 4, 12)) {
    return refused_range_v4(embedded_v4(a, 12));
  }
  if (a[0] == 0x20 && a[1] == 0x02) return refused_range_v4(embedded_v4(a, 2));
  if ((a[0] & 0xfe) == 0xfc) return "unique local";                // fc00::/7
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return "link-local";  // fe80::/10
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return "site-local";  // fec0::/10 (deprecated)
  if (a[0] == 0xff) return "multicast";                            // ff00::/8
  if (a[0] == 0x01 && all_zero(a, 1, 8)) return "reserved";        // 100::/64 discard
  return std::nullopt;
}

std::optional<std::string_view> refused_range(const sockaddr* address) {
  if (address == nullptr) return "not IP";
  if (address->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    return refused_range_v4(ntohl(in.sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof in6);
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &in6.sin6_addr, 16);
    return refused_range_v6(bytes);
  }
  return "not IP";
}

std::optional<std::string_view> refused_range(std::string_view numeric_address) {
  std::string text(numeric_address);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return refused_range_v4(ntohl(v4.s_addr));
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &v6, 16);
    return refused_range_v6(bytes);
  }
  return std::nullopt;
}

Result<void> check_public_url(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return fail(ErrorCode::kInvalidArgument, "malformed URL");
  }
  char* raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK || raw == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "URL has no host");
  }
  std::string host(raw);
  curl_free(raw);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (auto zone = host.find('%'); zone != std::string::npos) host.resize(zone);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  // getaddrinfo reads numeric forms the way connect would (2130706433, 0177.0.0.1, 0x7f.1).
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || found == nullptr) {
    return fail(ErrorCode::kUnavailable, "cannot resolve " + host + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, &freeaddrinfo);
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (auto range = refused_range(a->ai_addr)) {
      char text[INET6_ADDRSTRLEN] = {};
      if (a->ai_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr, text, sizeof text);
      } else if (a->ai_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr, text, sizeof text);
      }
      return fail(ErrorCode::kPermissionDenied,
                  std::string(kAddressRefused) + ": " + host + " is " + std::string(*range) + " (" + text + ")");
    }
  }
  return {};
}

bool is_address_refusal(const Error& e) {
  return e.code == ErrorCode::kPermissionDenied && e.message.find(kAddressRefused) != std::string::npos;
}

}  // namespace ms::http
