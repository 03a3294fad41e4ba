#include "http/request.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/handler.hpp"

namespace ms::http {
namespace {

TEST(PercentDecode, DecodesEscapesAndPlus) {
  EXPECT_EQ(*percent_decode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(*percent_decode("a+b", false), "a+b");
  EXPECT_EQ(*percent_decode("a+b", true), "a b");
  EXPECT_EQ(*percent_decode("%e2%9C%93", false), "\xE2\x9C\x93");
  EXPECT_FALSE(percent_decode("%", false));
  EXPECT_FALSE(percent_decode("%2", false));
  EXPECT_FALSE(percent_decode("%zz", false));
  EXPECT_EQ(percent_decode("abc%", false).error().code, ErrorCode::kInvalidArgument);
}

TEST(RequestTarget, SplitsPathAndQuery) {
  Request r;
  ASSERT_TRUE(r.set_target("/a%20b/c?x=1&y=hello+world&x=2&flag&z=%26"));
  EXPECT_EQ(r.raw_path, "/a%20b/c");
  EXPECT_EQ(r.path, "/a b/c");
  EXPECT_EQ(r.query.count("x"), 2u);
  EXPECT_EQ(*r.query_param("x"), "1");
  EXPECT_EQ(*r.query_param("y"), "hello world");
  EXPECT_EQ(*r.query_param("flag"), "");
  EXPECT_EQ(*r.query_param("z"), "&");
  EXPECT_FALSE(r.query_param("missing"));
}

TEST(RequestTarget, RejectsBadTargets) {
  Request r;
  EXPECT_FALSE(r.set_target("relative"));
  EXPECT_FALSE(r.set_target(""));
  EXPECT_FALSE(r.set_target("/bad%zz"));
  EXPECT_FALSE(r.set_target("/ok?q=%4"));
}

TEST(Headers, AreCaseInsensitiveAndKeepRepeats) {
  Headers h;
  h.add("Content-Type", "text/plain");
  h.add("X-Multi", "1");
  h.add("x-multi", "2");
  EXPECT_EQ(*h.get("content-type"), "text/plain");
  EXPECT_EQ(*h.get("X-MULTI"), "1");
  EXPECT_EQ(h.size(), 3u);
  h.set("X-Multi", "3");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(*h.get("x-multi"), "3");
  h.erase("CONTENT-TYPE");
  EXPECT_FALSE(h.contains("content-type"));
}

TEST(Methods, RoundTrip) {
  for (auto m :
       {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch, Method::kDelete, Method::kOptions}) {
    EXPECT_EQ(parse_method(to_string(m)), m);
  }
  EXPECT_FALSE(parse_method("get"));
  EXPECT_FALSE(parse_method("BREW"));
}

TEST(ResponseHelpers, ErrorBodyShape) {
  auto r = Response::error(404, "not_found", "no tenant 7");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(*r.headers.get("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body),
            (nlohmann::json{{"error", {{"code", "not_found"}, {"message", "no tenant 7"}}}}));
  auto t = Response::text(201, "hi");
  EXPECT_EQ(t.status, 201);
  EXPECT_EQ(t.body, "hi");
  EXPECT_EQ(*t.headers.get("Content-Type"), "text/plain; charset=utf-8");
}

TEST(ResponseHelpers, JsonWithInvalidUtf8DoesNotThrow) {
  auto r = Response::json(200, nlohmann::json{{"name", std::string("bad\xFF")}});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(nlohmann::json::accept(r.body));
}

TEST(StatusFor, MapsEveryErrorCode) {
  EXPECT_EQ(status_for(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(status_for(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(status_for(ErrorCode::kPermissionDenied), 403);
  EXPECT_EQ(status_for(ErrorCode::kNotFound), 404);
  EXPECT_EQ(status_for(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(status_for(ErrorCode::kConflict), 409);
  EXPECT_EQ(status_for(ErrorCode::kLimitExceeded), 429);
  EXPECT_EQ(status_for(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(status_for(ErrorCode::kTimeout), 504);
  EXPECT_EQ(status_for(ErrorCode::kCorrupted), 500);
  EXPECT_EQ(status_for(ErrorCode::kInternal), 500);
  auto r = Response::from_error(Error{ErrorCode::kLimitExceeded, "upgrade to sell to more than 100 users"});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "limit_exceeded");
}

TEST(ResponderTest, OnlyTheFirstAnswerCounts) {
  int notified = 0;
  Responder respond([&] { ++notified; });
  Responder copy = respond;
  EXPECT_FALSE(respond.done());
  EXPECT_TRUE(copy(Response::text(200, "first")));
  EXPECT_FALSE(respond(Response::text(200, "second")));
  EXPECT_FALSE(respond.abandon());
  EXPECT_EQ(notified, 1);
  auto taken = respond.take();
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->body, "first");
  EXPECT_FALSE(respond.take());
}

TEST(ResponderTest, AbandonWinsOverLateAnswer) {
  int notified = 0;
  Responder respond([&] { ++notified; });
  EXPECT_TRUE(respond.abandon());
  EXPECT_TRUE(respond.done());
  EXPECT_FALSE(respond(Response::text(200, "late")));
  EXPECT_FALSE(respond.take());
  EXPECT_EQ(notified, 0);
}

TEST(ResponderTest, ConcurrentAnswersYieldExactlyOneWinner) {
  Responder respond;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (respond(Response::text(200, std::to_string(i)))) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners, 1);
  EXPECT_TRUE(respond.take());
}

}  // namespace
}  // namespace ms::http
