// Seeding a shop tenant for shop_bench: end users, orders, services and referrals written
// with multi-row INSERTs of literal values (numbers and fixed words only), not through the bot.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/storage.hpp"

namespace shop_bench {

struct SeedSpec {
  int users = 1'000;
  std::int64_t orders = 10'000;
  int service_share = 30;           // % of users with 1-3 services
  std::int64_t telegram_base = 0;   // end user i has Telegram id telegram_base + i
  std::int64_t panel_id = 0;        // the one location every service is on
  std::vector<std::int64_t> plans;  // service plans orders are spread over
  std::int64_t price_minor = 1'500'000;
  std::int64_t now = 0;
};

struct Seeded {
  std::vector<std::int64_t> newest_service;  // per user index: the newest service id, 0 = none
  std::int64_t services = 0;
  double seconds = 0;
};

std::string language_of(int user_index);

// Fills an empty tenant. A failure ends the bench (it is a program, not a library).
Seeded seed(ms::storage::Session& db, const SeedSpec& spec);

}  // namespace shop_bench
