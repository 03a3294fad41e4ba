#include "http/router.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "http/middleware.hpp"

namespace ms::http {
namespace {

SyncHandler answer(std::string text) {
  return [text](Request&) { return Response::text(200, text); };
}

// Dispatches a request synchronously and returns what the handler answered.
std::optional<Response> run(const Router& router, Method method, std::string_view target, Request* out = nullptr) {
  Request req;
  req.method = method;
  EXPECT_TRUE(req.set_target(target));
  Responder respond;
  router.dispatch(req, respond);
  if (out) *out = req;
  return respond.take();
}

TEST(RouterTest, PrefersLiteralSegmentsFromTheLeft) {
  Router r;
  r.add_sync(Method::kGet, "/tenants/{id}", answer("param"));
  r.add_sync(Method::kGet, "/tenants/new", answer("literal"));
  r.add_sync(Method::kGet, "/{kind}/new/{x}", answer("kind-first"));
  r.add_sync(Method::kGet, "/tenants/{id}/{x}", answer("tenants-first"));
  EXPECT_EQ(run(r, Method::kGet, "/tenants/new")->body, "literal");
  EXPECT_EQ(run(r, Method::kGet, "/tenants/7")->body, "param");
  EXPECT_EQ(run(r, Method::kGet, "/tenants/new/1")->body, "tenants-first");
  EXPECT_EQ(run(r, Method::kGet, "/bots/new/1")->body, "kind-first");
}

TEST(RouterTest, FillsDecodedParamsAndRoute) {
  Router r;
  r.add_sync(Method::kPost, "/telegram/{instance}/hook/{part}", answer("ok"));
  Request req;
  auto res = run(r, Method::kPost, "/telegram/bot%201/hook/x%2Fy", &req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(req.path_params.at("instance"), "bot 1");
  EXPECT_EQ(req.path_params.at("part"), "x/y");
  EXPECT_EQ(req.route, "/telegram/{instance}/hook/{part}");
}

TEST(RouterTest, EmptySegmentsDoNotMatchParams) {
  Router r;
  r.add_sync(Method::kGet, "/a/{id}", answer("x"));
  EXPECT_EQ(run(r, Method::kGet, "/a/")->status, 404);
  EXPECT_EQ(run(r, Method::kGet, "/a")->status, 404);
  EXPECT_EQ(run(r, Method::kGet, "/a/1/")->status, 404);
}

TEST(RouterTest, NotFoundAndMethodNotAllowed) {
  Router r;
  r.add_sync(Method::kGet, "/items/{id}", answer("get"));
  r.add_sync(Method::kDelete, "/items/{id}", answer("delete"));
  r.add_sync(Method::kPost, "/items/special", answer("post"));

  auto nf = run(r, Method::kGet, "/nothing");
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nlohmann::json::parse(nf->body)["error"]["code"], "not_found");

  auto m = r.match(Method::kPut, "/items/3");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "GET, HEAD, DELETE");

  // The more specific pattern lacks GET, so the parametrised one answers.
  EXPECT_EQ(run(r, Method::kGet, "/items/special")->body, "get");
  Request req;
  auto res = run(r, Method::kPatch, "/items/special", &req);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(*res->headers.get("Allow"), "GET, HEAD, POST, DELETE");
  EXPECT_EQ(req.route, "/items/special");
}

TEST(RouterTest, HeadFallsBackToGet) {
  Router r;
  r.add_sync(Method::kGet, "/x", answer("body"));
  EXPECT_EQ(r.match(Method::kHead, "/x").status, 200);
  EXPECT_EQ(r.match(Method::kPost, "/x").status, 405);
}

TEST(RouterTest, RejectsBadOrDuplicatePatterns) {
  Router r;
  r.add_sync(Method::kGet, "/a/{id}", answer("x"));
  EXPECT_THROW(r.add_sync(Method::kGet, "/a/{id}", answer("y")), std::invalid_argument);
  EXPECT_THROW(r.add_sync(Method::kGet, "/a/{other}", answer("y")), std::invalid_argument);
  EXPECT_THROW(r.add_sync(Method::kGet, "no-slash", answer("y")), std::invalid_argument);
  EXPECT_THROW(r.add_sync(Method::kGet, "/b/{}", answer("y")), std::invalid_argument);
  EXPECT_THROW(r.add_sync(Method::kGet, "/b/{x}/{x}", answer("y")), std::invalid_argument);
  EXPECT_THROW(r.add_sync(Method::kGet, "/b/x{y}", answer("y")), std::invalid_argument);
  EXPECT_NO_THROW(r.add_sync(Method::kPost, "/a/{id}", answer("post")));
  EXPECT_EQ(r.size(), 2u);
}

TEST(RouterTest, ThrowingHandlerAnswers500) {
  Router r;
  r.add(Method::kGet, "/boom", [](Request&, Responder) { throw std::logic_error("broken"); });
  r.add(Method::kGet, "/answered-then-boom", [](Request&, Responder respond) {
    respond(Response::text(202, "accepted"));
    throw std::logic_error("after answering");
  });
  auto res = run(r, Method::kGet, "/boom");
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"]["code"], "internal");
  EXPECT_EQ(run(r, Method::kGet, "/answered-then-boom")->status, 202);
}

TEST(MiddlewareChainTest, RunsBeforeInOrderAndAfterInReverse) {
  std::vector<std::string> trace;
  auto make = [&](std::string name, bool stop) {
    return Middleware{name,
                      [&trace, name, stop](Request&) -> std::optional<Response> {
                        trace.push_back("before " + name);
                        if (stop) return Response::error(429, "limit_exceeded", "slow down");
                        return std::nullopt;
                      },
                      [&trace, name](const Request&, Response& res) {
                        trace.push_back("after " + name);
                        res.headers.add("X-Seen", name);
                      }};
  };
  MiddlewareChain chain{make("a", false), make("b", true), make("c", false)};
  Request req;
  auto outcome = run_before(chain, req);
  ASSERT_TRUE(outcome.response);
  EXPECT_EQ(outcome.ran, 2u);
  EXPECT_EQ(outcome.response->status, 429);
  run_after(chain, outcome.ran, req, *outcome.response);
  EXPECT_EQ(trace, (std::vector<std::string>{"before a", "before b", "after b", "after a"}));
  EXPECT_EQ(*outcome.response->headers.get("x-seen"), "b");
}

TEST(MiddlewareChainTest, ThrowingBeforeBecomes500AndThrowingAfterIsSkipped) {
  MiddlewareChain chain{
      Middleware{"after-throws", {}, [](const Request&, Response&) { throw std::runtime_error("x"); }},
      Middleware{"before-throws", [](Request&) -> std::optional<Response> { throw std::runtime_error("y"); }, {}}};
  Request req;
  auto outcome = run_before(chain, req);
  ASSERT_TRUE(outcome.response);
  EXPECT_EQ(outcome.response->status, 500);
  EXPECT_NO_THROW(run_after(chain, outcome.ran, req, *outcome.response));
}

TEST(RequestIdMiddlewareTest, EchoesValidIdsAndReplacesOthers) {
  auto m = request_id_middleware();
  Request good;
  good.headers.add("X-Request-Id", "trace-1:abc.DEF_9");
  m.before(good);
  EXPECT_EQ(good.id, "trace-1:abc.DEF_9");
  Response res;
  m.after(good, res);
  EXPECT_EQ(*res.headers.get("x-request-id"), "trace-1:abc.DEF_9");

  Request bad;
  bad.headers.add("X-Request-Id", "evil\r\nSet-Cookie: x");
  m.before(bad);
  EXPECT_EQ(bad.id.size(), 32u);
  Request none;
  m.before(none);
  EXPECT_EQ(none.id.size(), 32u);
  EXPECT_NE(none.id, bad.id);
}

TEST(AccessLogMiddlewareTest, LogsPathWithoutQueryOrBody) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("access-test", sink);
  logger->set_pattern("%l %v");
  ManualClock clock;
  auto m = access_log_middleware(logger, clock);
  Request req;
  req.method = Method::kPost;
  ASSERT_TRUE(req.set_target("/login?token=s3cret"));
  req.body = "password=hunter2";
  req.id = "rid-1";
  req.received_at = clock.steady_now();
  clock.advance(std::chrono::milliseconds(42));
  Response res = Response::text(503, "down");
  m.after(req, res);
  logger->flush();
  std::string line = out.str();
  EXPECT_NE(line.find("warning http POST /login 503 42.0ms id=rid-1"), std::string::npos) << line;
  EXPECT_EQ(line.find("s3cret"), std::string::npos);
  EXPECT_EQ(line.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace ms::http
