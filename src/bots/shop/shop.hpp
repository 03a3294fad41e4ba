// ShopBot: the VPN shop bot every customer gets — what an end user does (start, channels,
// language, buy, trial, my services, wallet, referral, support) and what the owner and their
// admins do (/admin), over the customer's own tenant database.
//
// A ShopBot is one customer's bot: an UpdateHandler for the BotRuntime (its conversation
// flows go through telegram::Router, state in the tenant's conversation_state), and the
// FulfilmentHook of the tenant's PaymentService (a paid order is provisioned on the panel
// and delivered; a payment for an expired order reaches the wallet and the owner is told).
//
// Safety (DESIGN "Money is never lost or doubled"): an order moves only by conditional
// updates from the status that was read; provisioning reserves the panel name first
// (panels/provision.hpp), so a crash or restart at any step resumes (resume()) and no step
// runs twice; a panel failure after payment refunds the order to the wallet and alerts the
// owner; a panel that is down is not offered for sale.
//
// Threads: handle() runs on the runtime's workers, one update of a chat at a time, chats in
// parallel; the outbox hook and resume() may run on any thread at the same time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/crypto/secret_box.hpp"
#include "core/i18n/catalog.hpp"
#include "http/client.hpp"
#include "payments/service.hpp"
#include "storage/storage.hpp"
#include "telegram/runtime.hpp"

namespace ms::shop {

struct ShopDeps {
  std::int64_t tenant_id = 0;
  std::shared_ptr<storage::Database> db;               // the customer's tenant database
  std::shared_ptr<payments::PaymentService> payments;  // over the same database
  const crypto::SecretBox* secrets = nullptr;          // opens panel credentials
  http::HttpClient* http = nullptr;                    // to the panels
  telegram::BotRuntime* runtime = nullptr;             // where this bot runs (to message people outside a turn)
  telegram::BotKey bot_key = 0;
  std::string bot_username;  // for referral links (t.me/<username>?start=...)
  std::string callback_key;  // signs this bot's buttons
  const Clock* clock = &SystemClock::instance();
  // The customer's package limits (none: unlimited), enforced with a clear message to the owner.
  std::optional<int> max_panels;
  std::optional<int> max_users_with_service;
  std::string package_name;  // shown in the limit messages ("Starter")
  // Called after an admin changed payment_methods (the app drops its cached PaymentService).
  std::function<void()> on_payment_methods_changed;
  // For backups (/admin): the tenant's data is exported from here. None: no backups.
  storage::Storage* storage = nullptr;
};

// What one maintenance pass did.
struct MaintenanceReport {
  int payments_expired = 0;
  int auto_renewed = 0;    // renewals paid from the wallet this pass
  int outbox_done = 0;     // paid orders delivered and notices sent
  int orders_resumed = 0;  // orders a crash had left between paid and delivered
  int notices_sent = 0;    // traffic and expiry reminders
  int flows_timed_out = 0;
  int backups_sent = 0;  // the owner's daily backup (once per Tehran day)
};

class ShopBot : public telegram::UpdateHandler, public payments::FulfilmentHook {
 public:
  // Loads the owner's settings and texts. kCorrupted for settings that cannot be read.
  static Result<std::shared_ptr<ShopBot>> create(ShopDeps deps);
  ~ShopBot() override;

  void handle(telegram::BotContext& bot, const telegram::Update& update) override;
  Result<void> handle(const payments::OutboxItem& item) override;

  // After a restart: finishes every order that was paid but not yet delivered (trials
  // included). Success: orders finished now.
  Result<int> resume();
  // Times out flows of people who went quiet (telegram::Router::sweep).
  Result<std::size_t> sweep();
  // One pass of the shop's periodic work (see maintenance.cpp): expire unpaid payments,
  // renew from the wallet what is due, deliver the payment outbox, resume orders, send
  // notices, time out flows, send the owner's daily backup. Idempotent; call it every few seconds to minutes.
  Result<MaintenanceReport> maintain();
  // The bot's @username for referral links, once it is known (getMe).
  void set_username(std::string username);
  // Re-reads settings, texts and panels after the owner changed them elsewhere (web panel).
  Result<void> reload();

  class Impl;

 private:
  explicit ShopBot(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ms::shop
