// ShopStore: the shop bot's reads and writes of the tenant database (people, plans,
// locations, orders, services, referrals), SQL kept here. Internal to src/bots/shop/.
// Every query that runs per update is by key or by an indexed (user, ...) range, so a bot
// with 100,000 people answers as fast as one with 1,000.
// Threads: stateless over a thread-safe Database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/i18n/lang.hpp"
#include "core/money.hpp"
#include "core/result.hpp"
#include "storage/storage.hpp"

namespace ms::shop {

struct Person {
  std::int64_t id = 0;  // users.id
  std::int64_t telegram_id = 0;
  std::string username;
  std::string first_name;
  i18n::Lang lang = i18n::Lang::kFa;
  Money balance;
  std::optional<std::int64_t> referrer_id;
  bool banned = false;
  bool blocked_bot = false;
  std::optional<std::string> campaign;
  std::optional<std::int64_t> trial_used_at;
  std::int64_t created_at = 0;
};

// Who wrote to the bot, as Telegram tells it.
struct Visitor {
  std::int64_t telegram_id = 0;
  std::string username;
  std::string first_name;
  std::string language_code;
};

struct Plan {
  std::int64_t id = 0;
  std::string name;
  std::string description;
  std::optional<std::int64_t> panel_id;
  std::int64_t duration_days = 0;
  std::optional<std::int64_t> traffic_bytes;  // none: unlimited
  Money price;
  std::string inbounds_json = "{}";  // protocol -> inbound tags; {} = every inbound of the panel
  std::string kind = "service";      // service | traffic
  bool active = true;
};

struct Location {
  std::int64_t panel_id = 0;
  std::string name;
};

struct ServiceRow {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::optional<std::int64_t> plan_id;
  std::int64_t panel_id = 0;
  std::optional<std::int64_t> order_id;
  std::string panel_username;
  std::string status;
  std::string subscription_url;
  std::optional<std::int64_t> traffic_limit_bytes;
  std::int64_t traffic_used_bytes = 0;
  std::optional<std::int64_t> expires_at;
  bool auto_renew = false;
  std::int64_t created_at = 0;
};

struct OrderRow {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::optional<std::int64_t> plan_id;
  std::optional<std::int64_t> service_id;
  std::string kind;    // new | renew | topup | traffic
  std::string status;  // pending | awaiting_payment | paid | provisioning | completed | failed | cancelled | refunded
  Money amount;
  std::optional<std::int64_t> discount_code_id;
  std::int64_t discount_minor = 0;
  std::optional<std::string> note;
};

struct ReferralSummary {
  std::int64_t people = 0;
  std::int64_t earned_minor = 0;
};

class ShopStore {
 public:
  explicit ShopStore(storage::Database& db) : db_(db) {}

  // Finds or creates the person; a new person gets `referrer_telegram_id` (when that person
  // exists and is someone else) and `campaign`. Success: the person and whether they are new.
  Result<std::pair<Person, bool>> enter(const Visitor& visitor, std::optional<std::int64_t> referrer_telegram_id,
                                        std::optional<std::string> campaign, Currency wallet_currency,
                                        std::int64_t now);
  Result<std::optional<Person>> person_by_telegram(std::int64_t telegram_id);
  Result<std::optional<Person>> person(std::int64_t id);
  Result<std::optional<Person>> person_by_username(std::string_view username);
  Result<void> set_language(std::int64_t user_id, i18n::Lang lang, std::int64_t now);
  Result<void> set_banned(std::int64_t user_id, bool banned, std::int64_t now);
  Result<void> set_blocked_by_telegram(std::int64_t telegram_id, bool blocked, std::int64_t now);
  // Takes the person's one free trial. kConflict when it was taken before.
  Result<void> take_trial(std::int64_t user_id, std::int64_t now);

  // Panels that are enabled and healthy and have an active service plan.
  Result<std::vector<Location>> locations();
  Result<std::vector<Plan>> plans(std::optional<std::int64_t> panel_id, std::string_view kind = "service");
  Result<std::optional<Plan>> plan(std::int64_t id);

  // A new order (status pending). kind new needs a plan; renew/traffic also a service.
  Result<std::int64_t> create_order(const OrderRow& order, std::int64_t now);
  Result<std::optional<OrderRow>> order(std::int64_t id);
  // Moves an order from `from` to `to` if it is still in `from`. Success: whether it moved.
  Result<bool> move_order(std::int64_t id, std::string_view from, std::string_view to, std::int64_t now);
  // Orders paid (or left provisioning by a crash) but not delivered, oldest first.
  Result<std::vector<std::int64_t>> undelivered_orders(int limit);

  Result<std::vector<ServiceRow>> services_of(std::int64_t user_id);
  Result<std::optional<ServiceRow>> service(std::int64_t id);
  Result<std::optional<ServiceRow>> service_of_order(std::int64_t order_id);
  // After a renewal or a new link: what the panel now says.
  Result<void> update_service(std::int64_t id, std::optional<std::int64_t> limit_bytes, std::int64_t used_bytes,
                              std::optional<std::int64_t> expires_at, const std::string& status,
                              const std::string& subscription_url, std::int64_t now);
  Result<void> set_auto_renew(std::int64_t service_id, bool on, std::int64_t now);

  Result<ReferralSummary> referral_summary(std::int64_t user_id);

  storage::Database& db() { return db_; }

 private:
  storage::Database& db_;
};

Person person_from_row(const storage::Row& r);

}  // namespace ms::shop
