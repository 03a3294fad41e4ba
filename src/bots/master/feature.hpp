// The seam between the master bot (MasterBot, master.hpp) and the parts it is made of:
// support tickets, the operators' tools and the subscription lifecycle are MasterFeatures
// that the bot installs into its router, shows in its menus and ticks periodically.
//
// Threads: install() is called once before the bot runs; menu() and turn handlers run on
// the bot runtime's workers (one chat at a time); tick() runs on the host's maintenance
// thread, never two at once. A feature keeps its state in the master database.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "storage/storage.hpp"
#include "telegram/router.hpp"

namespace ms::deploy {
class Deployments;
}
namespace ms::payments {
class PaymentService;
}

namespace ms::master {

// What every part of the master bot may use. Owned by the app; outlives the bot.
struct MasterContext {
  storage::Database* db = nullptr;  // the master database
  const Clock* clock = &SystemClock::instance();
  std::vector<std::int64_t> operator_ids;             // MOTHERSHIP_OPERATOR_IDS
  deploy::Deployments* deployments = nullptr;         // customers' shop bots
  payments::PaymentService* payments = nullptr;       // packages bought by customers
  std::string callback_key;                           // signs the master bot's buttons
  // Messages a chat from the master bot outside a turn (notices, answers to tickets).
  // Failure: the Telegram error as a value (a customer who blocked the bot: kPermissionDenied).
  std::function<Result<void>(std::int64_t chat_id, const std::string& text,
                             std::optional<telegram::InlineKeyboardMarkup> markup)>
      send;
  // The language ("fa" or "en") a Telegram user chose in the master bot; "fa" when unknown.
  std::function<std::string(std::int64_t telegram_id)> language_of;

  bool is_operator(std::int64_t telegram_id) const {
    for (auto id : operator_ids)
      if (id == telegram_id) return true;
    return false;
  }
};

// One main-menu button a feature adds: the catalog key of its label and the callback
// action it answers (actions are prefixed with the feature's name: "support.", "ops.", ...).
struct MenuEntry {
  std::string label_key;
  std::string action;
};

class MasterFeature {
 public:
  virtual ~MasterFeature() = default;
  // Registers the feature's commands, callback actions and flow states.
  virtual void install(telegram::Router& router) = 0;
  // The main-menu buttons this feature shows to this person (operators may see more).
  virtual std::vector<MenuEntry> menu(std::int64_t telegram_id) const = 0;
  // Periodic work at `now` (unix seconds): reminders, sweeps. Failures are logged and
  // retried at the next tick; success: how many things it did.
  virtual Result<int> tick(std::int64_t now) {
    (void)now;
    return 0;
  }
};

}  // namespace ms::master
