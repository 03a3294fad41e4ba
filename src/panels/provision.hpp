// Provisioner: creates the VPN account an order paid for, exactly once, whatever fails
// between the steps. How:
//  1. The account name is derived from (tenant, order) (domain::panel_username) and
//     RESERVED durably before the panel is called: a `services` row in status 'reserved'
//     (one per order: a unique index; and one per panel name). A later attempt reuses the
//     reserved name, so no attempt can ever pick a second name for the same order.
//  2. An attempt that finds a reservation (a crash, a lost answer, a concurrent attempt)
//     reads the panel first: an account with that name that carries this order's marker in
//     its note is adopted, never created again.
//  3. Create: 409 means "adopt the existing account" after checking it is ours (the
//     marker); a timeout, a dropped connection or a 5xx is resolved by reading before any
//     retry: found -> adopt, not found -> create again, unreadable -> stop, leaving the
//     reservation for the next attempt.
//  4. The service row becomes 'active' with the subscription link, limit and expiry.
// So a crash or a lost answer at any point, or several attempts at once, leaves at most one
// account on the panel for one order.
//
// Threads: provision() may run for many orders (and the same order) on many threads at
// once; it blocks on the database and the panel (run it on a worker pool).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "panels/panel.hpp"
#include "storage/storage.hpp"

namespace ms::panels {

struct ProvisionRequest {
  std::int64_t tenant_id = 0;
  std::int64_t user_id = 0;
  std::int64_t order_id = 0;
  std::int64_t panel_id = 0;
  std::optional<std::int64_t> plan_id;
  // What to create; `username` is ignored (derived) and the order's marker is put in front
  // of `note`.
  NewAccount account;
};

struct Provisioned {
  enum class How {
    kCreated,      // this attempt created the account
    kAdopted,      // the account existed (an earlier attempt's create went through) and is ours
    kAlreadyDone,  // the order's service was already active; nothing was called
  };
  std::int64_t service_id = 0;
  std::string username;
  How how = How::kCreated;
  std::optional<Account> account;  // unset for kAlreadyDone
};

struct ProvisionOptions {
  int create_attempts = 3;  // creates tried while reads keep finding nothing
  // Tests only: runs after each durable step ("reserved", "created", "activated"); a crash
  // between steps is played by throwing from it.
  std::function<void(std::string_view step)> after_step;
};

class Provisioner {
 public:
  Provisioner(storage::Database& tenant, const Clock& clock, ProvisionOptions options = {})
      : db_(tenant), clock_(clock), options_(std::move(options)) {}

  // Success: the service and its account. Failure: kInvalidArgument for bad ids or a
  // request the panel refuses (400/422); kAlreadyExists when the name is taken by an
  // account that is not ours; kConflict when the order is already reserved on another panel; kUnavailable / kTimeout
  // when the panel cannot be reached (the reservation stays; calling again later is safe); storage errors as they come.
  Result<Provisioned> provision(Panel& panel, const ProvisionRequest& request);

  // The marker an account's note carries: "[ms:t<tenant>:o<order>]".
  static std::string marker(std::int64_t tenant_id, std::int64_t order_id);

 private:
  struct Reservation {
    std::int64_t service_id = 0;
    std::int64_t panel_id = 0;
    std::string username;
    std::string status;
    bool existed = false;
  };
  Result<Reservation> reserve(const ProvisionRequest& request, const std::string& username);
  Result<void> activate(std::int64_t service_id, const Account& account);
  void step(std::string_view name) const {
    if (options_.after_step) options_.after_step(name);
  }

  storage::Database& db_;
  const Clock& clock_;
  ProvisionOptions options_;
};

}  // namespace ms::panels
