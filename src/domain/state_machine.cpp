#include "domain/state_machine.hpp"

#include <string>

namespace ms::domain::detail {

Error illegal_transition(std::string_view machine, std::string_view from, std::string_view to, bool from_terminal) {
  std::string msg;
  msg.reserve(64);
  msg += machine;
  msg += " cannot go from ";
  msg += from;
  msg += " to ";
  msg += to;
  if (from_terminal) {
    msg += " (";
    msg += from;
    msg += " is final)";
  }
  return Error{ErrorCode::kConflict, std::move(msg)};
}

}  // namespace ms::domain::detail
