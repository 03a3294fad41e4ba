#include "panels/probe.hpp"

#include <random>

#include <nlohmann/json.hpp>

namespace ms::panels {

namespace {

std::string random_suffix() {
  static const char* kChars = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(kChars[rd() % 36]);
  return out;
}

}  // namespace

nlohmann::json ProbeReport::to_json() const {
  nlohmann::json steps_json = nlohmann::json::array();
  for (const auto& s : steps) {
    nlohmann::json j = {{"step", s.name}, {"ok", s.ok}, {"ms", s.ms}};
    if (!s.note.empty()) j["note"] = s.note;
    if (s.error) {
      j["error"] = {{"kind", std::string(to_string(s.error->kind))}, {"detail", s.error->detail}};
      if (s.error->http_status) j["error"]["status"] = s.error->http_status;
    }
    steps_json.push_back(std::move(j));
  }
  return {{"ok", ok}, {"version", version}, {"account", username}, {"total_ms", total_ms}, {"steps", steps_json}};
}

ProbeReport run_probe(Panel& panel, const std::function<PanelResult<void>()>& login, const ProbeOptions& options) {
  const Clock& clock = options.clock ? *options.clock : SystemClock::instance();
  ProbeReport report;
  report.username = options.username.empty() ? "msprobe_" + random_suffix() : options.username;
  const auto started = clock.steady_now();
  bool failed = false;

  // Runs one step unless an earlier one failed; `fn` returns the error or a note.
  auto run = [&](const std::string& name, const std::function<PanelResult<std::string>()>& fn,
                 bool always = false) -> bool {
    if (failed && !always) return false;
    ProbeStep step;
    step.name = name;
    auto t0 = clock.steady_now();
    auto r = fn();
    step.ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady_now() - t0).count();
    step.ok = r.has_value();
    if (r) {
      step.note = *r;
    } else {
      step.error = r.error();
      failed = true;
    }
    report.steps.push_back(std::move(step));
    return report.steps.back().ok;
  };
  auto check = [](bool good, const std::string& what) -> PanelResult<std::string> {
    if (good) return what;
    return panel_fail(PanelErrorKind::kBadResponse, "the panel did not do it: " + what);
  };

  if (login) {
    run("login", [&]() -> PanelResult<std::string> {
      auto r = login();
      if (!r) return tl::unexpected(r.error());
      return std::string("logged in");
    });
  }
  run("system", [&]() -> PanelResult<std::string> {
    auto s = panel.system();
    if (!s) return tl::unexpected(s.error());
    report.version = s->version;
    return "version " + s->version + ", " + std::to_string(s->total_users) + " users";
  });
  InboundSelection selection;
  run("inbounds", [&]() -> PanelResult<std::string> {
    auto in = panel.inbounds();
    if (!in) return tl::unexpected(in.error());
    for (const auto& i : *in) selection[i.protocol];  // every protocol the panel serves, all its inbounds
    if (selection.empty()) return panel_fail(PanelErrorKind::kBadRequest, "the panel has no inbounds to sell");
    return std::to_string(in->size()) + " inbounds";
  });

  const std::int64_t expire = clock.unix_seconds() + options.lifetime_seconds;
  bool created = false;
  bool maybe_created = false;
  std::string first_link;
  run("create", [&]() -> PanelResult<std::string> {
    NewAccount a;
    a.username = report.username;
    a.inbounds = selection;
    a.data_limit_bytes = options.data_limit_bytes;
    a.expire_at = expire;
    a.note = "mothership probe; safe to delete";
    auto r = panel.create(a);
    if (!r) {
      maybe_created = r.error().transient();  // the answer may be lost while the account exists
      return tl::unexpected(r.error());
    }
    created = true;
    first_link = r->links.empty() ? "" : r->links.front();
    return check(r->data_limit_bytes == options.data_limit_bytes && r->expire_at == expire,
                 "account with " + std::to_string(options.data_limit_bytes) + " bytes until " + std::to_string(expire));
  });
  run("get", [&]() -> PanelResult<std::string> {
    auto r = panel.get(report.username);
    if (!r) return tl::unexpected(r.error());
    return check(r->username == report.username && !r->subscription_url.empty(), "read back with its link");
  });
  run("modify", [&]() -> PanelResult<std::string> {
    AccountChanges c;
    c.data_limit_bytes = options.data_limit_bytes * 2;
    c.expire_at = expire + 3600;
    auto r = panel.modify(report.username, c);
    if (!r) return tl::unexpected(r.error());
    return check(r->data_limit_bytes == *c.data_limit_bytes && r->expire_at == *c.expire_at,
                 "limit and expiry changed");
  });
  run("reset", [&]() -> PanelResult<std::string> {
    auto r = panel.reset_usage(report.username);
    if (!r) return tl::unexpected(r.error());
    return check(r->used_bytes == 0, "usage is zero");
  });
  run("revoke", [&]() -> PanelResult<std::string> {
    auto r = panel.revoke_link(report.username);
    if (!r) return tl::unexpected(r.error());
    return check(first_link.empty() || r->links.empty() || r->links.front() != first_link, "new credentials and link");
  });
  bool deleted = false;
  run("delete", [&]() -> PanelResult<std::string> {
    auto r = panel.remove(report.username);
    if (!r) return tl::unexpected(r.error());
    deleted = true;
    auto gone = panel.get(report.username);
    return check(!gone && gone.error().kind == PanelErrorKind::kNotFound, "account gone");
  });
  if ((created || maybe_created) && !deleted) {
    run(
        "cleanup",
        [&]() -> PanelResult<std::string> {
          auto r = panel.remove(report.username);
          if (!r && r.error().kind == PanelErrorKind::kNotFound) return std::string("nothing to remove");
          if (!r) return tl::unexpected(r.error());
          return std::string("probe account removed");
        },
        true);
  }
  report.total_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady_now() - started).count();
  report.ok = !failed;
  return report;
}

}  // namespace ms::panels
