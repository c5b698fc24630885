#pragma once
// An absolute URL split into the parts that decide "same server, under this directory" (libcurl URL API).
#include <optional>
#include <string>
#include <string_view>

namespace esxmirror::util {

struct UrlParts {
  std::string scheme;  // lower case: "https"
  std::string host;    // lower case: "dl.broadcom.com"
  std::string port;    // always given, the scheme's default when the URL has none: "443"
  std::string path;    // as encoded, dot segments removed, at least "/"
  std::string query;   // without '?'; empty when none
};

// The parts of an absolute URL; nullopt when it is not one (a relative reference, garbage).
std::optional<UrlParts> split_url(const std::string& url);

// "%41b%2F" -> "Ab/": every %XX decoded; a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text);

// A '/'-separated path as it goes into a URL: every byte but letters, digits, "-._~" and '/' as %XX
// ("a b#1" -> "a%20b%231"), so a file name cannot turn into a query or a fragment.
std::string percent_encode_path(std::string_view path);

}  // namespace esxmirror::util
