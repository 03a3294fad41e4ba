// Names of domain enums: one stable lowercase string per value, used by storage (TEXT
// columns), JSON and logs. Every domain enum E provides, next to its declaration:
//   std::string_view to_string(E);                 // never fails
//   template <> std::optional<E> parse<E>(std::string_view);   // nullopt for unknown text
//   template <> std::span<const E> all_values<E>();            // every value, declaration order
// Names are part of the stored data format: never rename one, only add.
// Thread-safety: everything here is constant data; safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace ms::domain {

template <class E>
std::optional<E> parse(std::string_view text);

template <class E>
std::span<const E> all_values();

namespace detail {

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

template <class E, std::size_t N>
constexpr std::string_view name_of(const std::array<EnumName<E>, N>& table, E value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "unknown";
}

template <class E, std::size_t N>
constexpr std::optional<E> value_of(const std::array<EnumName<E>, N>& table, std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

template <class E, std::size_t N>
constexpr std::array<E, N> values_of(const std::array<EnumName<E>, N>& table) {
  std::array<E, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = table[i].value;
  return out;
}

}  // namespace detail
}  // namespace ms::domain

// Defines to_string / parse / all_values for enum `Type` from a constexpr std::array of
// detail::EnumName<Type> called `table`. Use inside namespace ms::domain in a .cpp file.
#define MS_DOMAIN_ENUM_NAMES(Type, table)                                          \
  std::string_view to_string(Type value) { return detail::name_of(table, value); } \
  template <>                                                                      \
  std::optional<Type> parse<Type>(std::string_view text) {                         \
    return detail::value_of(table, text);                                          \
  }                                                                                \
  template <>                                                                      \
  std::span<const Type> all_values<Type>() {                                       \
    static constexpr auto kValues = detail::values_of(table);                      \
    return kValues;                                                                \
  }
