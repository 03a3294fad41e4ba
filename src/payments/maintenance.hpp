// PaymentMaintenance: what keeps a PaymentService honest over time, run in the background:
// recover() once at start (payments and refunds a crash left half done), then every
// `interval` expire_due() (unpaid payments and orders past their deadline) and
// dispatch_outbox() (fulfilment and notices, at least once, to the FulfilmentHook).
//
// Passes run on the WorkerPool (they block on the database and gateways), scheduled by the
// TimerQueue (whose thread never blocks); the next pass is scheduled when one ends, so two
// passes never overlap, however slow one is. A pass that fails (database down) is logged
// and the next one tries again; recover() is repeated until it has succeeded once.
//
// Thread-safe. The service, hook, timers and pool must outlive this object; stop() (or the
// destructor) returns only when no pass is running or queued.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "core/timer_queue.hpp"
#include "core/worker_pool.hpp"
#include "payments/service.hpp"

namespace ms::payments {

struct MaintenanceOptions {
  std::chrono::milliseconds interval{std::chrono::seconds(30)};
  int outbox_batch = 100;  // outbox items delivered per pass at most
};

struct MaintenanceStats {
  std::int64_t passes = 0;      // passes finished
  std::int64_t recoveries = 0;  // recover() calls that succeeded (one, once started)
  std::int64_t expired = 0;     // payments expired, all passes together
  std::int64_t dispatched = 0;  // outbox items completed, all passes together
  std::int64_t failures = 0;    // passes in which a step failed
  std::string last_error;       // the latest failure, "" if none yet
  RecoveryReport recovery;      // what recover() found
};

class PaymentMaintenance {
 public:
  PaymentMaintenance(PaymentService& service, FulfilmentHook& hook, TimerQueue& timers, WorkerPool& pool,
                     MaintenanceOptions options = {});
  ~PaymentMaintenance();
  PaymentMaintenance(const PaymentMaintenance&) = delete;
  PaymentMaintenance& operator=(const PaymentMaintenance&) = delete;

  // Starts the passes: the first (with recover()) at once. Once only; a stopped
  // maintenance does not start again.
  void start();
  // Asks for a pass now (e.g. after an approval, so fulfilment need not wait for the
  // interval); coalesced with a pass already due or running.
  void poke();
  // No new passes; waits for the running or queued one. Idempotent.
  void stop();
  MaintenanceStats stats() const;

 private:
  void schedule_locked(std::chrono::milliseconds delay);
  void due();   // on the timer thread
  void pass();  // on a worker

  PaymentService& service_;
  FulfilmentHook& hook_;
  TimerQueue& timers_;
  WorkerPool& pool_;
  const MaintenanceOptions options_;

  mutable std::mutex mu_;
  std::condition_variable idle_;
  bool started_ = false;
  bool stopping_ = false;
  bool in_flight_ = false;  // a pass is queued on the pool or running
  bool poked_ = false;      // a poke arrived during a pass: the next one runs at once
  bool recovered_ = false;
  std::optional<TimerQueue::Id> timer_;
  MaintenanceStats stats_;
};

}  // namespace ms::payments
