#pragma once
// A SELECT's column list written once: the SQL text is made from it, and a row reader asks for a
// column's index by its name, checked when compiling (a name not in the list does not build).
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace esxmirror::store::detail {

template <std::size_t N>
struct ColumnList {
  std::array<std::string_view, N> names;

  // The index of `name` in the list.
  consteval int operator[](std::string_view name) const {
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] == name) return static_cast<int>(i);
    }
    throw "no such column in this list";  // not a constant expression: the build fails here
  }
  static constexpr int size() { return static_cast<int>(N); }
  // "a, b, c", each prefixed with `table.` when given.
  std::string sql(std::string_view table = {}) const {
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
      if (i > 0) out += ", ";
      if (!table.empty()) out.append(table).append(".");
      out.append(names[i]);
    }
    return out;
  }
};

template <typename... Names>
consteval ColumnList<sizeof...(Names)> columns(Names... names) {
  return {{std::string_view(names)...}};
}

}  // namespace esxmirror::store::detail
