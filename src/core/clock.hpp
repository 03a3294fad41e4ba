// Clock: the only way code reads the time, so tests can inject one.
// Thread-safe: SystemClock is stateless; ManualClock uses an atomic.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ms {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time, for timestamps stored in databases and shown to people.
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time, for durations and timeouts.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;

  // Seconds since the Unix epoch: the form timestamps take in our databases.
  std::int64_t unix_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady_now() const override { return std::chrono::steady_clock::now(); }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

// A clock that moves only when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t unix_seconds = 1'700'000'000) : micros_(unix_seconds * 1'000'000) {}
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::microseconds(micros_.load()));
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::microseconds(micros_.load()));
  }
  void advance(std::chrono::microseconds by) { micros_ += by.count(); }
  void set_unix_seconds(std::int64_t s) { micros_ = s * 1'000'000; }

 private:
  std::atomic<std::int64_t> micros_;
};

}  // namespace ms
