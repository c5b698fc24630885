// Validators and ranges exactly as the RFCs put them; the servers of tests/support call these.
#include "support/http_semantics.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace esxmirror::testing::http {
namespace {

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

std::string date(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char text[96];  // roomy enough that -Wformat-truncation cannot object
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

std::optional<std::time_t> parse_date(const std::string& text) {
  char month[4] = {};
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%*3s, %d %3s %d %d:%d:%d GMT", &tm.tm_mday, month, &tm.tm_year, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6)
    return std::nullopt;
  const auto found = std::find_if(std::begin(kMonths), std::end(kMonths),
                                  [&](const char* name) { return std::strcmp(name, month) == 0; });
  if (found == std::end(kMonths)) return std::nullopt;
  tm.tm_mon = static_cast<int>(found - std::begin(kMonths));
  tm.tm_year -= 1900;
  return timegm(&tm);
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return std::string(text);
}

bool none_match_hits(const std::string& header, const std::string& etag) {
  std::size_t start = 0;
  while (start <= header.size()) {
    const std::size_t comma = std::min(header.find(',', start), header.size());
    std::string tag = trim(std::string_view(header).substr(start, comma - start));
    if (tag == "*") return true;
    if (tag.rfind("W/", 0) == 0) tag.erase(0, 2);
    if (tag == etag) return true;
    start = comma + 1;
  }
  return false;
}

bool if_range_holds(const std::string& header, const std::string& etag, std::time_t modified) {
  const std::string value = trim(header);
  if (value.rfind("W/", 0) == 0) return false;
  if (!value.empty() && value.front() == '"') return value == etag;
  const auto when = parse_date(value);
  return when && *when == modified;
}

ByteRange parse_range(const std::string& header, std::size_t size) {
  ByteRange out;
  const std::string prefix = "bytes=";
  if (header.rfind(prefix, 0) != 0 || header.find(',') != std::string::npos) return out;
  const std::string spec = trim(std::string_view(header).substr(prefix.size()));
  const std::size_t dash = spec.find('-');
  if (dash == std::string::npos) return out;
  const std::string from = spec.substr(0, dash), to = spec.substr(dash + 1);
  const auto digits = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
  };
  if ((!from.empty() && !digits(from)) || (!to.empty() && !digits(to)) || (from.empty() && to.empty())) return out;

  out.kind = ByteRange::Kind::unsatisfiable;
  if (from.empty()) {  // suffix: the last N bytes
    const std::size_t suffix = std::stoull(to);
    if (suffix == 0 || size == 0) return out;
    out.first = size - std::min(suffix, size);
  } else {
    out.first = std::stoull(from);
    if (out.first >= size) return out;
  }
  std::size_t last = size - 1;
  if (!from.empty() && !to.empty()) {
    const std::size_t wanted = std::stoull(to);
    if (wanted < out.first) return ByteRange{};  // syntactically invalid: ignore the header
    last = std::min(wanted, last);
  }
  out.kind = ByteRange::Kind::single;
  out.length = last - out.first + 1;
  return out;
}

}  // namespace esxmirror::testing::http
