#include "http/server.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/test_client.hpp"
#include "core/worker_pool.hpp"

namespace ms::http {
namespace {

using testing::fetch;
using testing::TestConnection;
using namespace std::chrono_literals;

ServerOptions local_options() {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  return o;
}

nlohmann::json body_json(const testing::ClientResponse& r) { return nlohmann::json::parse(r.body); }

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = local_options()) {
    server_ = std::make_unique<Server>(options);
    configure(*server_);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().to_string();
    port_ = server_->bound_port();
    ASSERT_NE(port_, 0);
  }

  virtual void configure(Server& server) {
    auto& r = server.router();
    r.add_sync(Method::kGet, "/api/v1/tenants/{id}", [](Request& req) {
      return Response::json(200, {{"id", *req.path_param("id")}, {"route", req.route}});
    });
    r.add_sync(Method::kGet, "/api/v1/tenants/new", [](Request&) { return Response::text(200, "new-form"); });
    r.add_sync(Method::kPost, "/api/v1/tenants", [](Request& req) {
      return Response::json(201,
                            {{"received", req.body}, {"type", std::string(req.header("content-type").value_or(""))}});
    });
    r.add_sync(Method::kGet, "/search", [](Request& req) {
      return Response::json(
          200,
          {{"q", std::string(req.query_param("q").value_or(""))}, {"path", req.path}, {"peer", req.remote_address}});
    });
    r.add_sync(Method::kGet, "/missing", [](Request&) {
      return Response::from_error(Error{ErrorCode::kNotFound, "tenant 9 does not exist"});
    });
    r.add_sync(Method::kGet, "/throw", [](Request&) -> Response { throw std::runtime_error("secret detail"); });
    r.add(Method::kGet, "/async", [this](Request& req, Responder respond) {
      pool_.post([respond, caller = std::this_thread::get_id()] {
        bool other_thread = std::this_thread::get_id() != caller;
        respond(Response::json(200, {{"other_thread", other_thread}}));
      });
    });
    r.add(Method::kGet, "/never", [this](Request&, Responder respond) {
      std::lock_guard lock(mutex_);
      parked_.push_back(respond);
    });
  }

  void TearDown() override {
    if (server_) server_->stop(2s);
  }

  WorkerPool pool_{2, 1024};
  std::mutex mutex_;
  std::vector<Responder> parked_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(ServerTest, RoutesPathParamsWithExactBeforeParametrised) {
  start();
  auto r = fetch(port_, "GET", "/api/v1/tenants/42");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body_json(*r)["id"], "42");
  EXPECT_EQ(body_json(*r)["route"], "/api/v1/tenants/{id}");
  EXPECT_EQ(r->header("content-type"), "application/json");

  auto exact = fetch(port_, "GET", "/api/v1/tenants/new");
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->body, "new-form");

  auto encoded = fetch(port_, "GET", "/api/v1/tenants/a%20b%2Fc");
  ASSERT_TRUE(encoded);
  EXPECT_EQ(body_json(*encoded)["id"], "a b/c");
}

TEST_F(ServerTest, QueryParametersAreDecodedAndBodyArrives) {
  start();
  auto r = fetch(port_, "GET", "/search?q=caf%C3%A9+latte&x=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(body_json(*r)["q"], "caf\xC3\xA9 latte");
  EXPECT_EQ(body_json(*r)["path"], "/search");
  EXPECT_EQ(body_json(*r)["peer"], "127.0.0.1");

  auto post = fetch(port_, "POST", "/api/v1/tenants", R"({"name":"x"})", "Content-Type: application/json\r\n");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 201);
  EXPECT_EQ(body_json(*post)["received"], R"({"name":"x"})");
  EXPECT_EQ(body_json(*post)["type"], "application/json");
}

TEST_F(ServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  start();
  auto missing = fetch(port_, "GET", "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(body_json(*missing)["error"]["code"], "not_found");

  auto wrong = fetch(port_, "DELETE", "/api/v1/tenants");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->header("allow"), "POST");
  EXPECT_EQ(body_json(*wrong)["error"]["code"], "method_not_allowed");
}

TEST_F(ServerTest, ErrorValuesBecomeJsonErrors) {
  start();
  auto r = fetch(port_, "GET", "/missing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(body_json(*r),
            (nlohmann::json{{"error", {{"code", "not_found"}, {"message", "tenant 9 does not exist"}}}}));
}

TEST_F(ServerTest, AsyncHandlerAnswersFromAnotherThread) {
  start();
  auto r = fetch(port_, "GET", "/async");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body_json(*r)["other_thread"], true);
}

TEST_F(ServerTest, ThrowingHandlerGives500AndServerKeepsServing) {
  start();
  TestConnection conn(port_);
  auto r = conn.request("GET", "/throw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(body_json(*r)["error"]["code"], "internal");
  EXPECT_EQ(r->body.find("secret detail"), std::string::npos);
  // Same connection and a new one both still work.
  auto again = conn.request("GET", "/api/v1/tenants/1");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  auto fresh = fetch(port_, "GET", "/api/v1/tenants/2");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->status, 200);
}

TEST_F(ServerTest, HandlerThatNeverAnswersGets504AndLateAnswerIsDropped) {
  auto o = local_options();
  o.handler_timeout = 150ms;
  start(o);
  TestConnection conn(port_);
  auto r = conn.request("GET", "/never");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(body_json(*r)["error"]["code"], "timeout");
  std::lock_guard lock(mutex_);
  ASSERT_EQ(parked_.size(), 1u);
  EXPECT_FALSE(parked_[0](Response::text(200, "late")));
  auto next = conn.request("GET", "/api/v1/tenants/5");
  ASSERT_TRUE(next);
  EXPECT_EQ(body_json(*next)["id"], "5");
}

TEST_F(ServerTest, BodyOverLimitGets413) {
  auto o = local_options();
  o.body_limit = 1024;
  start(o);
  auto small = fetch(port_, "POST", "/api/v1/tenants", std::string(1024, 'a'));
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 201);
  TestConnection conn(port_);
  auto big = conn.request("POST", "/api/v1/tenants", std::string(64 * 1024, 'a'));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(body_json(*big)["error"]["code"], "payload_too_large");
  EXPECT_EQ(big->header("connection"), "close");
  EXPECT_TRUE(conn.wait_closed());
}

TEST_F(ServerTest, ChunkedBodyOverLimitGets413) {
  auto o = local_options();
  o.body_limit = 100;
  start(o);
  TestConnection conn(port_);
  ASSERT_TRUE(
      conn.send("POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "50\r\n" +
                std::string(0x50, 'b') + "\r\n50\r\n" + std::string(0x50, 'b') + "\r\n0\r\n\r\n"));
  auto r = conn.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(ServerTest, SlowRequestGets408ThenClose) {
  auto o = local_options();
  o.header_timeout = 200ms;
  start(o);
  TestConnection conn(port_);
  ASSERT_TRUE(conn.send("GET /api/v1/tenants/1 HTTP/1.1\r\nHost: x\r\n"));  // header never finished
  auto r = conn.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(conn.wait_closed());
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
  auto o = local_options();
  o.idle_timeout = 200ms;
  start(o);
  TestConnection conn(port_);
  auto r = conn.request("GET", "/api/v1/tenants/1");
  ASSERT_TRUE(r);
  EXPECT_TRUE(conn.wait_closed());
}

TEST_F(ServerTest, MalformedRequestGets400) {
  start();
  TestConnection conn(port_);
  ASSERT_TRUE(conn.send("GET /x HTTP/1.1\r\nHost x no colon\r\n\r\n"));
  auto r = conn.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body_json(*r)["error"]["code"], "bad_request");

  TestConnection brew(port_);
  ASSERT_TRUE(brew.send("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto teapot = brew.read_response();
  ASSERT_TRUE(teapot);
  EXPECT_EQ(teapot->status, 501);

  TestConnection relative(port_);
  ASSERT_TRUE(relative.send("GET relative/path HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto rr = relative.read_response();
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->status, 400);
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnectionAndPipelining) {
  start();
  TestConnection conn(port_);
  for (int i = 0; i < 5; ++i) {
    auto r = conn.request("GET", "/api/v1/tenants/" + std::to_string(i));
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(body_json(*r)["id"], std::to_string(i));
    EXPECT_NE(r->header("connection"), "close");
  }
  // Two requests in one write are answered in order.
  ASSERT_TRUE(
      conn.send("GET /api/v1/tenants/a HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/tenants/b HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto a = conn.read_response();
  auto b = conn.read_response();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(body_json(*a)["id"], "a");
  EXPECT_EQ(body_json(*b)["id"], "b");
  // Connection: close is honoured.
  auto last = conn.request("GET", "/api/v1/tenants/z", {}, "Connection: close\r\n");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->header("connection"), "close");
  EXPECT_TRUE(conn.wait_closed());
}

TEST_F(ServerTest, HeadUsesGetRouteWithoutBody) {
  start();
  TestConnection conn(port_);
  auto head = conn.request("HEAD", "/api/v1/tenants/new");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), "8");
  EXPECT_TRUE(head->body.empty());
  auto get = conn.request("GET", "/api/v1/tenants/new");  // proves no stray body bytes were sent
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "new-form");
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponse) {
  start();
  TestConnection conn(port_);
  ASSERT_TRUE(
      conn.send("POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = conn.read_response(true);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(conn.send("hi"));
  auto r = conn.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(body_json(*r)["received"], "hi");
}

class MiddlewareServerTest : public ServerTest {
 protected:
  void configure(Server& server) override {
    ServerTest::configure(server);
    server.use(request_id_middleware());
    server.use(Middleware{"block",
                          [](Request& req) -> std::optional<Response> {
                            if (req.header("x-block")) return Response::error(401, "unauthenticated", "blocked");
                            return std::nullopt;
                          },
                          [](const Request& req, Response& res) {
                            res.headers.set("X-After", "seen");
                            res.headers.set("X-Route", req.route);
                          }});
  }
};

TEST_F(MiddlewareServerTest, ShortCircuitsAndDecoratesResponses) {
  start();
  auto blocked = fetch(port_, "GET", "/api/v1/tenants/1", {}, "X-Block: 1\r\nX-Request-Id: abc-123\r\n");
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->status, 401);
  EXPECT_EQ(blocked->header("x-request-id"), "abc-123");
  EXPECT_EQ(blocked->header("x-after"), "seen");
  EXPECT_EQ(blocked->header("x-route"), "/api/v1/tenants/{id}");  // resolved before middleware

  auto passed = fetch(port_, "GET", "/api/v1/tenants/1");
  ASSERT_TRUE(passed);
  EXPECT_EQ(passed->status, 200);
  EXPECT_EQ(passed->header("x-request-id").size(), 32u);
  EXPECT_EQ(passed->header("x-after"), "seen");

  auto not_found = fetch(port_, "GET", "/nowhere", {}, "X-Request-Id: bad id with spaces\r\n");
  ASSERT_TRUE(not_found);
  EXPECT_EQ(not_found->status, 404);
  EXPECT_EQ(not_found->header("x-request-id").size(), 32u);
}

TEST_F(ServerTest, PortInUseIsAClearError) {
  start();
  auto o = local_options();
  o.listen = "127.0.0.1:" + std::to_string(port_);
  Server second(o);
  auto r = second.start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("in use"), std::string::npos) << r.error().message;
  EXPECT_FALSE(second.running());
}

TEST_F(ServerTest, BadListenAddressIsInvalidArgument) {
  auto o = local_options();
  o.listen = "nonsense";
  Server s(o);
  auto r = s.start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(ParseListen, AcceptsHostPortForms) {
  auto v4 = parse_listen("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  auto v6 = parse_listen("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  auto any = parse_listen(":9000");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->host, "");
  EXPECT_FALSE(parse_listen("::1:80"));
  EXPECT_FALSE(parse_listen("host:99999"));
  EXPECT_FALSE(parse_listen("host:"));
  EXPECT_FALSE(parse_listen("[::1]"));
}

TEST(ServerIpv6, ListensOnIpv6Loopback) {
  ServerOptions o;
  o.listen = "[::1]:0";
  Server s(o);
  auto r = s.start();
  if (!r) GTEST_SKIP() << "no IPv6 loopback here: " << r.error().to_string();
  EXPECT_NE(s.bound_port(), 0);
  s.stop(1s);
  EXPECT_FALSE(s.running());
}

class GracefulStopTest : public ServerTest {
 protected:
  void configure(Server& server) override {
    ServerTest::configure(server);
    server.router().add(Method::kGet, "/slow", [this](Request&, Responder respond) {
      entered_.set_value();
      pool_.post([this, respond] {
        release_.get_future().wait();
        respond(Response::text(200, "finished"));
      });
    });
  }
  std::promise<void> entered_;
  std::promise<void> release_;
};

TEST_F(GracefulStopTest, InFlightRequestFinishesWhileNewConnectionsAreRefused) {
  start();
  TestConnection idle(port_);
  ASSERT_TRUE(idle.request("GET", "/api/v1/tenants/1"));  // now an idle keep-alive connection

  TestConnection busy(port_);
  ASSERT_TRUE(busy.send_request("GET", "/slow"));
  entered_.get_future().wait();

  server_->begin_stop();
  EXPECT_FALSE(server_->accepting());
  TestConnection refused(port_);
  EXPECT_FALSE(refused.connected());
  EXPECT_EQ(refused.error(), ECONNREFUSED);
  EXPECT_TRUE(idle.wait_closed());

  std::thread stopper([&] { server_->stop(5s); });
  release_.set_value();
  auto r = busy.read_response();
  stopper.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_FALSE(server_->running());
}

TEST_F(GracefulStopTest, GraceDeadlineClosesStuckRequests) {
  start();
  TestConnection busy(port_);
  ASSERT_TRUE(busy.send_request("GET", "/slow"));
  entered_.get_future().wait();
  auto began = std::chrono::steady_clock::now();
  server_->stop(100ms);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 3s);
  EXPECT_FALSE(server_->running());
  EXPECT_TRUE(busy.wait_closed());
  release_.set_value();  // the late answer goes nowhere and must not crash
}

TEST_F(ServerTest, RunUntilSignalStopsOnSigterm) {
  start();
  std::promise<void> armed;
  std::thread runner([&] { server_->run_until_signal(1s, [&] { armed.set_value(); }); });
  armed.get_future().wait();
  ::kill(::getpid(), SIGTERM);
  runner.join();
  EXPECT_FALSE(server_->running());
  TestConnection refused(port_);
  EXPECT_FALSE(refused.connected());
}

TEST_F(ServerTest, RunUntilSignalReturnsWhenStoppedElsewhere) {
  start();
  std::promise<void> armed;
  std::thread runner([&] { server_->run_until_signal(1s, [&] { armed.set_value(); }); });
  armed.get_future().wait();
  server_->stop(1s);
  runner.join();
  EXPECT_FALSE(server_->running());
}

}  // namespace
}  // namespace ms::http
