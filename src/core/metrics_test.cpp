#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

namespace ms::metrics {
namespace {

TEST(Metrics, CountersAreSharedByNameAndLabels) {
  auto& a = counter("test_widgets_total", "Widgets made.", {{"kind", "blue"}});
  auto& b = counter("test_widgets_total", "Widgets made.", {{"kind", "blue"}});
  auto& other = counter("test_widgets_total", "Widgets made.", {{"kind", "red"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.Increment(2);
  b.Increment();
  std::string text = serialize_text();
  EXPECT_NE(text.find("# TYPE test_widgets_total counter"), std::string::npos);
  EXPECT_NE(text.find("test_widgets_total{kind=\"blue\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("test_widgets_total{kind=\"red\"} 0"), std::string::npos) << text;
}

TEST(Metrics, GaugesAndHistograms) {
  gauge("test_queue_depth", "Jobs waiting.").Set(7);
  auto& h = histogram("test_latency_seconds", "Latency.", {{"op", "x"}}, {0.1, 1.0});
  h.Observe(0.05);
  h.Observe(0.5);
  std::string text = serialize_text();
  EXPECT_NE(text.find("test_queue_depth 7"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_bucket{op=\"x\",le=\"0.1\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_bucket{op=\"x\",le=\"1\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_count{op=\"x\"} 2"), std::string::npos) << text;
}

TEST(Metrics, SameNameWithAnotherTypeThrows) {
  counter("test_clash_total", "A counter.");
  EXPECT_THROW(gauge("test_clash_total", "Now a gauge."), std::invalid_argument);
}

TEST(Metrics, ProcessMetricsArePresentAndPlausible) {
  EXPECT_GT(resident_memory_bytes(), 1024.0 * 1024.0);
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  double start = process_start_time_seconds();
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 24 * 3600.0);  // a test binary is not a day old
  std::string text = serialize_text();
  EXPECT_NE(text.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(text.find("process_start_time_seconds "), std::string::npos);
}

TEST(Metrics, BuildInfoIsReplaced) {
  set_build_info("1.2.3");
  std::string first = serialize_text();
  EXPECT_NE(first.find("mothership_build_info{version=\"1.2.3\"} 1"), std::string::npos) << first;
  set_build_info("1.2.4");
  std::string second = serialize_text();
  EXPECT_EQ(second.find("version=\"1.2.3\""), std::string::npos);
  EXPECT_NE(second.find("mothership_build_info{version=\"1.2.4\"} 1"), std::string::npos);
  EXPECT_EQ(registry(), registry());
}

}  // namespace
}  // namespace ms::metrics
