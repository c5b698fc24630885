#pragma once
// HTTP response header lines, as libcurl hands them to the header callback, read into values. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "esxmirror/net/transfer.hpp"

namespace esxmirror::net::detail {

// What the engine needs from the headers of the current response.
struct ResponseHeaders {
  long status = 0;            // from the status line; 0 until one was seen
  Validators validators;      // ETag, Last-Modified
  std::string retry_after;    // raw value (parse_retry_after reads it)
  std::string content_range;  // raw value
  std::optional<std::uint64_t> content_length;

  // Takes one header line (trailing CR LF allowed). A status line ("HTTP/1.1 200 OK", "HTTP/2 304")
  // starts a new response and forgets the previous one's headers (redirect hops, proxy CONNECT,
  // 100-continue); lines that are neither are ignored.
  void feed(std::string_view line);
};

// "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"); nullopt when the value is not of that form.
struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::optional<std::uint64_t> total;
};
std::optional<ContentRange> parse_content_range(std::string_view value);

}  // namespace esxmirror::net::detail
