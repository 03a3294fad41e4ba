// OrderRepository: typed access to a tenant's `orders` table, and the example of how a
// repository over storage looks (plain structs in, Results out, SQL kept here).
// Thread-safe as far as its Database is; holds no state of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/money.hpp"
#include "storage/storage.hpp"

namespace ms::storage {

struct Order {
  std::int64_t id = 0;  // set by insert
  std::int64_t user_id = 0;
  std::optional<std::int64_t> plan_id;
  std::string kind = "new";        // new | renew | topup | traffic
  std::string status = "pending";  // see the CHECK on orders.status
  Money amount;
  std::optional<std::string> idempotency_key;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

class OrderRepository {
 public:
  explicit OrderRepository(Database& db) : db_(db) {}

  // Inserts the order (its id is ignored). Success: the new id. Failure: kAlreadyExists
  // if the idempotency key is taken; kInvalidArgument for an unknown user/plan or a
  // negative amount.
  Result<std::int64_t> insert(const Order& order);
  // The same, on a session the caller already holds (inside its own transaction).
  static Result<std::int64_t> insert(Session& s, const Order& order);
  // Success: the order or nullopt.
  Result<std::optional<Order>> get(std::int64_t id);
  static Result<std::optional<Order>> get(Session& s, std::int64_t id);
  // The user's newest orders first, at most `limit`.
  Result<std::vector<Order>> list_by_user(std::int64_t user_id, int limit);
  // Moves the order from `from` to `to` only if it is still in `from` (optimistic check).
  // Failure: kNotFound (no such order), kConflict (its status is no longer `from`).
  Result<void> update_status(std::int64_t id, const std::string& from, const std::string& to, std::int64_t now);

 private:
  Database& db_;
};

}  // namespace ms::storage
