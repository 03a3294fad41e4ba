// OperatorDesk: the platform operators' tools in the master bot (a MasterFeature, actions
// "ops.*", command /ops), for MasterContext::operator_ids only; anyone else is refused with
// a clear message. A customer card found by Telegram id, @username or customer id (#12):
// package, subscription state and end, bots and their states, recent payments, and a
// message to them; every bot instance's health (Deployments::status: state, heartbeat,
// last error; failed and stale first); and the figures: customers, new customers per week
// (the last 8), MRR per currency (active subscriptions; a yearly price counts a twelfth),
// average deployment time and the satisfaction score.
//
// Threads: as MasterFeature; the figures and health functions are safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "deploy/deploy.hpp"
#include "bots/master/feature.hpp"
#include "bots/master/support.hpp"

namespace ms::master {

// The average time from a deployment's request to its first passed health check, over
// every instance that has one: {average ms, instances}; nullopt when none has.
using DeployTimeQuery = std::function<Result<std::optional<std::pair<std::int64_t, std::int64_t>>>(storage::Database&)>;
// Reads bot_instances.deploy_ms (the deployment pipeline's migration adds the column; before
// it exists this answers nullopt rather than failing).
Result<std::optional<std::pair<std::int64_t, std::int64_t>>> average_deploy_ms(storage::Database& master);

struct Figures {
  std::int64_t customers = 0;
  // New customers in each of the last 8 weeks, oldest first; the last is the 7 days up to now.
  std::vector<std::int64_t> new_per_week;
  // Monthly recurring revenue in minor units per currency code ("USD"): the monthly price of
  // every active monthly subscription plus a twelfth of the yearly price of every yearly one.
  std::map<std::string, std::int64_t> mrr_minor;
  std::optional<std::int64_t> average_deploy_ms;
  std::int64_t deployments_timed = 0;  // instances the average is over
  Satisfaction satisfaction;
};
Result<Figures> compute_figures(storage::Database& master, std::int64_t now,
                                const DeployTimeQuery& deploy_time = average_deploy_ms);

struct InstanceHealthRow {
  deploy::InstanceStatus status;
  bool failed = false;  // the instance is in the failed state
  bool stale = false;   // serving, but no heartbeat for longer than stale_after
};
// Every instance not deleted (Deployments::list of every customer), failed first, then
// stale, then the rest; by id within each.
Result<std::vector<InstanceHealthRow>> instance_health(storage::Database& master, deploy::Deployments& deployments,
                                                       std::int64_t now, std::int64_t stale_after);

struct OperatorOptions {
  std::int64_t stale_after_seconds = 180;  // a serving bot silent longer than this is stale
  DeployTimeQuery deploy_time = average_deploy_ms;
  // The master bot's callback action that lists the payments to review (card receipts);
  // when set, the operators' menu has a button to it. Empty: no such button.
  std::string payments_action;
};

class OperatorDesk : public MasterFeature {
 public:
  // `ctx` must outlive the desk.
  explicit OperatorDesk(MasterContext& ctx, OperatorOptions options = {}) : ctx_(ctx), options_(std::move(options)) {}

  void install(telegram::Router& router) override;
  // Operators: "Operators" (ops.menu); nothing for anyone else.
  std::vector<MenuEntry> menu(std::int64_t telegram_id) const override;

 private:
  MasterContext& ctx_;
  OperatorOptions options_;
};

}  // namespace ms::master
