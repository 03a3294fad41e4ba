// Test helpers shared by the *_state_test.cpp files: checks a machine against an expected
// table over every (from, to) pair, both ways. Test-only; no library code includes it.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "domain/enum_names.hpp"

namespace ms::domain::testing {

template <class S>
using EdgeSet = std::set<std::pair<S, S>>;

// Every allowed pair succeeds and returns `to`; every other pair fails with kConflict and a
// message naming the machine and both states; is_terminal agrees with the table.
template <class S>
void expect_exact_table(const EdgeSet<S>& expected, std::string_view machine) {
  int allowed_count = 0;
  for (S from : all_values<S>()) {
    bool has_out = false;
    for (S to : all_values<S>()) {
      const bool allowed = expected.count({from, to}) > 0;
      has_out = has_out || allowed;
      const std::string pair = std::string(to_string(from)) + " -> " + std::string(to_string(to));
      EXPECT_EQ(can_transition(from, to), allowed) << pair;
      auto result = transition(from, to);
      if (allowed) {
        ++allowed_count;
        ASSERT_TRUE(result.has_value()) << pair;
        EXPECT_EQ(*result, to) << pair;
      } else {
        ASSERT_FALSE(result.has_value()) << pair;
        EXPECT_EQ(result.error().code, ErrorCode::kConflict) << pair;
        const std::string want = std::string(machine) + " cannot go from " + std::string(to_string(from)) + " to " +
                                 std::string(to_string(to));
        EXPECT_EQ(result.error().message.rfind(want, 0), 0u) << result.error().message;
      }
    }
    EXPECT_EQ(is_terminal(from), !has_out) << to_string(from);
    std::set<S> targets;
    for (S to : allowed_targets(from)) targets.insert(to);
    for (S to : all_values<S>()) EXPECT_EQ(targets.count(to) > 0, expected.count({from, to}) > 0);
  }
  EXPECT_EQ(allowed_count, static_cast<int>(expected.size()));
}

// Names round-trip, are unique, and unknown text is refused.
template <class S>
void expect_names_round_trip(std::size_t expected_count) {
  auto values = all_values<S>();
  EXPECT_EQ(values.size(), expected_count);
  std::set<std::string> names;
  for (S v : values) {
    const std::string name(to_string(v));
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    auto back = parse<S>(name);
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, v);
  }
  EXPECT_FALSE(parse<S>("").has_value());
  EXPECT_FALSE(parse<S>("no_such_state").has_value());
}

}  // namespace ms::domain::testing
