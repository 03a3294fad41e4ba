// MasterStore: the master bot's own SQL over the master database: customers (by Telegram
// id, their language and wallet), the packages on sale with their ids, package orders, the
// customer's tenant, and the deployment progress messages (master_bot_progress) that must
// survive a restart. Internal to src/bots/master/.
//
// Threads: thread-safe as far as the Database is; calls block.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/i18n/lang.hpp"
#include "core/money.hpp"
#include "core/result.hpp"
#include "domain/package.hpp"
#include "storage/storage.hpp"

namespace ms::master {

struct CustomerRow {
  std::int64_t id = 0;
  std::int64_t telegram_id = 0;
  std::string name;
  i18n::Lang lang = i18n::Lang::kFa;
  Money balance;
  std::optional<std::int64_t> tenant_id;
  std::string status;  // active | suspended | deleted
};

struct PackageRow {
  std::int64_t id = 0;
  domain::Package package;
};

struct PackageOrderRow {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::int64_t package_id = 0;
  std::string cycle;  // monthly | yearly
  std::string kind;   // new | renew | upgrade
  std::string status;
  Money amount;
};

// One deployment's progress message in a customer's chat.
struct ProgressRow {
  std::int64_t instance_id = 0;
  std::int64_t chat_id = 0;
  std::int64_t message_id = 0;
  i18n::Lang lang = i18n::Lang::kFa;
  nlohmann::json steps = nlohmann::json::object();  // step name -> {status, attempt, error}
  std::optional<std::string> panel_enc;             // the first panel (SecretBox of JSON) until stored
  std::string bot_username;
  bool finished = false;
};

class MasterStore {
 public:
  explicit MasterStore(storage::Database& db) : db_(db) {}
  storage::Database& db() { return db_; }

  // The customer with this Telegram id, entered if new. Success: (row, true when new).
  Result<std::pair<CustomerRow, bool>> enter(std::int64_t telegram_id, const std::string& name, i18n::Lang lang,
                                             std::int64_t now);
  Result<std::optional<CustomerRow>> customer_by_telegram(std::int64_t telegram_id);
  Result<std::optional<CustomerRow>> customer(std::int64_t id);
  Result<void> set_language(std::int64_t customer_id, i18n::Lang lang, std::int64_t now);

  // Active packages, in the operator's order.
  Result<std::vector<PackageRow>> packages_on_sale();
  Result<std::optional<PackageRow>> package(std::int64_t id);

  // A pending order of `package` for `cycle` at its price. Success: the order id.
  Result<std::int64_t> create_order(std::int64_t customer_id, const PackageRow& package, domain::BillingCycle cycle,
                                    const std::string& kind, std::int64_t now);
  Result<std::optional<PackageOrderRow>> order(std::int64_t id);

  // Progress messages.
  Result<void> save_progress(const ProgressRow& row, std::int64_t now);
  Result<std::optional<ProgressRow>> progress(std::int64_t instance_id);
  Result<std::vector<ProgressRow>> unfinished_progress();

 private:
  storage::Database& db_;
};

}  // namespace ms::master
