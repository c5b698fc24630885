// RetryPolicy::delay (pure) and the Retry-After header parser.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

#include "esxmirror/net/transfer.hpp"

namespace esxmirror::net {

std::chrono::milliseconds RetryPolicy::delay(int attempt, std::optional<std::chrono::seconds> retry_after) const {
  using std::chrono::milliseconds;
  if (attempt <= 1) return milliseconds(0);
  const milliseconds cap = std::max(max_delay, milliseconds(0));
  milliseconds wait = std::max(base_delay, milliseconds(0));
  for (int i = 2; i < attempt && wait < cap; ++i) wait *= 2;  // stops doubling at the cap: no overflow
  if (retry_after && *retry_after > wait) {
    wait = *retry_after > cap ? cap : milliseconds(*retry_after);
  }
  return std::min(wait, cap);
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    long long seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range) return std::chrono::seconds(365LL * 24 * 3600);  // "forever"
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return std::chrono::seconds(seconds);
  }
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == static_cast<time_t>(-1)) return std::nullopt;
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const long long diff = static_cast<long long>(when) - static_cast<long long>(now_s);
  return std::chrono::seconds(std::max(diff, 0LL));
}

}  // namespace esxmirror::net
