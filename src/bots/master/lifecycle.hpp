// SubscriptionLifecycle: a customer's package over time (a MasterFeature with tick(now)),
// following domain/subscription_state.hpp with the master clock; nothing sleeps.
//
// tick(now), for every subscription not erased:
//   reminders 7, 3 and 1 days before period_end (trial and active; each once per period,
//   only the nearest when ticks were missed);
//   period_end passed -> grace (the bots keep running; the customer is told);
//   grace over -> suspended: every bot of the customer is Deployments::suspend()ed (they
//   tell end users the service is paused; one still being set up has its deployment ended
//   and waits suspended) and the customer is told how to renew;
//   warnings 7 days and 1 day before erasure;
//   retention over -> erased: the bots are Deployments::remove()d, the tenant's data erased
//   (Storage::erase_tenant) and the customer told.
// Each notice is recorded in subscription_notices, unique per (subscription, kind,
// period_end), before it is sent, so it goes once even across restarts; a send that failed
// for a reason worth retrying (not a customer who blocked the bot) is retried next tick.
//
// Renewal: renew() records one paid cycle (domain::renew: never loses paid days) and then
// on_renewed() resumes the customer's suspended bots. The master bot's fulfilment calls
// renew(); code that records the renewal itself calls on_renewed(subscription_id) after.
// Both are idempotent, so an outbox may call them again.
// Upgrade/downgrade: excess() says what the customer has beyond a package's limits (bots,
// panels, end users with a service); change_package() refuses a package that does not fit.
//
// Threads: tick(), renew(), on_renewed() and change_package() serialize on one mutex, so a
// renewal never races a suspension in this process.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/i18n/catalog.hpp"
#include "core/i18n/lang.hpp"
#include "domain/master_entities.hpp"
#include "domain/package.hpp"
#include "domain/subscription_state.hpp"
#include "bots/master/feature.hpp"

namespace ms::master {

// The notices of the lifecycle (subscription_notices.kind).
enum class NoticeKind { kEnd7d, kEnd3d, kEnd1d, kGrace, kSuspended, kErase7d, kErase1d, kErased };
std::string_view to_string(NoticeKind kind);  // end_7d, end_3d, end_1d, grace, suspended, erase_7d, erase_1d, erased

// One limit a package change would break: the customer has `current`, the package allows `limit`.
struct Excess {
  domain::LimitKind kind = domain::LimitKind::kShopBots;
  int limit = 0;
  std::int64_t current = 0;
};
// "The Starter package allows 1 shop bot; you have 3 (2 too many)." per excess, one a line,
// after a line naming the package; in the customer's language.
std::string describe_excess(const domain::Package& package, const std::vector<Excess>& excess, i18n::Lang lang);

class SubscriptionLifecycle : public MasterFeature {
 public:
  // `ctx` (db, clock, deployments, send) and `storage` (the tenants' data) must outlive it.
  SubscriptionLifecycle(MasterContext& ctx, storage::Storage& storage) : ctx_(ctx), storage_(storage) {}

  void install(telegram::Router&) override {}
  std::vector<MenuEntry> menu(std::int64_t) const override { return {}; }
  // Success: how many transitions and notices it made. A subscription that failed (a bot
  // that would not suspend, a database error) is logged and tried again next tick.
  Result<int> tick(std::int64_t now) override;

  // The customer's newest subscription (erased ones included); nullopt when none.
  Result<std::optional<domain::Subscription>> current(std::int64_t customer_id);
  // A paid cycle of `package_code` for the customer: renews their subscription (a different
  // package must fit: kLimitExceeded naming the excess) or starts one when they have none or
  // it was erased; then on_renewed(). Success: the subscription id.
  // Failure: kNotFound (package), kLimitExceeded, kConflict, storage and Deployments errors.
  Result<std::int64_t> renew(std::int64_t customer_id, std::string_view package_code, domain::BillingCycle cycle);
  // The renewal of `subscription_id` is recorded: resumes every suspended bot of its
  // customer. kConflict when the subscription is not active (nothing to put back);
  // kNotFound for an unknown id; a bot that would not resume: that error (retry).
  Result<void> on_renewed(std::int64_t subscription_id);

  // What the customer has beyond `package`'s limits; empty when it fits.
  Result<std::vector<Excess>> excess(std::int64_t customer_id, const domain::Package& package);
  // Moves the customer's current subscription to another package (upgrade or downgrade).
  // kLimitExceeded (message: describe_excess in English) when it does not fit; kNotFound
  // when the package or the subscription does not exist.
  Result<void> change_package(std::int64_t customer_id, std::string_view package_code);

 private:
  struct Row;
  Result<int> process(Row& row, std::int64_t now);
  Result<bool> move(Row& row, domain::SubscriptionState to, std::int64_t now);
  Result<void> suspend_bots(std::int64_t customer_id);
  Result<void> erase_customer(const Row& row);
  Result<bool> notify(const Row& row, NoticeKind kind, std::int64_t now, const std::string& text_key,
                      const i18n::Args& args, const std::vector<NoticeKind>& also = {});
  Result<void> resume_bots(std::int64_t customer_id);
  Result<std::vector<Excess>> excess_locked(std::int64_t customer_id, const domain::Package& package);

  MasterContext& ctx_;
  storage::Storage& storage_;
  std::mutex mutex_;
};

}  // namespace ms::master
