// Conversation state per (bot, person): which step of a flow a person is in ("waiting for
// the receipt photo", "typing a discount code") and what the flow gathered so far. Kept in
// the database, so a restart continues a flow where it was; every flow has a deadline and
// times out cleanly.
//
// Backends: in memory (tests, the sandbox) and a storage::Database (the master database
// for the master bot, each tenant's database for its shop bot; table conversation_state).
//
// Threads: both backends are thread-safe. The router loads and saves a person's state from
// that person's chat lane, so one person's turns never race each other.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "storage/storage.hpp"

namespace ms::telegram {

struct Conversation {
  std::string state;                               // empty: no flow
  nlohmann::json data = nlohmann::json::object();  // what the flow gathered
  std::optional<std::int64_t> expires_at;          // unix seconds; none: no deadline
  bool operator==(const Conversation&) const = default;
};

class ConversationStore {
 public:
  virtual ~ConversationStore() = default;
  virtual Result<std::optional<Conversation>> load(std::int64_t bot, std::int64_t user) = 0;
  // Replaces the person's state (insert or update).
  virtual Result<void> save(std::int64_t bot, std::int64_t user, const Conversation& conversation) = 0;
  virtual Result<void> erase(std::int64_t bot, std::int64_t user) = 0;
  // Removes and returns up to `limit` flows of `bot` whose deadline is at or before `now`.
  virtual Result<std::vector<std::pair<std::int64_t, Conversation>>> take_expired(std::int64_t bot, std::int64_t now,
                                                                                  std::size_t limit) = 0;
};

std::shared_ptr<ConversationStore> make_memory_conversation_store();
// `db` must outlive the store (hold the tenant's shared_ptr alongside it).
std::shared_ptr<ConversationStore> make_database_conversation_store(storage::Database& db);

}  // namespace ms::telegram
