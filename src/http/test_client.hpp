// A small blocking HTTP/1.1 client over POSIX sockets, for the http tests only (it is a
// header so that it never becomes part of ms_http). Every read has a receive timeout, so a
// broken server fails a test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ms::http::testing {

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class TestConnection {
 public:
  explicit TestConnection(std::uint16_t port, int recv_timeout_ms = 5000) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) {
      error_ = errno;
      return;
    }
    timeval tv{recv_timeout_ms / 1000, (recv_timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = errno;
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~TestConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  TestConnection(const TestConnection&) = delete;
  TestConnection& operator=(const TestConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  int error() const { return error_; }

  bool send(std::string_view raw) {
    while (!raw.empty()) {
      ssize_t n = ::send(fd_, raw.data(), raw.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      raw.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Sends one request; `extra_headers` are complete "Name: value\r\n" lines.
  bool send_request(std::string_view method, std::string_view target, std::string_view body = {},
                    std::string_view extra_headers = {}) {
    std::string raw;
    raw.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    raw.append(extra_headers);
    if (!body.empty() || method == "POST" || method == "PUT") {
      raw.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    raw.append("\r\n").append(body);
    return send(raw);
  }

  // Reads one response; nullopt on close, timeout or a malformed response. `head` means
  // the response has no body whatever Content-Length says.
  std::optional<ClientResponse> read_response(bool head = false) {
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    ClientResponse out;
    std::string_view head_text(buffer_.data(), end);
    auto line_end = head_text.find("\r\n");
    std::string_view status_line = head_text.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return std::nullopt;
    out.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    std::string_view rest = line_end == std::string_view::npos ? std::string_view() : head_text.substr(line_end + 2);
    while (!rest.empty()) {
      auto eol = rest.find("\r\n");
      std::string_view line = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name(line.substr(0, colon));
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      out.headers[name] = std::string(value);
    }
    buffer_.erase(0, end + 4);
    std::size_t length = 0;
    if (!head && out.headers.count("content-length")) length = std::stoul(out.headers["content-length"]);
    while (buffer_.size() < length) {
      if (!fill()) return std::nullopt;
    }
    out.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return out;
  }

  std::optional<ClientResponse> request(std::string_view method, std::string_view target, std::string_view body = {},
                                        std::string_view extra_headers = {}) {
    if (!send_request(method, target, body, extra_headers)) return std::nullopt;
    return read_response(method == "HEAD");
  }

  // True if the server closes the connection (orderly or reset) before the receive timeout.
  bool wait_closed() {
    char c;
    for (;;) {
      ssize_t n = ::recv(fd_, &c, 1, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  bool fill() {
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  int error_ = 0;
  std::string buffer_;
};

// One request on a fresh connection.
inline std::optional<ClientResponse> fetch(std::uint16_t port, std::string_view method, std::string_view target,
                                           std::string_view body = {}, std::string_view extra_headers = {}) {
  TestConnection conn(port);
  if (!conn.connected()) return std::nullopt;
  return conn.request(method, target, body, extra_headers);
}

}  // namespace ms::http::testing
