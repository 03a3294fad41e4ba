// Building blocks for the domain's state machines (order, payment, subscription, bot).
//
// Each machine is an explicit table of allowed (from, to) pairs. Anything not in the table
// is illegal and is reported as ErrorCode::kConflict naming both states; the caller's
// entity is left untouched. A state with no outgoing edge is terminal.
// Every machine State provides (besides to_string/parse/all_values, see enum_names.hpp):
//   bool can_transition(State from, State to);
//   Result<State> transition(State from, State to);   // ok(to) or kConflict
//   bool is_terminal(State);
//   std::vector<State> allowed_targets(State from);   // table order
// Thread-safety: pure functions over constant tables; safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace ms::domain::detail {

template <class S>
struct Edge {
  S from;
  S to;
};

template <class S, std::size_t N>
constexpr bool allows(const std::array<Edge<S>, N>& table, S from, S to) {
  for (const auto& e : table) {
    if (e.from == from && e.to == to) return true;
  }
  return false;
}

template <class S, std::size_t N>
constexpr bool has_outgoing(const std::array<Edge<S>, N>& table, S from) {
  for (const auto& e : table) {
    if (e.from == from) return true;
  }
  return false;
}

template <class S, std::size_t N>
std::vector<S> targets(const std::array<Edge<S>, N>& table, S from) {
  std::vector<S> out;
  for (const auto& e : table) {
    if (e.from == from) out.push_back(e.to);
  }
  return out;
}

// "order cannot go from paid to awaiting_payment" (+ " (fulfilled is final)" when from is terminal).
Error illegal_transition(std::string_view machine, std::string_view from, std::string_view to, bool from_terminal);

}  // namespace ms::domain::detail

// Defines can_transition / transition / is_terminal / allowed_targets for `State` from a
// constexpr std::array of detail::Edge<State> called `table`. Use inside namespace
// ms::domain in a .cpp file, after to_string(State) is declared.
#define MS_DOMAIN_STATE_MACHINE(State, machine_name, table)                                \
  bool can_transition(State from, State to) { return detail::allows(table, from, to); }    \
  bool is_terminal(State state) { return !detail::has_outgoing(table, state); }            \
  std::vector<State> allowed_targets(State from) { return detail::targets(table, from); }  \
  Result<State> transition(State from, State to) {                                         \
    if (!detail::allows(table, from, to)) {                                                \
      return fail(detail::illegal_transition(machine_name, to_string(from), to_string(to), \
                                             !detail::has_outgoing(table, from)));         \
    }                                                                                      \
    return to;                                                                             \
  }
