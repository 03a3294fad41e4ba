// TlsFront: HTTPS for the test panel. Terminates TLS on 127.0.0.1 and relays the bytes of
// each connection to the plain HTTP server on another loopback port, so src/http stays
// plain and Asio's TLS lives only in this test translation unit. A connection the backend
// closes (a dropped-connection fault) is closed on the TLS side too.
// Thread-safety: start() and stop() from one thread; port() from any.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"

namespace ms::marzban_test {

class TlsFront {
 public:
  TlsFront();
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // Listens on 127.0.0.1:`port` (0: any free port). kInvalidArgument for unreadable PEM
  // files, kUnavailable when the port cannot be bound.
  Result<void> start(const std::string& cert_file, const std::string& key_file, std::uint16_t port,
                     std::uint16_t backend_port);
  void stop();
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ms::marzban_test
