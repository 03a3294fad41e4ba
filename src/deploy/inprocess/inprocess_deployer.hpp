// InProcessDeployer: the `inprocess` backend. Shop bots run in this process: a ShopBot in
// the shared BotRuntime through shop::ShopHost; a suspended instance runs a small paused
// handler instead that answers every end user "service paused" (fa/en) and sells nothing.
// Health: the runtime reports the bot running with no intake error (a poller that got 401 or
// 409 reports one), and Telegram answered a getMe through the bot's own client since the
// start.
//
// Threads: thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "core/clock.hpp"
#include "core/i18n/catalog.hpp"
#include "deploy/deploy.hpp"
#include "bots/shop/host.hpp"
#include "telegram/runtime.hpp"

namespace ms::deploy {

class InProcessDeployer final : public Deployer {
 public:
  // Everything given must outlive the deployer.
  InProcessDeployer(shop::ShopHost& host, telegram::BotRuntime& runtime, const Clock& clock);
  ~InProcessDeployer() override;

  Backend backend() const override { return Backend::kInProcess; }
  Result<void> start(const InstanceSpec& spec) override;
  Result<void> stop(std::int64_t instance_id) override;
  Result<InstanceHealth> health(std::int64_t instance_id) override;
  std::vector<std::int64_t> running() const override;

 private:
  struct Entry {
    InstanceSpec spec;
    std::int64_t started_at = 0;
    std::optional<std::int64_t> heartbeat_at;
    int restarts = 0;
    bool answered = false;  // a getMe through the bot's client succeeded since the start
  };
  Result<void> stop_locked(std::int64_t instance_id, const Entry& entry);

  shop::ShopHost& host_;
  telegram::BotRuntime& runtime_;
  const Clock& clock_;
  std::shared_ptr<i18n::Catalog> catalog_;
  mutable std::mutex mu_;
  std::map<std::int64_t, Entry> entries_;
  std::map<std::int64_t, int> restarts_;  // survives stop/start
};

}  // namespace ms::deploy
