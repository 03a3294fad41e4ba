// Entities of a tenant DB (one per customer, shared by that customer's shop bots). Plain
// structs that storage maps to tables: ids are int64, money is ms::Money (IRR unless the
// owner prices otherwise), times are unix seconds, optional columns are std::optional.
// Tickets reuse Ticket/TicketMessage from master_entities.hpp; payments use payment.hpp.
// Thread-safety: plain values; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.hpp"
#include "domain/enum_names.hpp"
#include "domain/order_state.hpp"
#include "domain/payment.hpp"

namespace ms::domain {

enum class PanelType { kMarzban, kMarzneshin, kPasarGuard };  // marzban, marzneshin, pasarguard
// Mirrors the panel's user status, plus `reserved` (username taken by us before the panel
// call, so a retry adopts instead of duplicating) and `deleted`.
enum class ServiceStatus { kReserved, kActive, kOnHold, kLimited, kExpired, kDisabled, kDeleted };
enum class OrderKind { kNewService, kRenewal, kAddTraffic };  // new_service, renewal, add_traffic
enum class LedgerReason {
  kTopUp,               // a wallet top-up payment was confirmed
  kPurchase,            // an order was paid from the wallet (negative delta)
  kProvisioningRefund,  // DESIGN: a failed provisioning after payment credits the wallet
  kUnmatchedPayment,    // money arrived for an order that had expired or was cancelled
  kReferralReward,
  kAdminAdjustment,
  kTopUpRefund,          // a refunded wallet top-up takes back what it credited (negative delta)
  kTopUpRefundReversed,  // the gateway refused that refund: what was taken back is credited again
};
enum class DiscountKind { kPercent, kFixed };  // percent, fixed
enum class BroadcastState { kDraft, kQueued, kSending, kPaused, kDone, kCancelled };

std::string_view to_string(PanelType v);
template <>
std::optional<PanelType> parse<PanelType>(std::string_view text);
template <>
std::span<const PanelType> all_values<PanelType>();
std::string_view to_string(ServiceStatus v);
template <>
std::optional<ServiceStatus> parse<ServiceStatus>(std::string_view text);
template <>
std::span<const ServiceStatus> all_values<ServiceStatus>();
std::string_view to_string(OrderKind v);
template <>
std::optional<OrderKind> parse<OrderKind>(std::string_view text);
template <>
std::span<const OrderKind> all_values<OrderKind>();
std::string_view to_string(LedgerReason v);
template <>
std::optional<LedgerReason> parse<LedgerReason>(std::string_view text);
template <>
std::span<const LedgerReason> all_values<LedgerReason>();
std::string_view to_string(DiscountKind v);
template <>
std::optional<DiscountKind> parse<DiscountKind>(std::string_view text);
template <>
std::span<const DiscountKind> all_values<DiscountKind>();
std::string_view to_string(BroadcastState v);
template <>
std::optional<BroadcastState> parse<BroadcastState>(std::string_view text);
template <>
std::span<const BroadcastState> all_values<BroadcastState>();

// A buyer talking to a shop bot.
struct EndUser {
  std::int64_t id = 0;
  std::int64_t telegram_id = 0;
  std::optional<std::string> username;
  std::string first_name;
  std::string language = "fa";  // "fa" or "en"
  Money wallet_balance{0, Currency::kIrr};
  std::optional<std::int64_t> referrer_id;  // the end user who invited them
  bool banned = false;
  bool blocked_bot = false;  // Telegram said 403: they blocked the bot; skipped by broadcasts
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// Something the owner sells: traffic for a number of days on one panel.
struct Plan {
  std::int64_t id = 0;
  std::string name;
  std::int64_t traffic_bytes = 0;  // 0 = unlimited traffic
  int days = 0;                    // 0 = no expiry
  Money price{0, Currency::kIrr};
  std::int64_t panel_id = 0;
  std::optional<std::string> location;  // shown to buyers, e.g. "Germany"
  // protocol -> inbound tags read from the panel; empty = every inbound the panel offers.
  std::map<std::string, std::vector<std::string>> inbounds;
  bool active = true;
  int sort_order = 0;
};

// One of the owner's VPN panels. The password is stored only encrypted.
struct Panel {
  std::int64_t id = 0;
  std::string name;
  PanelType type = PanelType::kMarzban;
  std::string base_url;
  std::string username;
  std::string password_encrypted;
  bool active = true;   // the owner's switch
  bool healthy = true;  // last health check; no selling on an unhealthy panel
  std::optional<std::int64_t> last_checked_at;
  std::optional<std::string> last_error;
  std::int64_t created_at = 0;
};

// An end user's purchase; its machine is in order_state.hpp.
struct Order {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  OrderKind kind = OrderKind::kNewService;
  std::optional<std::int64_t> plan_id;
  std::optional<std::int64_t> service_id;  // the service renewed or topped up
  OrderState state = OrderState::kCreated;
  Money list_price{0, Currency::kIrr};  // the plan's price when ordered
  Money amount{0, Currency::kIrr};      // what the user pays after any discount
  std::optional<std::string> discount_code;
  std::optional<std::int64_t> payment_id;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> expires_at;  // unpaid orders expire here
};

// A provisioned VPN account on a panel.
struct Service {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::int64_t order_id = 0;  // the order that created it
  std::int64_t panel_id = 0;
  std::string panel_username;  // unique per panel; see panel_username() in rules.hpp
  ServiceStatus status = ServiceStatus::kReserved;
  std::optional<std::int64_t> expire_at;  // nullopt = no expiry
  std::int64_t data_limit_bytes = 0;      // 0 = unlimited
  std::int64_t used_bytes = 0;
  std::optional<std::string> subscription_url;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// One change of an end user's wallet. The wallet balance is the sum of its entries.
struct LedgerEntry {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  Money delta{0, Currency::kIrr};  // positive = credit
  Money balance_after{0, Currency::kIrr};
  LedgerReason reason = LedgerReason::kTopUp;
  std::optional<std::int64_t> order_id;
  std::optional<std::int64_t> payment_id;
  std::optional<std::string> idempotency_key;  // unique: the same credit is never applied twice
  std::optional<std::string> note;
  std::int64_t created_at = 0;
};

// A price reduction: `percent` (0..100) of the price, or a `fixed` amount off.
struct Discount {
  DiscountKind kind = DiscountKind::kPercent;
  int percent = 0;
  Money fixed{0, Currency::kIrr};
};

struct DiscountCode {
  std::int64_t id = 0;
  std::string code;
  Discount discount;
  std::optional<int> max_uses;  // nullopt = unlimited
  int used_count = 0;
  std::optional<std::int64_t> expires_at;
  std::optional<std::int64_t> plan_id;  // only for this plan when set
  bool active = true;
  std::int64_t created_at = 0;
};

struct Referral {
  std::int64_t id = 0;
  std::int64_t referrer_id = 0;
  std::int64_t referred_id = 0;  // unique: a user is referred once
  Money reward{0, Currency::kIrr};
  bool rewarded = false;
  std::optional<std::int64_t> rewarded_at;
  std::int64_t created_at = 0;
};

// A message to all of a bot's users, sent at Telegram's pace and resumable from the cursor.
struct Broadcast {
  std::int64_t id = 0;
  std::string text;
  std::optional<std::string> photo_file_id;
  BroadcastState state = BroadcastState::kDraft;
  std::int64_t total = 0;
  std::int64_t sent = 0;
  std::int64_t failed = 0;
  std::int64_t blocked = 0;
  std::int64_t cursor_user_id = 0;  // the last end user id handled
  std::int64_t created_by = 0;      // admin Telegram id
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// Where a (bot, user) conversation is, so a restart continues the flow.
struct ConversationState {
  std::int64_t bot_id = 0;
  std::int64_t telegram_user_id = 0;
  std::string flow;  // "buy", "topup", ...
  std::string step;
  std::string data_json = "{}";
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> expires_at;
};

}  // namespace ms::domain
