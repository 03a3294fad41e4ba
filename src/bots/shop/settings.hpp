// ShopSettings: what an owner sets for their shop bot, kept in the tenant's `settings`
// table (one JSON value per key) so every replica of the bot reads the same.
//
// Keys: channels, trial, referral_percent, delivery, admins, antispam, currency.
// A value that cannot be read is a clear kCorrupted naming the key, never a silent default.
// Threads: plain values; load/save are thread-safe as far as the Database is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/money.hpp"
#include "core/result.hpp"
#include "storage/storage.hpp"

namespace ms::shop {

// A channel people must join before they use the bot.
struct Channel {
  std::int64_t chat_id = 0;
  std::string title;
  std::string url;  // t.me link shown on the "join" button
};

struct TrialSettings {
  bool enabled = false;
  std::int64_t traffic_bytes = 1LL << 30;  // 1 GiB
  std::int64_t days = 1;
  std::optional<std::int64_t> panel_id;  // none: the first sellable panel
};

enum class AdminRole { kOwner, kAdmin, kSupport };
std::string_view to_string(AdminRole role);
std::optional<AdminRole> parse_admin_role(std::string_view text);

struct Admin {
  std::int64_t telegram_id = 0;
  AdminRole role = AdminRole::kAdmin;
};

// What is sent after a purchase: the subscription link (and its QR), or also each config link.
enum class Delivery { kLink, kLinkAndConfigs };

struct AntiSpam {
  int max_updates = 12;  // per window
  int window_seconds = 10;
  int mute_seconds = 60;
};

struct ShopSettings {
  std::vector<Channel> channels;
  TrialSettings trial;
  int referral_percent = 0;  // of each referee's purchase, credited to the referrer's wallet
  Delivery delivery = Delivery::kLink;
  std::vector<Admin> admins;
  AntiSpam antispam;
  Currency currency = Currency::kIrr;  // the wallet's and the default plan currency

  std::optional<AdminRole> role_of(std::int64_t telegram_id) const;
};

// Reads every key (a missing key keeps its default). kCorrupted names a key that is not
// what it should be.
Result<ShopSettings> load_settings(storage::Database& db);
// Writes one key of `settings` (as load_settings reads it). kInvalidArgument for an unknown key.
Result<void> save_setting(storage::Database& db, const ShopSettings& settings, std::string_view key, std::int64_t now);
// Writes every key.
Result<void> save_settings(storage::Database& db, const ShopSettings& settings, std::int64_t now);

}  // namespace ms::shop
