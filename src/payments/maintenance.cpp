#include "payments/maintenance.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace ms::payments {

PaymentMaintenance::PaymentMaintenance(PaymentService& service, FulfilmentHook& hook, TimerQueue& timers,
                                       WorkerPool& pool, MaintenanceOptions options)
    : service_(service), hook_(hook), timers_(timers), pool_(pool), options_(options) {}

PaymentMaintenance::~PaymentMaintenance() { stop(); }

void PaymentMaintenance::start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  schedule_locked(std::chrono::milliseconds(0));
}

void PaymentMaintenance::poke() {
  std::lock_guard lock(mu_);
  if (!started_ || stopping_) return;
  if (in_flight_) {
    poked_ = true;  // the running pass schedules the next one at once
    return;
  }
  if (timer_ && timers_.cancel(*timer_)) timer_.reset();
  if (!timer_) schedule_locked(std::chrono::milliseconds(0));
}

void PaymentMaintenance::stop() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  if (timer_ && timers_.cancel(*timer_)) timer_.reset();
  // A timer that already fired is either posting (it holds mu_) or done: wait for the pass.
  idle_.wait(lock, [this] { return !in_flight_ && !timer_; });
}

MaintenanceStats PaymentMaintenance::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void PaymentMaintenance::schedule_locked(std::chrono::milliseconds delay) {
  timer_ = timers_.schedule(delay, [this] { due(); });
}

void PaymentMaintenance::due() {
  std::lock_guard lock(mu_);
  timer_.reset();
  if (stopping_ || in_flight_) {
    idle_.notify_all();
    return;
  }
  in_flight_ = true;
  if (auto posted = pool_.post([this] { pass(); }); !posted) {
    // The pool is full or stopping: try again at the next interval.
    in_flight_ = false;
    spdlog::warn("payment maintenance: cannot queue a pass: {}", posted.error().message);
    if (!stopping_) schedule_locked(options_.interval);
    idle_.notify_all();
  }
}

void PaymentMaintenance::pass() {
  bool recover = false;
  {
    std::lock_guard lock(mu_);
    recover = !recovered_ && !stopping_;
  }
  std::string error;
  std::optional<RecoveryReport> report;
  int expired = 0;
  int dispatched = 0;
  auto note = [&error](std::string_view step, const Error& e) {
    spdlog::warn("payment maintenance: {} failed: {}", step, e.to_string());
    error = std::string(step) + ": " + e.to_string();
  };
  try {
    if (recover) {
      if (auto r = service_.recover(); r) {
        for (const auto& e : r->errors) spdlog::warn("payment maintenance: recovery: {}", e);
        report = std::move(*r);
      } else {
        note("recover", r.error());
      }
    }
    if (auto e = service_.expire_due(); e)
      expired = *e;
    else
      note("expire_due", e.error());
    if (auto d = service_.dispatch_outbox(hook_, options_.outbox_batch); d)
      dispatched = *d;
    else
      note("dispatch_outbox", d.error());
  } catch (const std::exception& e) {
    spdlog::error("payment maintenance: a pass threw: {}", e.what());
    error = std::string("a pass threw: ") + e.what();
  }
  std::lock_guard lock(mu_);
  ++stats_.passes;
  stats_.expired += expired;
  stats_.dispatched += dispatched;
  if (report) {
    recovered_ = true;
    ++stats_.recoveries;
    stats_.recovery = std::move(*report);
  }
  if (!error.empty()) {
    ++stats_.failures;
    stats_.last_error = error;
  }
  in_flight_ = false;
  if (!stopping_) schedule_locked(poked_ ? std::chrono::milliseconds(0) : options_.interval);
  poked_ = false;
  idle_.notify_all();
}

}  // namespace ms::payments
