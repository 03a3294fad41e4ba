// The probe against the strict Marzban test panel: a healthy panel passes every step; a
// failing one says which step failed, and the probe account never stays behind.
#include "panels/probe.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support.hpp"

namespace ms::panels {
namespace {

using marzban_test::Fault;
using testing::fast_options;
using testing::Rig;

std::vector<std::string> names(const ProbeReport& r) {
  std::vector<std::string> out;
  for (const auto& s : r.steps) out.push_back(s.name + (s.ok ? "" : "!"));
  return out;
}

TEST(Probe, AHealthyPanelPassesEveryStep) {
  Rig rig;
  auto panel = rig.panel();
  auto report = run_probe(*panel, [&] { return panel->login(); });
  EXPECT_TRUE(report.ok) << report.to_json().dump(2);
  EXPECT_EQ(names(report), (std::vector<std::string>{"login", "system", "inbounds", "create", "get", "modify", "reset",
                                                     "revoke", "delete"}));
  EXPECT_EQ(report.version, "0.7.0");
  EXPECT_EQ(rig.server.user_count(), 0u);
  auto j = report.to_json();
  EXPECT_EQ(j["steps"].size(), 9u);
  EXPECT_TRUE(j["steps"][0].contains("ms"));
  EXPECT_EQ(j.dump().find("admin\""), std::string::npos);
}

TEST(Probe, APanelOnAPrivateAddressIsRefusedWithoutAnyRequest) {
  Rig rig;
  auto o = fast_options(rig.server.base_url());  // http://127.0.0.1:<port>
  o.refuse_private_addresses = true;
  auto panel = rig.panel(o);
  auto report = run_probe(*panel, [&] { return panel->login(); });
  EXPECT_FALSE(report.ok);
  ASSERT_FALSE(report.steps.empty());
  ASSERT_TRUE(report.steps.front().error);
  EXPECT_EQ(report.steps.front().error->kind, PanelErrorKind::kAddressRefused) << report.to_json().dump(2);
  EXPECT_EQ(report.steps.front().error->message_key(), "panel.error.address_refused");
  EXPECT_TRUE(rig.server.all_hits().empty());
  EXPECT_EQ(report.steps.front().error->to_error().code, ErrorCode::kPermissionDenied);
}

TEST(Probe, AFailingStepStillRemovesTheAccount) {
  Rig rig;
  rig.server.add_fault({"PUT", "/api/user/*", Fault::Kind::kStatus, 500, {}, -1});
  auto panel = rig.panel();
  auto report = run_probe(*panel, [&] { return panel->login(); });
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(names(report),
            (std::vector<std::string>{"login", "system", "inbounds", "create", "get", "modify!", "cleanup"}));
  EXPECT_EQ(report.steps[5].error->kind, PanelErrorKind::kServerError);
  EXPECT_EQ(rig.server.user_count(), 0u) << "the probe account is removed";
}

TEST(Probe, ALostCreateAnswerIsCleanedUpToo) {
  Rig rig;
  rig.server.add_fault({"POST", "/api/user", Fault::Kind::kApplyDrop});
  auto panel = rig.panel();
  auto report = run_probe(*panel, [&] { return panel->login(); });
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.steps.back().name, "cleanup");
  EXPECT_TRUE(report.steps.back().ok);
  EXPECT_EQ(rig.server.user_count(), 0u);
}

TEST(Probe, AWrongPasswordStopsAtLogin) {
  Rig rig;
  auto panel = rig.panel(fast_options(rig.server.base_url(), "wrong"));
  auto report = run_probe(*panel, [&] { return panel->login(); });
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(names(report), (std::vector<std::string>{"login!"}));
  EXPECT_EQ(report.steps[0].error->kind, PanelErrorKind::kUnauthorized);
  EXPECT_EQ(rig.server.hits("POST /api/user"), 0);
}

}  // namespace
}  // namespace ms::panels
