// The inside of ShopBot, shared by the files that build its flows (internal to src/bots/shop/):
// start.cpp (entry, channels, language, menu, anti-spam), buy.cpp (locations, plans,
// discounts, payment methods, receipts, Stars, trial), services.cpp (my services, renew,
// new link, auto-renew), wallet.cpp (wallet, top-up, referral, support), fulfil.cpp
// (provisioning and delivery after payment, refunds to the wallet on panel failure).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/i18n/catalog.hpp"
#include "panels/panel.hpp"
#include "panels/panel_repository.hpp"
#include "bots/shop/broadcast.hpp"
#include "bots/shop/settings.hpp"
#include "bots/shop/shop.hpp"
#include "bots/shop/store.hpp"
#include "telegram/keyboard.hpp"
#include "telegram/router.hpp"

namespace ms::shop {

using i18n::Lang;
using telegram::Turn;

class ShopBot::Impl {
 public:
  explicit Impl(ShopDeps deps);
  ~Impl();  // admin_people_broadcast.cpp: stops and joins the broadcast threads

  Result<void> load();  // settings, texts
  void build_router();

  // ---- texts and keyboards ----
  std::string t(Lang lang, std::string_view key, const i18n::Args& args = {}) const;
  std::string money(Money m, Lang lang) const;
  std::string date(std::int64_t unix_seconds, Lang lang) const;
  std::string bytes(std::int64_t n, Lang lang) const;
  std::string number(std::int64_t n, Lang lang) const;  // Persian digits in fa
  telegram::InlineKeyboardBuilder keyboard(Lang lang) const;
  static telegram::InlineKeyboardMarkup built(const telegram::InlineKeyboardBuilder& b);
  std::int64_t now() const { return deps.clock->unix_seconds(); }
  ShopSettings settings() const;
  std::string bot_username() const {
    std::shared_lock lock(settings_mutex_);
    return deps.bot_username;
  }

  // ---- the person of a turn ----
  // The person writing, entered if new. nullopt when they may not go on (banned, muted,
  // not a member of the owner's channels): they were already answered.
  std::optional<Person> gate(Turn& turn, bool check_channels = true);
  // True when the person is a member of every required channel (asks Telegram).
  bool in_channels(Turn& turn);
  void show_menu(Turn& turn, const Person& p, bool edit = false);
  // Answers a failed step: a short message in the person's language, details to the log.
  void oops(Turn& turn, Lang lang, const Error& error, std::string_view key = "error.internal");

  // ---- flows (registered on the router) ----
  void register_start(telegram::Router& r);
  void register_buy(telegram::Router& r);
  void register_services(telegram::Router& r);
  void register_wallet(telegram::Router& r);
  void register_admin(telegram::Router& r);          // admin.cpp: /admin and its menu
  void register_admin_people(telegram::Router& r);   // admin_people.cpp
  void register_admin_catalog(telegram::Router& r);  // admin_catalog.cpp

  // ---- the admins' side ----
  // The role of the person pressing, or nullopt (answered "not allowed"); owner_or_admin
  // refuses the support role too.
  std::optional<AdminRole> admin_gate(Turn& turn, bool owner_or_admin = false);
  Lang admin_lang(std::int64_t telegram_id);
  void show_admin_menu(Turn& turn, AdminRole role);

  // Shows what the payer must do for a started checkout (card, link, Stars invoice, done).
  void show_checkout(Turn& turn, const Person& p, const payments::Checkout& checkout, std::string_view what);
  // A button per payment method the owner enabled (and the wallet): action(id, method).
  void add_methods(telegram::InlineKeyboardBuilder& kb, const Person& p, std::string_view action, std::int64_t id,
                   bool allow_wallet) const;

  // The caller's own service named by the button's first argument (answered when not).
  std::optional<ServiceRow> own_service(Turn& turn, const Person& p);

  // ---- buying steps (buy_steps.cpp) ----
  void show_order(Turn& turn, const Person& p, std::int64_t order_id);
  std::vector<domain::PaymentMethod> offered_methods() const;
  // Puts a discount code on a pending order. Success: the new price. Failure: the error's
  // message is the i18n key to show (discount.expired, discount.used_up, ...).
  Result<Money> apply_discount_code(const Person& p, std::int64_t order_id, std::string code);
  void send_receipt_to_admins(const payments::PaymentRecord& payment, const Person& p);
  // One receipt with its approve/reject buttons to one admin.
  void send_receipt_to(std::int64_t admin_telegram_id, const payments::PaymentRecord& payment, const Person& p);
  void review(Turn& turn);
  void take_trial(Turn& turn, const Person& p);
  bool within_package(const Person& p);
  // Delivers what payments just made due (one dispatcher at a time; a kick during a run
  // makes it go round again).
  void kick_outbox();

  // ---- periodic (maintenance.cpp) ----
  Result<int> auto_renew_due();

  // ---- after payment (fulfil.cpp) ----
  // Provisions (or renews) and delivers one paid order; idempotent. One attempt per order at a
  // time in this process: a call while another attempt runs returns ok() at once (the running
  // one delivers; if it fails, the order stays paid/provisioning and the next pass resumes it).
  Result<void> fulfil(std::int64_t order_id, int attempt);
  Result<void> notify_owner(const std::string& key, const i18n::Args& args);
  // Sends to a person outside a turn (blocking until Telegram answers).
  Result<void> send_to(std::int64_t chat_id, std::string text, std::optional<telegram::ReplyMarkup> markup = {});
  // The subscription link, its QR code and (if the owner wants) each config link.
  Result<void> deliver(const Person& p, const ServiceRow& service, std::string_view headline_key);
  Result<std::shared_ptr<panels::Panel>> panel(std::int64_t panel_id);
  void note_panel_health(const OrderRow& o);
  Result<ServiceRow> provision_new(const OrderRow& o);
  Result<ServiceRow> extend(const OrderRow& o);
  Result<void> refund_to_wallet(const OrderRow& o, const Person& p, const Error& why);
  Result<void> reward_referrer(const OrderRow& o, const Person& p);
  Result<void> count_discount(const OrderRow& o);

  // ---- admin_catalog (admin_catalog*.cpp): plans, panels, discounts, payment methods, settings, texts ----
  // A form: questions answered one message each (state "a_form"), then, optionally, a choice
  // among buttons ("a_ch"), then `done` with the answers.
  struct AdminField {
    std::string name;
    std::string prompt;  // i18n key
    // The answer's value, or nullopt when it is not acceptable (the question is asked again).
    std::function<std::optional<nlohmann::json>(Turn&)> parse;
    std::string invalid = "shop.admin.form.invalid";  // i18n key said before asking again
    bool secret = false;                              // the admin's message is deleted once read
  };
  struct AdminChoice {
    std::string label, value;
  };
  struct AdminForm {
    std::vector<AdminField> fields;
    std::string choice_prompt;  // i18n key; empty: no choice step
    std::function<std::vector<AdminChoice>(Lang, const nlohmann::json& context)> choices;
    std::function<void(Turn&, Lang, const nlohmann::json& values, const nlohmann::json& context,
                       const std::string& choice)>
        done;
    bool support_ok = false;  // the support role may fill it in too (finding a person)
  };
  std::map<std::string, AdminForm, std::less<>> admin_forms;  // complete before the first update
  void start_form(Turn& turn, Lang lang, const std::string& form, nlohmann::json context = nlohmann::json::object());
  void ask_field(Turn& turn, Lang lang, const AdminForm& form, std::size_t step);
  // Changes one setting, saves it and applies it at once.
  Result<void> change_setting(std::string_view key, const std::function<void(ShopSettings&)>& change);
  void register_admin_panels(telegram::Router& r);    // admin_catalog.cpp: panels and plans
  void register_admin_shop(telegram::Router& r);      // admin_catalog_shop.cpp: discounts, payment methods
  void register_admin_settings(telegram::Router& r);  // admin_catalog_settings.cpp: settings, texts

  // ---- admin_people (admin_people*.cpp): users, broadcasts, backups ----
  void register_admin_users(telegram::Router& r);      // admin_people_users.cpp
  void register_admin_broadcast(telegram::Router& r);  // admin_people_broadcast.cpp
  void show_user(Turn& turn, Lang lang, std::int64_t user_id, bool edit);
  // Runs a queued broadcast on a thread of its own (Broadcaster::run blocks for minutes).
  void run_broadcast(std::int64_t id);
  // Runs the broadcasts a restart left queued or running.
  void resume_broadcasts();
  // The tenant's data as a JSON document to one chat (blocking). kUnavailable without storage.
  Result<void> send_backup(std::int64_t chat_id, Lang lang);
  // Once per Tehran day, the backup to the owner (maintenance.cpp). Success: whether it was sent.
  Result<bool> daily_backup();

  ShopDeps deps;
  payments::FulfilmentHook* hook = nullptr;  // the ShopBot itself
  ShopStore store;
  panels::PanelRepository panel_repo;
  std::shared_ptr<telegram::Router> router;
  i18n::Catalog texts;

 private:
  mutable std::shared_mutex settings_mutex_;
  ShopSettings settings_;
  std::mutex panels_mutex_;
  std::map<std::int64_t, std::shared_ptr<panels::Panel>> panels_;
  std::mutex spam_mutex_;
  struct Flood {
    std::deque<std::int64_t> times;  // unix ms of the person's recent updates
    std::int64_t muted_until = 0;
    bool told = false;
  };
  std::map<std::int64_t, Flood> flood_;
  std::unique_ptr<Broadcaster> broadcaster_;
  std::mutex broadcast_mutex_;
  std::vector<std::thread> broadcast_threads_;
  bool closing_ = false;
  Result<void> fulfil_now(std::int64_t order_id, int attempt);
  std::mutex fulfilling_mutex_;
  std::set<std::int64_t> fulfilling_;  // orders with an attempt running (the start-up resume,
                                       // the outbox and the periodic pass may meet on one)
  std::atomic<bool> dispatching_{false};
  std::atomic<bool> again_{false};
  std::atomic<std::int64_t> limit_told_at_{0};
  friend class ShopBot;
};


}  // namespace ms::shop
