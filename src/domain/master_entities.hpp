// Entities of the master DB (the platform's own records). Plain structs that storage maps to
// tables: ids are int64, money is ms::Money, times are unix seconds, optional columns are
// std::optional. Secrets are only ever held encrypted (fields named *_encrypted or *_hash).
// Packages live in package.hpp and payments in payment.hpp.
// Thread-safety: plain values; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "domain/bot_state.hpp"
#include "domain/enum_names.hpp"
#include "domain/package.hpp"
#include "domain/payment.hpp"
#include "domain/subscription_state.hpp"

namespace ms::domain {

enum class TicketStatus { kOpen, kAnswered, kClosed };                  // names: open, answered, closed
enum class TicketAuthor { kRequester, kStaff };                         // names: requester, staff
enum class ActorType { kOperator, kCustomer, kSystem, kApiKey };        // operator, customer, system, api_key
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kDead };  // failed = will retry; dead = gave up

std::string_view to_string(TicketStatus v);
template <>
std::optional<TicketStatus> parse<TicketStatus>(std::string_view text);
template <>
std::span<const TicketStatus> all_values<TicketStatus>();
std::string_view to_string(TicketAuthor v);
template <>
std::optional<TicketAuthor> parse<TicketAuthor>(std::string_view text);
template <>
std::span<const TicketAuthor> all_values<TicketAuthor>();
std::string_view to_string(ActorType v);
template <>
std::optional<ActorType> parse<ActorType>(std::string_view text);
template <>
std::span<const ActorType> all_values<ActorType>();
std::string_view to_string(JobState v);
template <>
std::optional<JobState> parse<JobState>(std::string_view text);
template <>
std::span<const JobState> all_values<JobState>();

// A VPN business owner who buys packages.
struct Customer {
  std::int64_t id = 0;
  std::optional<std::int64_t> telegram_id;  // set when they came through the master bot
  std::optional<std::string> email;         // set when they registered on the web panel
  std::string display_name;
  std::string language = "fa";  // "fa" or "en"
  bool banned = false;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// A customer's package over time; the machine and period rules are in subscription_state.hpp.
struct Subscription {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::string package_code;
  BillingCycle cycle = BillingCycle::kMonthly;
  SubscriptionState state = SubscriptionState::kActive;
  std::int64_t period_start = 0;
  std::int64_t period_end = 0;  // the paid (or trial) time runs out here
  std::optional<std::int64_t> cancelled_at;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// A deployable kind of bot and its version (the shop bot today).
struct BotTemplate {
  std::string code;     // "vpn_shop"
  std::string version;  // "1.4.0"
  std::string name;
  std::string description;
  bool active = true;
  std::int64_t created_at = 0;
};

// One deployed shop bot of a customer; its machine is in bot_state.hpp.
struct BotInstance {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::string template_code;
  std::string template_version;
  BotState state = BotState::kCreated;
  std::optional<std::int64_t> telegram_bot_id;  // the digits before ':' in the token, known after getMe
  std::string bot_username;
  std::string token_encrypted;  // never the clear token
  std::int64_t admin_telegram_id = 0;
  std::optional<std::string> channel;  // "@channel" users must join, if the owner wants one
  std::string deploy_backend = "inprocess";
  std::optional<std::string> last_error;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// A support ticket. The same shape serves customer <-> operator (master) and
// end user <-> owner (tenant): the requester opens it, staff answers.
struct Ticket {
  std::int64_t id = 0;
  std::int64_t requester_id = 0;  // customer id (master) or end user id (tenant)
  std::string subject;
  TicketStatus status = TicketStatus::kOpen;
  std::optional<int> rating;  // 1..5 after closing; feeds the satisfaction score
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> closed_at;
};

struct TicketMessage {
  std::int64_t id = 0;
  std::int64_t ticket_id = 0;
  TicketAuthor author = TicketAuthor::kRequester;
  std::int64_t author_id = 0;
  std::string text;
  std::optional<std::string> attachment_file_id;
  std::int64_t created_at = 0;
};

// One admin action, kept forever.
struct AuditEntry {
  std::int64_t id = 0;
  ActorType actor_type = ActorType::kSystem;
  std::optional<std::int64_t> actor_id;
  std::string action;       // "payment.approve", "package.update", ...
  std::string target_type;  // "payment", "package", ...
  std::optional<std::string> target_id;
  std::string details_json = "{}";  // never holds a secret
  std::optional<std::string> ip;
  std::int64_t created_at = 0;
};

// A durable unit of background work (expiry notice, deploy step, broadcast batch).
struct Job {
  std::int64_t id = 0;
  std::string kind;
  std::string payload_json = "{}";
  JobState state = JobState::kQueued;
  int attempts = 0;
  int max_attempts = 5;
  std::int64_t run_at = 0;  // not before this time
  std::optional<std::string> locked_by;
  std::optional<std::int64_t> locked_until;
  std::optional<std::string> last_error;
  std::optional<std::string> idempotency_key;  // unique: enqueuing twice yields one job
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// An Enterprise API key. Only a hash of the secret is kept; `prefix` is shown to identify it.
struct ApiKey {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::string name;
  std::string prefix;
  std::string secret_hash;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_used_at;
  std::optional<std::int64_t> revoked_at;
};

// A time-limited claim (e.g. a replica serving a bot instance). The fencing token grows on
// every new holder so a late write from an old holder can be refused.
struct Lease {
  std::string name;    // "bot_instance:42"
  std::string holder;  // replica id
  std::int64_t expires_at = 0;
  std::int64_t fencing_token = 0;
};

// True when `holder` holds `lease` at `now` (expiry is exclusive).
bool lease_held_by(const Lease& lease, std::string_view holder, std::int64_t now);
// True when nobody holds `lease` at `now`, so anyone may claim it.
bool lease_expired(const Lease& lease, std::int64_t now);
// True when the key has not been revoked.
bool api_key_active(const ApiKey& key);

}  // namespace ms::domain
