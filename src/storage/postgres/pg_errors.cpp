// PostgreSQL SQLSTATE -> ms::Error. Only the first line of the server's message is kept:
// the DETAIL line of a constraint error quotes the offending values.
#include <string>

#include "storage/pool.hpp"

namespace ms::storage::detail {

Error map_pg_error(std::string_view sqlstate, std::string_view message, bool connection_lost) {
  std::string msg(message.substr(0, message.find('\n')));
  if (msg.rfind("ERROR:", 0) == 0) msg = msg.substr(msg.find_first_not_of(' ', 6));
  const std::string state(sqlstate);
  auto with_state = [&](std::string m) { return m + " (SQLSTATE " + state + ")"; };

  if (connection_lost || state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03") {
    return Error{ErrorCode::kUnavailable, "database connection lost: " + msg};
  }
  if (state == "23505" || state == "42P06" || state == "42P07") return Error{ErrorCode::kAlreadyExists, msg};
  if (state == "23503" || state == "23514" || state == "23502" || state == "23P01") {
    return Error{ErrorCode::kInvalidArgument, msg};
  }
  if (state == "40001" || state == "40P01" || state == "55P03") {
    return Error{ErrorCode::kConflict, with_state("transaction conflict: " + msg)};
  }
  if (state.rfind("22", 0) == 0) {
    // Data exceptions quote the rejected input, which may be a secret.
    return Error{ErrorCode::kInvalidArgument, with_state("invalid value for a column or parameter")};
  }
  if (state == "XX001" || state == "XX002") return Error{ErrorCode::kCorrupted, with_state(msg)};
  if (state == "3F000") return Error{ErrorCode::kNotFound, msg};
  return Error{ErrorCode::kInternal, state.empty() ? msg : with_state(msg)};
}

}  // namespace ms::storage::detail
