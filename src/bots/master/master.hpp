// MasterBot: the platform's own Telegram bot, where business owners (customers) become
// customers and get their shop bots: /start, language, the main menu, packages with their
// prices and what each includes, buying or renewing a package through the master
// PaymentService (card-to-card receipts reviewed once by operators, Telegram Stars, the
// gateways the operator enabled, the customer's wallet), the "create a bot" wizard (token,
// admins, channel, first Marzban panel, then deploy::Deployments::create with ONE progress
// message edited step by step), "my bots" (status, restart, stop/start, new token, admins,
// delete) and /panel (a one-time login link for the web panel, login.hpp).
//
// Support tickets, the operators' tools and the subscription lifecycle are MasterFeatures
// (feature.hpp) the bot installs: their buttons join the main menu and their tick() runs
// in the bot's periodic pass.
//
// MasterBot is also the FulfilmentHook of the master PaymentService: a paid package order
// creates or renews the customer's subscription exactly once (subscriptions.hpp), creates
// the customer's tenant database if missing, tells the customer, and resumes their shop
// bots that were waiting for a package (deploy time counts from there).
//
// Threads: handle() runs on the runtime's workers (one chat at a time); the outbox hook,
// tick() and resume() may run on any thread. Progress events are queued and applied on the
// bot's own thread, so the pipeline's worker never waits for Telegram.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto/secret_box.hpp"
#include "deploy/deploy.hpp"
#include "http/client.hpp"
#include "bots/master/feature.hpp"
#include "payments/service.hpp"
#include "storage/storage.hpp"
#include "telegram/runtime.hpp"

namespace ms::master {

// The master bot's key in the BotRuntime; shop bots use their instance ids (> 0).
inline constexpr telegram::BotKey kMasterBotKey = -1;
// The master bot's username in sandbox mode (`mothership sandbox chat --bot mothership_bot`).
inline constexpr const char* kSandboxUsername = "mothership_bot";

struct MasterOptions {
  telegram::BotRuntime* runtime = nullptr;  // where the master bot runs (edits, messages outside a turn)
  telegram::BotKey bot_key = kMasterBotKey;
  storage::Storage* storage = nullptr;         // customers' tenants: users and sales, shop admins, first panel
  const crypto::SecretBox* secrets = nullptr;  // bot tokens inside flows, panel passwords
  http::HttpClient* http = nullptr;            // getMe/getChatMember with a new bot's token; panel probes
  // false: a customer's panel URL leading to a loopback, private or internal address is
  // refused (http/address_policy.hpp); MOTHERSHIP_PANELS_ALLOW_PRIVATE_ADDRESSES.
  bool allow_private_panel_addresses = false;
  std::string telegram_api_url;  // the Bot API the customers' bots use (the sandbox in sandbox mode)
  std::string public_url = "http://127.0.0.1:8080";  // /panel links: <public_url>/panel/login?token=...
  std::chrono::seconds login_ttl{600};
  deploy::Backend backend = deploy::Backend::kInProcess;  // where new bots run (MOTHERSHIP_DEPLOY_BACKEND)
  // A shop's settings changed in its tenant (admins): the running shop reloads them. May be empty.
  std::function<void(std::int64_t instance_id)> on_shop_changed;
};

// What one periodic pass did.
struct TickReport {
  int payments_expired = 0;
  int outbox_done = 0;
  int flows_timed_out = 0;
  int features_done = 0;
};

class MasterBot : public telegram::UpdateHandler, public payments::FulfilmentHook {
 public:
  // `ctx` must outlive the bot; ctx.db, ctx.payments and ctx.deployments are required.
  // Failure: kInvalidArgument naming what is missing.
  static Result<std::shared_ptr<MasterBot>> create(MasterContext& ctx, MasterOptions options,
                                                   std::vector<std::shared_ptr<MasterFeature>> features = {});
  ~MasterBot() override;  // unsubscribes from Progress and joins the bot's thread

  void handle(telegram::BotContext& bot, const telegram::Update& update) override;
  // A paid package order (fulfil_order), or a notice for operators or the customer.
  Result<void> handle(const payments::OutboxItem& item) override;

  // After a (re)start: subscribes to deployment Progress and brings every progress message
  // that was still being edited up to date from the instances' recorded state.
  // Success: progress messages resumed.
  Result<int> resume();
  // The periodic pass at `now`: expire unpaid payments, deliver the payment outbox, time out
  // quiet flows, run every feature's tick(). Failures are logged; the next pass retries.
  TickReport tick(std::int64_t now);

  class Impl;

 private:
  explicit MasterBot(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// MasterContext::send over a bot of `runtime` (blocking until Telegram answered).
std::function<Result<void>(std::int64_t, const std::string&, std::optional<telegram::InlineKeyboardMarkup>)>
make_sender(telegram::BotRuntime& runtime, telegram::BotKey key);
// MasterContext::language_of over the customers table of `master`.
std::function<std::string(std::int64_t)> make_language_of(storage::Database& master);

}  // namespace ms::master
