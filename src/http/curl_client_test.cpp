#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/metrics.hpp"
#include "http/address_policy.hpp"
#include "http/client.hpp"
#include "http/server.hpp"

namespace ms::http {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Gathers callback outcomes; waits on a condition variable, never by sleeping.
class Collector {
 public:
  ClientCallback callback(int tag = 0) {
    return [this, tag](Result<ClientResponse> r) {
      std::lock_guard lock(mutex_);
      results_.emplace_back(tag, std::move(r));
      threads_.insert(std::this_thread::get_id());
      cv_.notify_all();
    };
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return results_.size() >= n; });
  }
  std::vector<std::pair<int, Result<ClientResponse>>> results() {
    std::lock_guard lock(mutex_);
    return results_;
  }
  std::set<std::thread::id> threads() {
    std::lock_guard lock(mutex_);
    return threads_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<int, Result<ClientResponse>>> results_;
  std::set<std::thread::id> threads_;
};

// A TCP relay in front of the server that counts the connections it accepts: the server's
// Request carries the peer IP but not its port, so connections are counted here.
class CountingProxy {
 public:
  explicit CountingProxy(std::uint16_t target) : target_(target) {
    wake_ = ::eventfd(0, EFD_NONBLOCK);
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = loopback(0);
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_, 64) != 0) {
      throw std::runtime_error("proxy cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~CountingProxy() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);  // stays readable: wakes every poll
    acceptor_.join();
    for (auto& t : relays_) t.join();
    ::close(listen_);
    ::close(wake_);
  }
  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  void accept_loop() {
    for (;;) {
      pollfd fds[2] = {{listen_, POLLIN, 0}, {wake_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 || (fds[1].revents & POLLIN)) return;
      int in = ::accept(listen_, nullptr, nullptr);
      if (in < 0) continue;
      ++accepted_;
      int out = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr = loopback(target_);
      if (::connect(out, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(in);
        ::close(out);
        continue;
      }
      relays_.emplace_back([this, in, out] { relay(in, out); });
    }
  }

  void relay(int a, int b) {
    char buf[16384];
    for (;;) {
      pollfd fds[3] = {{a, POLLIN, 0}, {b, POLLIN, 0}, {wake_, POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0 || (fds[2].revents & POLLIN)) break;
      bool closed = false;
      for (int i = 0; i < 2 && !closed; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0 || ::send(fds[1 - i].fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) closed = true;
      }
      if (closed) break;
    }
    ::close(a);
    ::close(b);
  }

  std::uint16_t target_;
  int wake_ = -1;
  int listen_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> relays_;  // touched by accept_loop only, until the destructor joins it
};

struct Part {
  std::string name, filename, content_type, data;
};

// Minimal multipart/form-data parser, enough to check what the client sent.
std::vector<Part> parse_multipart(const std::string& content_type, const std::string& body) {
  std::vector<Part> parts;
  auto at = content_type.find("boundary=");
  if (at == std::string::npos) return parts;
  std::string delimiter = "--" + content_type.substr(at + 9);
  std::size_t pos = body.find(delimiter);
  while (pos != std::string::npos) {
    pos += delimiter.size();
    if (body.compare(pos, 2, "--") == 0) break;  // closing delimiter
    pos += 2;                                    // CRLF after the delimiter
    std::size_t head_end = body.find("\r\n\r\n", pos);
    std::size_t next = body.find("\r\n" + delimiter, head_end);
    if (head_end == std::string::npos || next == std::string::npos) break;
    std::string head = body.substr(pos, head_end - pos);
    Part part;
    part.data = body.substr(head_end + 4, next - head_end - 4);
    auto quoted = [&](const std::string& key) -> std::string {
      auto k = head.find(key + "=\"");
      if (k == std::string::npos) return {};
      auto start = k + key.size() + 2;
      return head.substr(start, head.find('"', start) - start);
    };
    part.name = quoted(" name");
    part.filename = quoted("filename");
    auto ct = head.find("Content-Type: ");
    if (ct != std::string::npos) part.content_type = head.substr(ct + 14, head.find("\r\n", ct) - ct - 14);
    parts.push_back(std::move(part));
    pos = next + 2;
  }
  return parts;
}

class CurlClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 2;
    options.body_limit = std::size_t{4} * 1024 * 1024;
    server_ = std::make_unique<Server>(options);
    auto& r = server_->router();
    r.add_sync(Method::kGet, "/echo", [](Request& req) {
      Response res = Response::json(200, {{"i", std::string(req.query_param("i").value_or(""))},
                                          {"agent", std::string(req.header("user-agent").value_or(""))},
                                          {"x_test", std::string(req.header("x-test").value_or(""))}});
      res.headers.set("X-Custom-Reply", "yes");
      return res;
    });
    r.add_sync(Method::kPost, "/json", [](Request& req) {
      json in = json::parse(req.body, nullptr, false);
      return Response::json(201, {{"got", in}, {"type", std::string(req.header("content-type").value_or(""))}});
    });
    r.add_sync(Method::kGet, "/missing", [](Request&) { return Response::text(404, "no such thing"); });
    r.add_sync(Method::kGet, "/big", [](Request&) { return Response::text(200, std::string(5000, 'b')); });
    r.add_sync(Method::kPost, "/upload", [this](Request& req) {
      std::lock_guard lock(mutex_);
      upload_type_ = std::string(req.header("content-type").value_or(""));
      upload_body_ = req.body;
      return Response::text(200, "stored");
    });
    r.add(Method::kGet, "/park", [this](Request&, const Responder& respond) {
      std::lock_guard lock(mutex_);
      parked_.push_back(respond);
      parked_cv_.notify_all();
    });
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().to_string();
    base_ = "http://127.0.0.1:" + std::to_string(server_->bound_port());
  }

  void TearDown() override {
    {
      std::lock_guard lock(mutex_);
      for (auto& respond : parked_) respond(Response::text(200, "late"));
      parked_.clear();
    }
    server_->stop(1s);
  }

  bool wait_parked(std::size_t n) {
    std::unique_lock lock(mutex_);
    return parked_cv_.wait_for(lock, 5s, [&] { return parked_.size() >= n; });
  }

  ClientRequest get(const std::string& path) {
    ClientRequest req;
    req.url = base_ + path;
    return req;
  }

  std::unique_ptr<Server> server_;
  std::string base_;
  std::mutex mutex_;
  std::condition_variable parked_cv_;
  std::vector<Responder> parked_;
  std::string upload_type_, upload_body_;
};

TEST_F(CurlClientTest, GetAndPostJsonRoundTrip) {
  CurlClient client;
  ClientRequest g = get("/echo?i=7");
  g.headers.emplace_back("X-Test", "hello");
  auto r = client.send_sync(g);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  json body = json::parse(r->body);
  EXPECT_EQ(body["i"], "7");
  EXPECT_EQ(body["x_test"], "hello");
  EXPECT_EQ(body["agent"], CurlClientOptions::default_user_agent());
  EXPECT_EQ(r->headers.get("x-custom-reply"), "yes");  // case-insensitive lookup
  EXPECT_EQ(r->headers.get("CONTENT-TYPE"), "application/json");
  EXPECT_GT(r->total_seconds, 0.0);

  ClientRequest p;
  p.method = "POST";
  p.url = base_ + "/json";
  p.headers.emplace_back("Content-Type", "application/json");
  p.body = R"({"chat_id":42,"text":"سلام 👋"})";
  auto posted = client.send_sync(p);
  ASSERT_TRUE(posted) << posted.error().to_string();
  EXPECT_EQ(posted->status, 201);
  json echoed = json::parse(posted->body);
  EXPECT_EQ(echoed["got"]["chat_id"], 42);
  EXPECT_EQ(echoed["got"]["text"], "سلام 👋");
  EXPECT_EQ(echoed["type"], "application/json");
}

TEST_F(CurlClientTest, HttpErrorStatusIsAResponseNotAnError) {
  CurlClient client;
  auto r = client.send_sync(get("/missing"));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "no such thing");
  auto unrouted = client.send_sync(get("/nowhere"));
  ASSERT_TRUE(unrouted);
  EXPECT_EQ(unrouted->status, 404);
}

TEST_F(CurlClientTest, TwoHundredConcurrentRequestsAllAnsweredOnOneClientThread) {
  CurlClient client;
  Collector collector;
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) client.send(get("/echo?i=" + std::to_string(i)), collector.callback(i));
  ASSERT_TRUE(collector.wait_for(kCount));
  auto results = collector.results();
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kCount));
  std::set<int> answered;
  for (auto& [tag, r] : results) {
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(json::parse(r->body)["i"], std::to_string(tag));
    answered.insert(tag);
  }
  EXPECT_EQ(answered.size(), static_cast<std::size_t>(kCount));
  auto threads = collector.threads();
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  EXPECT_EQ(client.pending(), 0u);
}

TEST_F(CurlClientTest, SlowHandlerTimesOutWhileOtherRequestsSucceed) {
  CurlClient client;
  Collector collector;
  ClientRequest slow = get("/park");
  slow.timeout = 300ms;
  client.send(slow, collector.callback(-1));
  ASSERT_TRUE(wait_parked(1));
  for (int i = 0; i < 10; ++i) client.send(get("/echo?i=" + std::to_string(i)), collector.callback(i));
  ASSERT_TRUE(collector.wait_for(11));
  auto results = collector.results();
  for (std::size_t k = 0; k < results.size(); ++k) {
    auto& [tag, r] = results[k];
    if (tag == -1) {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().to_string();
      EXPECT_EQ(k, 10u) << "the timed-out request finished before the fast ones";
    } else {
      ASSERT_TRUE(r) << r.error().to_string();
      EXPECT_EQ(r->status, 200);
    }
  }
}

TEST_F(CurlClientTest, ClosedPortIsUnavailable) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::uint16_t port = ntohs(addr.sin_port);
  ::close(fd);  // bound but never listening, now closed: connecting is refused

  CurlClient client;
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/bot123:secret/getMe";
  auto r = client.send_sync(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("127.0.0.1"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("secret"), std::string::npos) << r.error().message;
}

TEST_F(CurlClientTest, MalformedRequestsAreInvalidArgument) {
  CurlClient client;
  ClientRequest bad_url;
  bad_url.url = "not a url";
  auto r1 = client.send_sync(bad_url);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code, ErrorCode::kInvalidArgument);

  ClientRequest ftp;
  ftp.url = "ftp://127.0.0.1/file";
  auto r2 = client.send_sync(ftp);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, ErrorCode::kInvalidArgument);

  ClientRequest injected = get("/echo");
  injected.headers.emplace_back("X-Test", "a\r\nX-Evil: 1");
  auto r3 = client.send_sync(injected);
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.error().code, ErrorCode::kInvalidArgument);

  ClientRequest method = get("/echo");
  method.method = "GET /x";
  auto r4 = client.send_sync(method);
  ASSERT_FALSE(r4);
  EXPECT_EQ(r4.error().code, ErrorCode::kInvalidArgument);

  // The client keeps working after rejected requests.
  auto fine = client.send_sync(get("/echo?i=1"));
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200);
}

TEST_F(CurlClientTest, MultipartUploadArrivesIntact) {
  std::string binary;
  for (int round = 0; round < 4; ++round) {
    for (int b = 0; b < 256; ++b) binary.push_back(static_cast<char>(b));
  }
  CurlClient client;
  ClientRequest req;
  req.method = "POST";
  req.url = base_ + "/upload";
  req.multipart.push_back(MultipartField::field("chat_id", "42"));
  req.multipart.push_back(MultipartField::field("caption", "عکس"));
  req.multipart.push_back(MultipartField::file("photo", "cat.png", "image/png", binary));
  auto r = client.send_sync(req);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->status, 200);

  std::lock_guard lock(mutex_);
  ASSERT_EQ(upload_type_.rfind("multipart/form-data; boundary=", 0), 0u) << upload_type_;
  auto parts = parse_multipart(upload_type_, upload_body_);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].name, "chat_id");
  EXPECT_EQ(parts[0].data, "42");
  EXPECT_EQ(parts[1].name, "caption");
  EXPECT_EQ(parts[1].data, "عکس");
  EXPECT_EQ(parts[2].name, "photo");
  EXPECT_EQ(parts[2].filename, "cat.png");
  EXPECT_EQ(parts[2].content_type, "image/png");
  ASSERT_EQ(parts[2].data.size(), binary.size());
  EXPECT_EQ(parts[2].data, binary);
}

TEST_F(CurlClientTest, SequentialRequestsReuseOneConnection) {
  CountingProxy proxy(server_->bound_port());
  CurlClient client;
  constexpr int kCount = 20;
  for (int i = 0; i < kCount; ++i) {
    ClientRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(proxy.port()) + "/echo?i=" + std::to_string(i);
    auto r = client.send_sync(req);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(json::parse(r->body)["i"], std::to_string(i));
  }
  EXPECT_EQ(proxy.accepted(), 1);
}

TEST_F(CurlClientTest, PerHostConnectionCapHolds) {
  CountingProxy proxy(server_->bound_port());
  CurlClientOptions options;
  options.max_host_connections = 2;
  CurlClient client(options);
  Collector collector;
  constexpr int kCount = 40;
  for (int i = 0; i < kCount; ++i) {
    ClientRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(proxy.port()) + "/echo?i=" + std::to_string(i);
    client.send(req, collector.callback(i));
  }
  ASSERT_TRUE(collector.wait_for(kCount));
  for (auto& [tag, r] : collector.results()) {
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_GE(proxy.accepted(), 1);
  EXPECT_LE(proxy.accepted(), 2);
}

TEST_F(CurlClientTest, DestructionCompletesInFlightRequestsWithAnError) {
  Collector collector;
  {
    CurlClient client;
    for (int i = 0; i < 3; ++i) client.send(get("/park"), collector.callback(i));
    ASSERT_TRUE(wait_parked(3));
    EXPECT_EQ(client.pending(), 3u);
  }
  ASSERT_TRUE(collector.wait_for(3, 0ms));  // all completed before the destructor returned
  for (auto& [tag, r] : collector.results()) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
    EXPECT_EQ(r.error().message, "client is shutting down");
  }
}

TEST_F(CurlClientTest, QueueBeyondMaxInFlightDrains) {
  CurlClientOptions options;
  options.max_in_flight = 3;
  CurlClient client(options);
  Collector collector;
  for (int i = 0; i < 30; ++i) client.send(get("/echo?i=" + std::to_string(i)), collector.callback(i));
  ASSERT_TRUE(collector.wait_for(30));
  for (auto& [tag, r] : collector.results()) {
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(json::parse(r->body)["i"], std::to_string(tag));
  }
}

TEST_F(CurlClientTest, OversizedResponseIsLimitExceeded) {
  CurlClientOptions options;
  options.max_response_bytes = 1000;
  CurlClient client(options);
  auto r = client.send_sync(get("/big"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kLimitExceeded);
  auto small = client.send_sync(get("/echo?i=2"));
  ASSERT_TRUE(small) << small.error().to_string();
}

TEST_F(CurlClientTest, SendSyncFromACallbackFailsInsteadOfDeadlocking) {
  CurlClient client;
  std::promise<Result<ClientResponse>> inner;
  client.send(get("/echo?i=1"),
              [&](const Result<ClientResponse>&) { inner.set_value(client.send_sync(get("/echo"))); });
  auto future = inner.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  auto r = future.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
}

TEST_F(CurlClientTest, MetricsCountByHostAndStatusAndLogsOmitThePath) {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger);
  {
    CurlClient client;
    auto r = client.send_sync(get("/missing?token=123:SECRET"));
    ASSERT_TRUE(r);
    ClientRequest req = get("/bot123:SECRET/sendMessage");
    req.method = "POST";
    req.body = R"({"text":"private words"})";
    ASSERT_TRUE(client.send_sync(req));
  }
  spdlog::set_default_logger(previous);

  std::string log = captured.str();
  EXPECT_NE(log.find(base_), std::string::npos) << log;
  EXPECT_EQ(log.find("SECRET"), std::string::npos) << log;
  EXPECT_EQ(log.find("private words"), std::string::npos) << log;

  std::string text = metrics::serialize_text();
  EXPECT_NE(text.find(R"(http_client_requests_total{host="127.0.0.1",status="404"})"), std::string::npos);
  EXPECT_NE(text.find(R"(http_client_request_duration_seconds_count{host="127.0.0.1"})"), std::string::npos);
}

TEST_F(CurlClientTest, AddressPolicyRefusesLoopbackBeforeAnyConnection) {
  CountingProxy proxy(server_->bound_port());
  const std::string port = std::to_string(proxy.port());
  CurlClient client;
  for (const std::string host : {"127.0.0.1", "localhost", "2130706433", "0177.0.0.1", "[::ffff:127.0.0.1]"}) {
    ClientRequest req;
    req.url = "http://" + host + ":" + port + "/echo";
    req.refuse_private_addresses = true;
    auto r = client.send_sync(req);
    ASSERT_FALSE(r) << host;
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << host << " " << r.error().to_string();
    EXPECT_TRUE(is_address_refusal(r.error())) << r.error().to_string();
  }
  EXPECT_EQ(proxy.accepted(), 0);

  // A connection an unchecked request left open is not lent to a checked one.
  ClientRequest plain;
  plain.url = "http://127.0.0.1:" + port + "/echo";
  ASSERT_TRUE(client.send_sync(plain));
  ClientRequest checked = plain;
  checked.refuse_private_addresses = true;
  auto refused = client.send_sync(checked);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is_address_refusal(refused.error()));
  EXPECT_EQ(proxy.accepted(), 1);

  // The same policy for every request of a client (the panels' client).
  CurlClientOptions o;
  o.refuse_private_addresses = true;
  CurlClient panels(o);
  auto all = panels.send_sync(plain);
  ASSERT_FALSE(all);
  EXPECT_TRUE(is_address_refusal(all.error())) << all.error().to_string();
  EXPECT_EQ(proxy.accepted(), 1);
}

TEST(LoggableOrigin, KeepsSchemeHostAndPortOnly) {
  EXPECT_EQ(loggable_origin("https://api.telegram.org/bot1:abc/getMe?x=1"), "https://api.telegram.org");
  EXPECT_EQ(loggable_origin("http://127.0.0.1:8081/sandbox/bot1:abc/getMe"), "http://127.0.0.1:8081");
  auto bad = loggable_origin("::::");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ms::http
