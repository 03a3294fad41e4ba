// ShopHost: customers' shop bots running in this process (the in-process deployment):
// each one a ShopBot over its tenant database and the tenant's PaymentService, added to the
// shared BotRuntime, with its periodic pass (ShopBot::maintain) run on one thread of the
// host's own for all of them.
//
// Threads: start/stop/hosted are thread-safe; maintenance runs on the host's thread and
// stop() waits for a pass of that shop that is running.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/crypto/secret_box.hpp"
#include "http/client.hpp"
#include "payments/registry.hpp"
#include "bots/shop/shop.hpp"
#include "storage/storage.hpp"
#include "telegram/runtime.hpp"

namespace ms::shop {

struct HostedShop {
  std::int64_t instance_id = 0;  // the runtime key
  std::int64_t tenant_id = 0;
  std::string token;
  std::string bot_username;            // empty: asked of Telegram (getMe) at start
  std::int64_t owner_telegram_id = 0;  // made the shop's owner-admin if it has no admin yet
  telegram::Intake intake = telegram::Intake::kPolling;
  std::string webhook_secret;
};

struct ShopHostOptions {
  std::chrono::seconds maintenance_every{30};
};

class ShopHost {
 public:
  // Everything given must outlive the host.
  ShopHost(storage::Storage& storage, payments::PaymentRegistry& payments, const crypto::SecretBox& secrets,
           http::HttpClient& panels_http, telegram::BotRuntime& runtime, const Clock& clock,
           ShopHostOptions options = {});
  ~ShopHost();  // stops the maintenance thread and removes every hosted bot
  ShopHost(const ShopHost&) = delete;
  ShopHost& operator=(const ShopHost&) = delete;

  // Starts (or, with a changed token, restarts) one shop; resumes what a crash left.
  // Failure: kNotFound (tenant), kInvalidArgument (token), kUnavailable (Telegram for getMe).
  Result<void> start(const HostedShop& shop);
  Result<void> stop(std::int64_t instance_id);
  std::vector<std::int64_t> hosted() const;
  // The shop of an instance, for tests and the web panel; nullptr when not hosted.
  std::shared_ptr<ShopBot> shop(std::int64_t instance_id) const;

 private:
  struct Entry {
    HostedShop spec;
    std::shared_ptr<storage::Database> db;
    std::shared_ptr<ShopBot> bot;
  };
  void loop();

  storage::Storage& storage_;
  payments::PaymentRegistry& payments_;
  const crypto::SecretBox& secrets_;
  http::HttpClient& panels_http_;
  telegram::BotRuntime& runtime_;
  const Clock& clock_;
  ShopHostOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<std::int64_t, Entry> shops_;
  std::set<std::int64_t> reload_;  // shops whose payment methods changed: rebuilt by the loop
  std::thread thread_;
};

// The key that signs a shop bot's buttons: derived from its token, so it survives restarts
// and changes with a new token.
std::string callback_key_for(std::string_view token);

}  // namespace ms::shop
