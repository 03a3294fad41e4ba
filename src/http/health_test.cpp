#include "http/health.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include <nlohmann/json.hpp>

#include "http/server.hpp"
#include "http/test_client.hpp"

namespace ms::http {
namespace {

using testing::fetch;
using namespace std::chrono_literals;

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    server_ = std::make_unique<Server>(o);
    server_->use(metrics_middleware());
    HealthChecks health;
    health.checks.push_back({"database", [this]() -> Result<void> {
                               if (database_up_) return ok();
                               return fail(ErrorCode::kUnavailable, "connection refused");
                             }});
    health.checks.push_back({"cache", []() -> Result<void> { return ok(); }});
    add_health_routes(server_->router(), std::move(health));
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().to_string();
    port_ = server_->bound_port();
  }
  void TearDown() override { server_->stop(1s); }

  std::atomic<bool> database_up_{true};
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(HealthTest, HealthzIsAlwaysOk) {
  database_up_ = false;
  auto r = fetch(port_, "GET", "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(nlohmann::json::parse(r->body), (nlohmann::json{{"status", "ok"}}));
}

TEST_F(HealthTest, ReadyzFollowsTheChecks) {
  auto ready = fetch(port_, "GET", "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(nlohmann::json::parse(ready->body),
            (nlohmann::json{{"status", "ready"}, {"checks", {{"database", "ok"}, {"cache", "ok"}}}}));

  database_up_ = false;
  auto down = fetch(port_, "GET", "/readyz");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503);
  auto body = nlohmann::json::parse(down->body);
  EXPECT_EQ(body["status"], "not_ready");
  EXPECT_EQ(body["checks"]["database"], "unavailable: connection refused");
  EXPECT_EQ(body["checks"]["cache"], "ok");

  database_up_ = true;
  auto recovered = fetch(port_, "GET", "/readyz");
  ASSERT_TRUE(recovered);
  EXPECT_EQ(recovered->status, 200);
}

TEST_F(HealthTest, MetricsExposeRequestCounterByRoutePattern) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(fetch(port_, "GET", "/healthz"));
  ASSERT_TRUE(fetch(port_, "GET", "/no/such/path"));
  auto r = fetch(port_, "GET", "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  // The counter is process-wide; other tests in this binary may have added to it.
  const std::string healthz = "http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} ";
  auto pos = r->body.find(healthz);
  ASSERT_NE(pos, std::string::npos) << r->body;
  EXPECT_GE(std::stod(r->body.substr(pos + healthz.size())), 3.0);
  EXPECT_NE(r->body.find("http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"), std::string::npos);
  EXPECT_NE(r->body.find("http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",le=\"0.005\"}"),
            std::string::npos);
  EXPECT_EQ(r->body.find("/no/such/path"), std::string::npos);
  EXPECT_NE(r->body.find("process_resident_memory_bytes"), std::string::npos);
}

}  // namespace
}  // namespace ms::http
