#include "tls_front.hpp"

#include <atomic>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace ms::marzban_test {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

struct TlsFront::Impl {
  asio::io_context ioc;
  asio::ssl::context ssl{asio::ssl::context::tls_server};
  std::unique_ptr<tcp::acceptor> acceptor;
  std::uint16_t backend_port = 0;
  std::atomic<std::uint16_t> port{0};
  std::thread thread;

  using Stream = asio::ssl::stream<tcp::socket>;

  template <class From, class To>
  static asio::awaitable<void> pump(From& from, To& to, std::shared_ptr<void> /*keep*/) {
    std::array<char, 16384> buf{};
    for (;;) {
      error_code ec;
      std::size_t n = co_await from.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec || n == 0) break;
      co_await asio::async_write(to, asio::buffer(buf.data(), n), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    error_code ignored;
    to.lowest_layer().close(ignored);
    from.lowest_layer().close(ignored);
  }

  asio::awaitable<void> relay(tcp::socket socket) {
    struct Pair {
      Stream tls;
      tcp::socket plain;
      Pair(tcp::socket s, asio::ssl::context& ctx) : tls(std::move(s), ctx), plain(tls.get_executor()) {}
    };
    auto pair = std::make_shared<Pair>(std::move(socket), ssl);
    error_code ec;
    co_await pair->tls.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // e.g. the client refused our certificate
    co_await pair->plain.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), backend_port),
                                       asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    auto ex = pair->plain.get_executor();
    asio::co_spawn(ex, pump(pair->tls, pair->plain, pair), asio::detached);
    asio::co_spawn(ex, pump(pair->plain, pair->tls, pair), asio::detached);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      tcp::socket socket = co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(ioc, relay(std::move(socket)), asio::detached);
    }
  }
};

TlsFront::TlsFront() : impl_(std::make_unique<Impl>()) {}
TlsFront::~TlsFront() { stop(); }

Result<void> TlsFront::start(const std::string& cert_file, const std::string& key_file, std::uint16_t port,
                             std::uint16_t backend_port) {
  error_code ec;
  impl_->ssl.use_certificate_chain_file(cert_file, ec);
  if (!ec) impl_->ssl.use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "TLS certificate or key: " + ec.message());
  impl_->backend_port = backend_port;
  impl_->acceptor = std::make_unique<tcp::acceptor>(impl_->ioc);
  tcp::endpoint ep(asio::ip::address_v4::loopback(), port);
  impl_->acceptor->open(ep.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(ep, ec);
  if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ErrorCode::kUnavailable, "TLS front cannot listen: " + ec.message());
  impl_->port = impl_->acceptor->local_endpoint().port();
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
  return ok();
}

void TlsFront::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->ioc.stop();
  impl_->thread.join();
}

std::uint16_t TlsFront::port() const { return impl_->port; }

}  // namespace ms::marzban_test
