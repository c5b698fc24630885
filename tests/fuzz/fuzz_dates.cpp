// libFuzzer target: release dates as pages print them -> ISO "YYYY-MM-DD" (source::normalise_date).
//
// Any text either is refused (nullopt) or becomes a real calendar date in ISO form that normalises to
// itself; nothing crashes, throws or reads past the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "esxmirror/source/legacy_html.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& output) {
  std::fprintf(stderr, "fuzz_dates: %s: input '%.*s' gave '%s'\n", what, static_cast<int>(input.size()), input.data(),
               output.c_str());
  std::abort();
}

int number(const std::string& s, std::size_t from, std::size_t count) {
  int value = 0;
  for (std::size_t i = from; i < from + count; ++i) value = value * 10 + (s[i] - '0');
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto date = esxmirror::source::normalise_date(text);
  if (!date) return 0;

  const std::string& d = *date;
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') fail("not ISO", text, d);
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (d[i] < '0' || d[i] > '9') fail("not ISO", text, d);
  }
  const int year = number(d, 0, 4);
  const int month = number(d, 5, 2);
  const int day = number(d, 8, 2);
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year < 1900 || year > 2999) fail("year out of range", text, d);
  if (month < 1 || month > 12) fail("no such month", text, d);
  if (day < 1 || day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) fail("no such day", text, d);

  const auto again = esxmirror::source::normalise_date(d);
  if (!again || *again != d) fail("ISO result does not normalise to itself", text, d);
  return 0;
}
