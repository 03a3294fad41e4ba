// Result and Error: how every expected failure travels in Mothership.
//
// Expected failures (not found, conflict, invalid input, a peer that is down) are values of
// type Error inside a Result<T>. Exceptions are reserved for broken invariants and start-up
// errors. Error is cheap to copy and safe to log: it never carries a secret.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace ms {

enum class ErrorCode {
  kInvalidArgument,   // the caller sent something we will never accept
  kNotFound,          // the thing does not exist
  kAlreadyExists,     // a unique key is already taken
  kConflict,          // state does not allow it now (illegal transition, stale version)
  kPermissionDenied,  // the caller may not do this
  kUnauthenticated,   // credentials missing or wrong
  kLimitExceeded,     // a package limit or rate limit
  kUnavailable,       // a dependency is down or unreachable; retrying later may work
  kTimeout,           // a deadline passed
  kCorrupted,         // stored data cannot be read (bad file, bad checksum, bad key)
  kInternal,          // a bug or an unexpected failure below us
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // "not_found: tenant 42 does not exist"
  std::string to_string() const;
};

template <class T>
using Result = tl::expected<T, Error>;

// Result<void> success value: `return ok();`
inline Result<void> ok() { return {}; }

inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

}  // namespace ms
