// The inside of MasterBot, shared by the files that build its flows (internal to src/bots/master/):
// master.cpp (texts, construction, the periodic pass), customers.cpp (/start, language,
// menu, /panel), packages.cpp (packages, buying, receipts reviewed by operators, Stars),
// fulfil.cpp (the FulfilmentHook: a paid order becomes a subscription), wizard.cpp (create
// a bot), progress.cpp (the deployment's one edited message), my_bots.cpp (status and
// actions on the customer's bots).
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/i18n/catalog.hpp"
#include "deploy/deploy.hpp"
#include "bots/master/master.hpp"
#include "bots/master/store.hpp"
#include "bots/master/subscriptions.hpp"
#include "telegram/keyboard.hpp"
#include "telegram/router.hpp"

namespace ms::master {

using i18n::Lang;
using telegram::Turn;

class MasterBot::Impl {
 public:
  Impl(MasterContext& c, MasterOptions o, std::vector<std::shared_ptr<MasterFeature>> f);
  ~Impl();

  void build_router();

  // ---- texts and keyboards ----
  std::string t(Lang lang, std::string_view key, const i18n::Args& args = {}) const;
  std::string money(Money m, Lang lang) const;
  std::string date(std::int64_t unix_seconds, Lang lang) const;
  std::string number(std::int64_t n, Lang lang) const;
  telegram::InlineKeyboardBuilder keyboard(Lang lang) const;
  static telegram::InlineKeyboardMarkup built(const telegram::InlineKeyboardBuilder& b);
  std::int64_t now() const { return ctx.clock->unix_seconds(); }
  Lang lang_of(std::int64_t telegram_id);

  // ---- the person of a turn ----
  // The customer writing, entered if new; nullopt when they were answered already.
  std::optional<CustomerRow> gate(Turn& turn);
  void show_menu(Turn& turn, const CustomerRow& c, bool edit = false);
  void show_language(Turn& turn, const CustomerRow& c, bool edit);
  void oops(Turn& turn, Lang lang, const Error& error, std::string_view key = "error.internal");
  // Sends outside a turn (ctx.send, else the runtime). Blocks until Telegram answered.
  Result<void> send_to(std::int64_t chat_id, const std::string& text,
                       std::optional<telegram::InlineKeyboardMarkup> markup = std::nullopt);
  std::shared_ptr<telegram::BotContext> bot_context() const;

  // ---- flows ----
  void register_start(telegram::Router& r);     // customers.cpp
  void register_packages(telegram::Router& r);  // packages.cpp
  void register_wizard(telegram::Router& r);    // wizard.cpp
  void register_my_bots(telegram::Router& r);   // my_bots.cpp

  // ---- packages (packages.cpp) ----
  void show_packages(Turn& turn, const CustomerRow& c);
  void show_package(Turn& turn, const CustomerRow& c, std::int64_t package_id);
  std::string includes(const domain::Package& p, Lang lang) const;
  std::string package_name(const domain::Package& p, Lang lang) const {
    return lang == Lang::kFa ? p.name_fa : p.name_en;
  }
  void show_methods(Turn& turn, const CustomerRow& c, std::int64_t order_id);
  void show_checkout(Turn& turn, const CustomerRow& c, const payments::Checkout& checkout, const std::string& what);
  void send_receipt_to_operators(const payments::PaymentRecord& payment, const CustomerRow& c);
  void review(Turn& turn);
  // Delivers what payments just made due (one dispatcher at a time).
  void kick_outbox();

  // ---- after payment (fulfil.cpp) ----
  Result<void> fulfil(std::int64_t order_id);
  // The customer's tenant database id, created if missing.
  Result<std::int64_t> ensure_tenant(std::int64_t customer_id);
  // Bots that waited for a package: created ones are deployed, suspended ones resumed.
  Result<void> resume_waiting_bots(std::int64_t customer_id);

  // ---- the create-a-bot wizard (wizard.cpp) ----
  // ok() when the customer may create one more bot; otherwise answered with why.
  bool may_create_bot(Turn& turn, const CustomerRow& c);
  void ask_admins(Turn& turn, Lang lang);
  void ask_channel(Turn& turn, Lang lang);
  void ask_panel(Turn& turn, Lang lang);
  void finish_wizard(Turn& turn, const CustomerRow& c);
  std::optional<std::string> wizard_token(Turn& turn);  // the token kept (encrypted) in the flow
  void delete_message(Turn& turn);                      // the person's message (a secret in it)

  // ---- the deployment's progress message (progress.cpp) ----
  void on_progress(const deploy::Progress& p);  // pipeline worker: queue it, never block
  void progress_loop();                         // the bot's thread
  void apply_progress(const deploy::Progress& p);
  std::string progress_text(const ProgressRow& row) const;
  void render_progress(ProgressRow& row);
  // A live bot failed later (its token was revoked): a new message to the owner, in their language.
  void tell_stopped(const ProgressRow& row, const deploy::Progress& p);
  // The first panel (waiting encrypted in the row) into the tenant, once its database is ready.
  void store_first_panel(ProgressRow& row);
  Result<int> resume_progress();

  // ---- my bots (my_bots.cpp) ----
  void show_my_bots(Turn& turn, const CustomerRow& c);
  void show_bot(Turn& turn, const CustomerRow& c, std::int64_t instance_id, bool edit = true);
  // The customer's own instance named by the button's first argument (answered when not).
  std::optional<deploy::InstanceStatus> own_bot(Turn& turn, const CustomerRow& c);
  void show_admins(Turn& turn, const CustomerRow& c, std::int64_t instance_id);

  MasterContext& ctx;
  MasterOptions opt;
  std::vector<std::shared_ptr<MasterFeature>> features;
  MasterStore store;
  SubscriptionStore subs;
  i18n::Catalog texts;
  std::shared_ptr<telegram::Router> router;
  payments::FulfilmentHook* hook = nullptr;  // the MasterBot itself

  std::mutex progress_mutex;
  std::condition_variable progress_wake;
  std::deque<deploy::Progress> progress_queue;
  // Events of instances with no progress row yet (a fast pipeline can outrun the wizard, which
  // saves the row once its message is sent); replayed in order when the row is there. Only the
  // progress thread touches it; bounded to the newest kMaxEarly instances.
  std::map<std::int64_t, std::vector<deploy::Progress>> early_progress;
  static constexpr std::size_t kMaxEarly = 64;
  bool stopping = false;
  std::thread progress_thread;
  std::unique_ptr<deploy::ProgressSubscription> progress_subscription;
  std::mutex subscribe_mutex;

  std::atomic<bool> dispatching{false};
  std::atomic<bool> again{false};
};

// "token_verified", ... for the progress table (deploy's own to_string lives with the pipeline).
std::string_view step_name(deploy::Step step);
inline constexpr deploy::Step kSteps[] = {deploy::Step::kTokenVerified, deploy::Step::kTenantReady,
                                          deploy::Step::kConfigured, deploy::Step::kStarted, deploy::Step::kHealthy};

}  // namespace ms::master
