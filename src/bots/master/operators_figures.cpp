// The operators' figures and the instances' health, as plain functions over the master
// database (and Deployments), so the bot's screens and the tests read the same numbers.
#include <algorithm>
#include <cmath>

#include "bots/master/operators.hpp"

namespace ms::master {

Result<std::optional<std::pair<std::int64_t, std::int64_t>>> average_deploy_ms(storage::Database& master) {
  using Out = std::optional<std::pair<std::int64_t, std::int64_t>>;
  return master.with_session([](storage::Session& s) -> Result<Out> {
    auto row = s.query_one(
        "SELECT count(deploy_ms) AS n, COALESCE(sum(deploy_ms), 0) AS total FROM bot_instances "
        "WHERE deploy_ms IS NOT NULL");
    // Before the pipeline's migration there is no such column: nothing was timed yet.
    if (!row) return Out();
    const std::int64_t n = (*row)->get_int("n");
    if (n == 0) return Out();
    const double total = (*row)->get_double("total");
    return Out(std::pair{static_cast<std::int64_t>(std::llround(total / static_cast<double>(n))), n});
  });
}

Result<Figures> compute_figures(storage::Database& master, std::int64_t now, const DeployTimeQuery& deploy_time) {
  constexpr std::int64_t kWeek = 7 * 24 * 60 * 60;
  auto figures = master.snapshot([&](storage::Session& s) -> Result<Figures> {
    Figures f;
    auto count = s.query_one("SELECT count(*) AS n FROM customers WHERE status <> 'deleted'");
    if (!count) return fail(std::move(count.error()));
    f.customers = (*count)->get_int("n");
    for (int week = 7; week >= 0; --week) {
      auto n = s.query_one("SELECT count(*) AS n FROM customers WHERE created_at > :from AND created_at <= :to",
                           {{"from", now - (week + 1) * kWeek}, {"to", now - week * kWeek}});
      if (!n) return fail(std::move(n.error()));
      f.new_per_week.push_back((*n)->get_int("n"));
    }
    auto mrr = s.query(
        "SELECT p.currency AS currency, s.cycle AS cycle, COALESCE(sum(p.monthly_price_minor), 0) AS monthly, "
        "COALESCE(sum(p.yearly_price_minor), 0) AS yearly FROM subscriptions s JOIN packages p ON p.id = "
        "s.package_id WHERE s.state = 'active' GROUP BY p.currency, s.cycle");
    if (!mrr) return fail(std::move(mrr.error()));
    for (const auto& row : *mrr) {
      auto& total = f.mrr_minor[row.get_string("currency")];
      // A yearly price counts a twelfth, summed first so the rounding happens once.
      total += row.get_string("cycle") == "yearly" ? row.get_int("yearly") / 12 : row.get_int("monthly");
    }
    return f;
  });
  if (!figures) return figures;
  auto timed = deploy_time(master);
  if (!timed) return fail(std::move(timed.error()));
  if (*timed) {
    figures->average_deploy_ms = (*timed)->first;
    figures->deployments_timed = (*timed)->second;
  }
  auto score = SupportDesk::satisfaction(master);
  if (!score) return fail(std::move(score.error()));
  figures->satisfaction = *score;
  return figures;
}

Result<std::vector<InstanceHealthRow>> instance_health(storage::Database& master, deploy::Deployments& deployments,
                                                       std::int64_t now, std::int64_t stale_after) {
  // Through Deployments (the contract), customer by customer, not the pipeline's tables.
  auto customers = master.with_session([](storage::Session& s) { return s.query("SELECT id FROM customers"); });
  if (!customers) return fail(std::move(customers.error()));
  std::vector<InstanceHealthRow> out;
  for (const auto& c : *customers) {
    auto listed = deployments.list(c.get_int("id"));
    if (!listed) return fail(std::move(listed.error()));
    for (auto& status : *listed) {
      if (status.state == domain::BotState::kDeleted) continue;
      InstanceHealthRow h;
      h.status = std::move(status);
      h.failed = h.status.state == domain::BotState::kFailed;
      h.stale = !h.failed && domain::is_serving(h.status.state) &&
                (!h.status.heartbeat_at || now - *h.status.heartbeat_at > stale_after);
      out.push_back(std::move(h));
    }
  }
  auto rank = [](const InstanceHealthRow& h) { return h.failed ? 0 : h.stale ? 1 : 2; };
  std::stable_sort(out.begin(), out.end(), [&](const InstanceHealthRow& a, const InstanceHealthRow& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    return a.status.instance_id < b.status.instance_id;
  });
  return out;
}

}  // namespace ms::master
