// The only translation unit of ms_http that sees Boost.Asio and Boost.Beast.
#include <utility>  // Boost 1.74 awaitable.hpp needs std::exchange declared first

#include "http/server.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace ms::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr auto kRedirect = [](error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); };
// How long a connection we reject stays open to swallow the rest of the client's request,
// so that the client reads our error response instead of a TCP reset.
constexpr std::chrono::milliseconds kLingerTime{1000};

// Whether the server's io_context still exists: a Responder called late from a worker
// thread must not post to a destroyed executor.
struct Liveness {
  std::mutex mutex;
  bool alive = true;
};

// One accepted connection. Every field is touched only on the connection's strand.
struct Conn {
  explicit Conn(tcp::socket s) : socket(std::move(s)), watchdog(socket.get_executor()) {}

  tcp::socket socket;
  asio::steady_timer watchdog;  // cancels socket I/O once `deadline` passes
  SteadyTime deadline = SteadyTime::max();
  bool timed_out = false;  // the last I/O was cancelled by the deadline
  bool idle = true;        // waiting for the first byte of a request
  bool closed = false;
  bool forced = false;                               // stop()'s grace period ran out
  std::shared_ptr<asio::steady_timer> handler_wait;  // while a handler is running
};

void arm(Conn& c, std::chrono::milliseconds d) {
  c.timed_out = false;
  c.deadline = std::chrono::steady_clock::now() + d;
  // The watchdog sleeps until the old deadline; wake it if the new one is earlier.
  if (c.deadline < c.watchdog.expiry()) c.watchdog.cancel();
}

void disarm(Conn& c) { c.deadline = SteadyTime::max(); }

bool is_http_parse_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

bool clean_header_text(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

}  // namespace

Result<ListenAddress> parse_listen(std::string_view listen) {
  ListenAddress out;
  std::string_view port_text;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return fail(ErrorCode::kInvalidArgument, "listen address must look like [::1]:8080");
    }
    out.host = std::string(listen.substr(1, close - 1));
    if (out.host.empty()) return fail(ErrorCode::kInvalidArgument, "empty IPv6 host in listen address");
    port_text = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument, "listen address must be host:port, got '" + std::string(listen) + "'");
    }
    out.host = std::string(listen.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return fail(ErrorCode::kInvalidArgument, "IPv6 listen addresses need brackets: [::1]:8080");
    }
    port_text = listen.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return fail(ErrorCode::kInvalidArgument, "bad port in listen address");
  unsigned port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return fail(ErrorCode::kInvalidArgument, "bad port in listen address");
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return fail(ErrorCode::kInvalidArgument, "port out of range in listen address");
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

class Server::Impl {
 public:
  Impl(ServerOptions options, const Clock& clock) : opts_(std::move(options)), clock_(clock) {}

  ~Impl() {
    stop(std::chrono::milliseconds(0));
    {
      std::lock_guard lock(liveness_->mutex);
      liveness_->alive = false;
    }
    signals_.reset();
    acceptor_.reset();
    ioc_.reset();  // destroys suspended coroutines before the router and chain they point into
  }

  Router router_;
  MiddlewareChain chain_;

  Result<void> start() {
    std::lock_guard life(lifecycle_mutex_);
    if (started_) return fail(ErrorCode::kConflict, "server was already started");
    auto addr = parse_listen(opts_.listen);
    if (!addr) return fail(addr.error());
    error_code ec;
    asio::ip::address ip;
    if (addr->host.empty()) {
      ip = asio::ip::address_v6::any();
    } else if (addr->host == "localhost") {
      ip = asio::ip::address_v4::loopback();
    } else {
      ip = asio::ip::make_address(addr->host, ec);
      if (ec) return fail(ErrorCode::kInvalidArgument, "listen host '" + addr->host + "' is not an IP address");
    }
    ioc_ = std::make_unique<asio::io_context>(std::max(1, opts_.threads));
    acceptor_ = std::make_unique<tcp::acceptor>(asio::make_strand(*ioc_));
    tcp::endpoint endpoint(ip, addr->port);
    auto failed = [&](const char* what) {
      acceptor_.reset();
      ioc_.reset();
      return fail(ErrorCode::kUnavailable, "cannot " + std::string(what) + " " + opts_.listen + ": " + ec.message());
    };
    if (acceptor_->open(endpoint.protocol(), ec)) return failed("open");
    if (ip.is_v6() && addr->host.empty()) acceptor_->set_option(asio::ip::v6_only(false), ec);
    if (acceptor_->set_option(asio::socket_base::reuse_address(true), ec)) return failed("configure");
    if (acceptor_->bind(endpoint, ec)) return failed("bind");
    if (acceptor_->listen(asio::socket_base::max_listen_connections, ec)) return failed("listen on");
    port_ = acceptor_->local_endpoint(ec).port();

    started_ = true;
    running_ = true;
    work_.emplace(ioc_->get_executor());
    asio::co_spawn(acceptor_->get_executor(), accept_loop(), asio::detached);
    for (int i = 0; i < std::max(1, opts_.threads); ++i) {
      threads_.emplace_back([this] { run_loop(); });
    }
    spdlog::info("http server listening on {} (port {})", opts_.listen, port_.load());
    return ok();
  }

  std::uint16_t bound_port() const { return port_; }
  bool running() const { return running_; }
  bool accepting() const { return running_ && !stopping_; }

  void begin_stop() {
    std::lock_guard life(lifecycle_mutex_);
    begin_stop_locked();
  }

  void stop(std::chrono::milliseconds grace) {
    std::lock_guard life(lifecycle_mutex_);
    if (!running_) return;
    begin_stop_locked();
    auto deadline = std::chrono::steady_clock::now() + grace;
    std::unique_lock lock(conns_mutex_);
    if (!conns_cv_.wait_until(lock, deadline, [&] { return conns_.empty(); })) {
      spdlog::warn("http server: grace period over, closing {} connection(s)", conns_.size());
      for (auto& [id, weak] : conns_) {
        if (auto c = weak.lock()) post_force_close(c);
      }
      // Forced sessions unwind in a few event-loop turns.
      conns_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return conns_.empty(); });
    }
    lock.unlock();
    work_.reset();
    ioc_->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    {
      std::lock_guard s(signal_mutex_);
      running_ = false;
    }
    signal_cv_.notify_all();
    spdlog::info("http server on port {} stopped", port_.load());
  }

  void run_until_signal(std::chrono::milliseconds grace, const std::function<void()>& on_armed) {
    std::future<void> handler_done;
    {
      std::lock_guard life(lifecycle_mutex_);
      if (!running_) return;
      signalled_ = false;
      signals_ = std::make_unique<asio::signal_set>(asio::make_strand(*ioc_), SIGINT, SIGTERM);
      auto done = std::make_shared<std::promise<void>>();
      handler_done = done->get_future();
      signals_->async_wait([this, done](const error_code& ec, int signal_number) {
        if (!ec) {
          spdlog::info("http server: signal {} received, stopping", signal_number);
          std::lock_guard s(signal_mutex_);
          signalled_ = true;
        }
        signal_cv_.notify_all();
        done->set_value();
      });
    }
    if (on_armed) on_armed();
    {
      std::unique_lock s(signal_mutex_);
      signal_cv_.wait(s, [&] { return signalled_ || !running_; });
    }
    {
      std::lock_guard life(lifecycle_mutex_);
      if (running_) {
        // Stopped by a signal: the handler already ran. Otherwise cancel it on its strand.
        if (!signalled_) asio::post(signals_->get_executor(), [this] { signals_->cancel(); });
        handler_done.wait();
      }
      // When not running, the threads are joined and nothing else touches signals_.
      signals_.reset();
    }
    stop(grace);
  }

 private:
  void run_loop() {
    for (;;) {
      try {
        ioc_->run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("http server event loop: {}", e.what());
      }
    }
  }

  void begin_stop_locked() {
    if (!running_ || stopping_) return;
    stopping_ = true;
    std::promise<void> closed;
    asio::post(acceptor_->get_executor(), [&] {
      error_code ec;
      acceptor_->close(ec);
      closed.set_value();
    });
    closed.get_future().wait();
    std::lock_guard lock(conns_mutex_);
    for (auto& [id, weak] : conns_) {
      if (auto c = weak.lock()) {
        asio::post(c->socket.get_executor(), [c] {
          error_code ec;
          if (c->idle) c->socket.cancel(ec);
        });
      }
    }
  }

  void post_force_close(const std::shared_ptr<Conn>& c) {
    asio::post(c->socket.get_executor(), [c] {
      c->forced = true;
      error_code ec;
      c->socket.cancel(ec);
      if (c->handler_wait) c->handler_wait->cancel();
    });
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      asio::any_io_executor strand = asio::make_strand(*ioc_);
      tcp::socket socket = co_await acceptor_->async_accept(strand, kRedirect(ec));
      if (ec) {
        if (stopping_ || !acceptor_->is_open()) co_return;
        spdlog::warn("http accept failed: {}", ec.message());
        // Typically out of file descriptors: back off instead of spinning.
        asio::steady_timer pause(acceptor_->get_executor(), std::chrono::milliseconds(50));
        co_await pause.async_wait(kRedirect(ec));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto conn = std::make_shared<Conn>(std::move(socket));
      asio::co_spawn(conn->socket.get_executor(), session(conn), asio::detached);
    }
  }

  asio::awaitable<void> watchdog(std::shared_ptr<Conn> c) {
    while (!c->closed) {
      c->watchdog.expires_at(c->deadline);
      error_code ec;
      co_await c->watchdog.async_wait(kRedirect(ec));
      if (c->closed) break;
      if (std::chrono::steady_clock::now() >= c->deadline) {
        c->timed_out = true;
        c->deadline = SteadyTime::max();
        c->socket.cancel(ec);
      }
    }
  }

  asio::awaitable<void> session(std::shared_ptr<Conn> c) {
    std::uint64_t id = 0;
    {
      std::lock_guard lock(conns_mutex_);
      id = ++next_conn_id_;
      conns_.emplace(id, c);
    }
    asio::co_spawn(c->socket.get_executor(), watchdog(c), asio::detached);
    try {
      beast::flat_buffer buffer;
      for (;;) {
        c->idle = true;
        if (stopping_ || c->forced) break;
        if (buffer.size() == 0) {
          arm(*c, opts_.idle_timeout);
          error_code ec;
          std::size_t n = co_await c->socket.async_read_some(buffer.prepare(8192), kRedirect(ec));
          if (ec) break;  // peer closed, idle timeout or stop: nothing to answer
          buffer.commit(n);
        }
        c->idle = false;
        if (!co_await serve_one(c, buffer)) break;
      }
    } catch (const std::exception& e) {
      spdlog::error("http connection failed: {}", e.what());
    }
    c->closed = true;
    c->watchdog.cancel();
    error_code ec;
    c->socket.shutdown(tcp::socket::shutdown_both, ec);
    c->socket.close(ec);
    {
      std::lock_guard lock(conns_mutex_);
      conns_.erase(id);
    }
    conns_cv_.notify_all();
  }

  // Reads, handles and answers one request. Returns whether the connection stays open.
  asio::awaitable<bool> serve_one(std::shared_ptr<Conn> c, beast::flat_buffer& buffer) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts_.header_limit));
    parser.body_limit(opts_.body_limit);
    error_code ec;
    arm(*c, opts_.header_timeout);
    co_await bhttp::async_read_header(c->socket, buffer, parser, kRedirect(ec));
    if (!ec && !parser.is_done()) {
      auto expect = parser.get()[bhttp::field::expect];
      if (iequals(std::string_view(expect.data(), expect.size()), "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        arm(*c, opts_.body_timeout);
        co_await asio::async_write(c->socket, asio::buffer(kContinue.data(), kContinue.size()), kRedirect(ec));
      }
      if (!ec) {
        arm(*c, opts_.body_timeout);
        co_await bhttp::async_read(c->socket, buffer, parser, kRedirect(ec));
      }
    }
    disarm(*c);
    if (ec) {
      if (c->forced) co_return false;
      if (c->timed_out) {
        co_await reject(c, Response::error(408, "request_timeout", "request not received in time"));
      } else if (ec == bhttp::error::body_limit) {
        co_await reject(c, Response::error(413, "payload_too_large",
                                           "body larger than " + std::to_string(opts_.body_limit) + " bytes"));
      } else if (ec == bhttp::error::header_limit) {
        co_await reject(c, Response::error(431, "header_too_large", "request header too large"));
      } else if (is_http_parse_error(ec)) {
        co_await reject(c, Response::error(400, "bad_request", "malformed HTTP request"));
      }
      co_return false;
    }

    auto& msg = parser.get();
    auto req = std::make_shared<Request>();
    req->received_at = clock_.steady_now();
    auto method = parse_method(std::string_view(msg.method_string().data(), msg.method_string().size()));
    if (!method) {
      co_await reject(c, Response::error(501, "unsupported_method", "method not supported"));
      co_return false;
    }
    req->method = *method;
    if (auto t = req->set_target(std::string_view(msg.target().data(), msg.target().size())); !t) {
      co_await reject(c, Response::error(400, "bad_request", t.error().message));
      co_return false;
    }
    for (const auto& field : msg) {
      req->headers.add(std::string_view(field.name_string().data(), field.name_string().size()),
                       std::string_view(field.value().data(), field.value().size()));
    }
    req->body = std::move(msg.body());
    error_code peer_ec;
    auto peer = c->socket.remote_endpoint(peer_ec);
    if (!peer_ec) req->remote_address = peer.address().to_string();

    Response res = co_await handle(c, req);
    if (c->forced || res.drop_connection) co_return false;
    bool keep_alive = msg.keep_alive() && !stopping_;
    bool wrote = co_await write(c, std::move(res), msg.version(), keep_alive, req->method == Method::kHead);
    co_return wrote&& keep_alive && !stopping_;
  }

  // Runs middleware and the handler; waits for the Responder or the handler timeout.
  asio::awaitable<Response> handle(std::shared_ptr<Conn> c, std::shared_ptr<Request> req) {
    auto wait = std::make_shared<asio::steady_timer>(c->socket.get_executor());
    wait->expires_after(opts_.handler_timeout);
    std::weak_ptr<asio::steady_timer> weak_wait = wait;
    // The callback may run on a foreign thread, even after the server is gone; it holds no
    // executor (whose destruction would touch the io_context) and posts only while alive.
    Responder respond(
        [live = liveness_, weak_wait] {
          std::lock_guard lock(live->mutex);
          if (!live->alive) return;
          if (auto w = weak_wait.lock()) {
            asio::post(w->get_executor(), [weak_wait] {
              if (auto timer = weak_wait.lock()) timer->cancel();
            });
          }
        },
        req);

    // Resolve first so that middleware sees the route pattern (auth exemptions, metrics).
    RouteMatch route = router_.resolve(*req);
    BeforeOutcome before = run_before(chain_, *req);
    if (before.response) {
      respond(std::move(*before.response));
    } else {
      router_.dispatch(*req, route, respond);
    }
    if (!respond.done()) {
      c->handler_wait = wait;
      error_code ec;
      co_await wait->async_wait(kRedirect(ec));
      c->handler_wait.reset();
    }
    std::optional<Response> res = respond.take();
    if (!res) {
      if (respond.abandon()) {
        if (!c->forced) {
          spdlog::warn("http handler {} {} did not answer within {} ms", to_string(req->method), req->route,
                       opts_.handler_timeout.count());
        }
        res = Response::error(504, "timeout", "the request took too long");
      } else {
        res = respond.take();  // answered between take() and abandon()
      }
    }
    if (!res) res = Response::error(500, "internal", "internal error");
    run_after(chain_, before.ran, *req, *res);
    co_return std::move(*res);
  }

  asio::awaitable<bool> write(std::shared_ptr<Conn> c, Response res, unsigned version, bool keep_alive, bool head) {
    if (res.status < 100 || res.status > 599) {
      spdlog::error("http handler produced invalid status {}", res.status);
      res = Response::error(500, "internal", "internal error");
    }
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
    for (const auto& [name, value] : res.headers) {
      if (name.empty() || !clean_header_text(name) || !clean_header_text(value)) {
        spdlog::error("http response header '{}' dropped: contains a line break", name);
        continue;
      }
      out.insert(name, value);
    }
    out.keep_alive(keep_alive);
    bool no_body = res.status < 200 || res.status == 204 || res.status == 304;
    if (no_body) {
      out.erase(bhttp::field::content_length);
    } else if (head) {
      out.content_length(res.body.size());
    } else {
      out.body() = std::move(res.body);
      out.prepare_payload();
    }
    error_code ec;
    arm(*c, opts_.body_timeout);
    co_await bhttp::async_write(c->socket, out, kRedirect(ec));
    disarm(*c);
    co_return !ec;
  }

  // Answers a request we will not handle, then closes gracefully.
  asio::awaitable<void> reject(std::shared_ptr<Conn> c, Response res) {
    if (!co_await write(c, std::move(res), 11, false, false)) co_return;
    error_code ec;
    c->socket.shutdown(tcp::socket::shutdown_send, ec);
    // Swallow what the client is still sending, so that closing does not reset the connection.
    arm(*c, kLingerTime);
    std::array<char, 8192> sink{};
    while (!ec && !c->forced) {
      co_await c->socket.async_read_some(asio::buffer(sink), kRedirect(ec));
    }
    disarm(*c);
  }

  ServerOptions opts_;
  const Clock& clock_;
  std::shared_ptr<Liveness> liveness_ = std::make_shared<Liveness>();

  std::mutex lifecycle_mutex_;  // serializes start / stop / run_until_signal
  bool started_ = false;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint16_t> port_{0};

  std::mutex conns_mutex_;
  std::condition_variable conns_cv_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Conn>> conns_;
  std::uint64_t next_conn_id_ = 0;

  std::mutex signal_mutex_;
  std::condition_variable signal_cv_;
  bool signalled_ = false;

  std::vector<std::thread> threads_;
  std::unique_ptr<asio::io_context> ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<asio::signal_set> signals_;
};

Server::Server(ServerOptions options, const Clock& clock) : impl_(std::make_unique<Impl>(std::move(options), clock)) {}
Server::~Server() = default;

Router& Server::router() { return impl_->router_; }
void Server::use(Middleware middleware) { impl_->chain_.push_back(std::move(middleware)); }
Result<void> Server::start() { return impl_->start(); }
std::uint16_t Server::bound_port() const { return impl_->bound_port(); }
bool Server::running() const { return impl_->running(); }
bool Server::accepting() const { return impl_->accepting(); }
void Server::begin_stop() { impl_->begin_stop(); }
void Server::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }
void Server::run_until_signal(std::chrono::milliseconds grace, const std::function<void()>& on_armed) {
  impl_->run_until_signal(grace, on_armed);
}

}  // namespace ms::http
