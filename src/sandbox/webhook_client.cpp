#include "sandbox/webhook_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace ms::sandbox {
namespace {

using SteadyClock = std::chrono::steady_clock;

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Waits for `events` on fd until `deadline`; false on timeout or error.
bool wait_for(int fd, short events, SteadyClock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace

Result<WebhookUrl> parse_webhook_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() <= kScheme.size()) return fail(ErrorCode::kInvalidArgument, "invalid webhook URL");
  std::string scheme(url.substr(0, kScheme.size()));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != kScheme) return fail(ErrorCode::kInvalidArgument, "only http:// webhooks are delivered by the sandbox");
  std::string_view rest = url.substr(kScheme.size());
  auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  WebhookUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!out.target.empty() && out.target.front() == '?') out.target.insert(0, "/");
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "invalid webhook URL");
  }
  std::string_view host = authority;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "invalid webhook URL");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') return fail(ErrorCode::kInvalidArgument, "invalid webhook URL");
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (!authority.empty()) {
    std::string_view port = authority.substr(1);
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) {
      return fail(ErrorCode::kInvalidArgument, "invalid webhook URL");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  out.host = std::string(host);
  in_addr v4{};
  bool loopback = out.host == "localhost" || out.host == "::1" ||
                  (::inet_pton(AF_INET, out.host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127);
  if (!loopback) return fail(ErrorCode::kPermissionDenied, "webhooks must point to a loopback address");
  return out;
}

Result<WebhookResponse> post_json(const WebhookUrl& url, std::string_view body,
                                  const std::vector<std::pair<std::string, std::string>>& headers,
                                  std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  bool v6 = url.host == "::1";
  Socket sock(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (sock.fd() < 0) return fail(ErrorCode::kUnavailable, "Can't connect to the webhook");
  int one = 1;
  ::setsockopt(sock.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc;
  if (v6) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(url.port);
    addr.sin6_addr = in6addr_loopback;
    rc = ::connect(sock.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(url.port);
    if (url.host == "localhost" || ::inet_pton(AF_INET, url.host.c_str(), &addr.sin_addr) != 1) {
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    rc = ::connect(sock.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  if (rc != 0 && errno != EINPROGRESS) return fail(ErrorCode::kUnavailable, "Can't connect to the webhook");
  if (rc != 0) {
    if (!wait_for(sock.fd(), POLLOUT, deadline)) return fail(ErrorCode::kTimeout, "Can't connect to the webhook");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(sock.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(ErrorCode::kUnavailable, "Can't connect to the webhook");
  }

  std::string request = "POST " + url.target + " HTTP/1.1\r\nHost: " + url.host + ":" + std::to_string(url.port) +
                        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  request.append(body);
  std::string_view out = request;
  while (!out.empty()) {
    ssize_t n = ::send(sock.fd(), out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!wait_for(sock.fd(), POLLOUT, deadline)) return fail(ErrorCode::kTimeout, "Webhook request timed out");
      continue;
    }
    return fail(ErrorCode::kUnavailable, "Webhook connection closed");
  }

  // Only the status line matters; read until it is complete.
  std::string in;
  while (in.find("\r\n") == std::string::npos) {
    char buf[4096];
    ssize_t n = ::recv(sock.fd(), buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!wait_for(sock.fd(), POLLIN, deadline)) return fail(ErrorCode::kTimeout, "Webhook request timed out");
      continue;
    }
    return fail(ErrorCode::kUnavailable, "Webhook connection closed");
  }
  std::string_view line(in.data(), in.find("\r\n"));
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/") return fail(ErrorCode::kUnavailable, "Wrong response from the webhook");
  WebhookResponse response;
  auto [p, ec] = std::from_chars(line.data() + 9, line.data() + 12, response.status);
  if (ec != std::errc()) return fail(ErrorCode::kUnavailable, "Wrong response from the webhook");
  response.reason = line.size() > 13 ? std::string(line.substr(13)) : std::string();
  return response;
}

}  // namespace ms::sandbox
