// A Deployments for the master tests until the deployment pipeline is on main: it keeps
// each instance's status as the test sets it and records every suspend, resume and remove
// ("suspend 3"), and writes the new state to the bot_instances row, as the pipeline does.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "deploy/deploy.hpp"
#include "storage/storage.hpp"

namespace ms::master::testing {

using domain::BotState;
using storage::Session;

class RecordingDeployments : public deploy::Deployments {
 public:
  explicit RecordingDeployments(storage::Database& db) : db_(db) {}
  void add(std::int64_t id, std::int64_t customer, BotState state = BotState::kRunning) {
    deploy::InstanceStatus s;
    s.instance_id = id;
    s.customer_id = customer;
    s.bot_username = "shop" + std::to_string(id) + "_bot";
    s.state = state;
    put(s);
  }
  void put(const deploy::InstanceStatus& s) {
    std::lock_guard lock(mutex_);
    bots_[s.instance_id] = s;
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  BotState state(std::int64_t id) const {
    std::lock_guard lock(mutex_);
    return bots_.at(id).state;
  }

  Result<std::int64_t> create(const deploy::NewInstance&) override { return fail(ErrorCode::kInternal, "unused"); }
  Result<void> deploy(std::int64_t) override { return ok(); }
  Result<void> stop(std::int64_t) override { return ok(); }
  Result<void> start(std::int64_t) override { return ok(); }
  Result<void> restart(std::int64_t) override { return ok(); }
  Result<void> replace_token(std::int64_t, const std::string&) override { return ok(); }
  Result<void> suspend(std::int64_t id) override { return set(id, "suspend", BotState::kSuspended); }
  Result<void> resume(std::int64_t id) override { return set(id, "resume", BotState::kRunning); }
  Result<void> remove(std::int64_t id) override { return set(id, "remove", BotState::kDeleted); }
  Result<deploy::InstanceStatus> status(std::int64_t id) override {
    std::lock_guard lock(mutex_);
    if (!bots_.count(id)) return fail(ErrorCode::kNotFound, "instance");
    return bots_[id];
  }
  Result<std::vector<deploy::InstanceStatus>> list(std::int64_t customer) override {
    std::lock_guard lock(mutex_);
    std::vector<deploy::InstanceStatus> out;
    for (const auto& [id, s] : bots_)
      if (s.customer_id == customer) out.push_back(s);
    return out;
  }
  std::unique_ptr<deploy::ProgressSubscription> subscribe(std::function<void(const deploy::Progress&)>) override {
    return nullptr;
  }

 private:
  Result<void> set(std::int64_t id, const std::string& what, BotState to) {
    std::lock_guard lock(mutex_);
    if (!bots_.count(id)) return fail(ErrorCode::kNotFound, "instance");
    calls_.push_back(what + " " + std::to_string(id));
    bots_[id].state = to;
    // As the pipeline does: the instance row says the state too.
    return db_.with_session([&](Session& s) -> Result<void> {
      auto u = s.exec("UPDATE bot_instances SET status = :st WHERE id = :id",
                      {{"st", std::string(domain::to_string(to))}, {"id", id}});
      if (!u) return fail(std::move(u.error()));
      return ok();
    });
  }
  storage::Database& db_;
  mutable std::mutex mutex_;
  std::map<std::int64_t, deploy::InstanceStatus> bots_;
  std::vector<std::string> calls_;
};

}  // namespace ms::master::testing
