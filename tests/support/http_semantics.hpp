#pragma once
// The HTTP rules the sample servers answer by (RFC 7232 validators, RFC 7233 ranges), apart from any
// socket so they read like the RFC: dates, ETag comparisons, one byte range.
#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace esxmirror::testing::http {

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), independent of the process locale.
std::string date(std::time_t when);
// The IMF-fixdate form only; nullopt for anything else.
std::optional<std::time_t> parse_date(const std::string& text);

// If-None-Match against `etag`, by the weak comparison (RFC 7232 §3.2): "W/" prefixes are ignored, "*" matches.
bool none_match_hits(const std::string& header, const std::string& etag);
// If-Range by the strong comparison (RFC 7233 §3.2): a weak tag, another tag or another date never holds.
bool if_range_holds(const std::string& header, const std::string& etag, std::time_t modified);

struct ByteRange {
  enum class Kind { none, single, unsatisfiable } kind = Kind::none;
  std::size_t first = 0, length = 0;
};
// One "bytes=" range of a body of `size` bytes. Several ranges, or a syntax error, give Kind::none:
// the whole body is answered (allowed by RFC 7233).
ByteRange parse_range(const std::string& header, std::size_t size);

// `text` without surrounding blanks and tabs.
std::string trim(std::string_view text);

}  // namespace esxmirror::testing::http
