#pragma once
// libcurl's URL handle, shared by the URL helpers of util/ (url.cpp, secrets.cpp).
#include <curl/curl.h>

#include <memory>
#include <optional>
#include <string>

namespace esxmirror::util::detail {

struct UrlDeleter {
  void operator()(CURLU* handle) const { curl_url_cleanup(handle); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

// `url` parsed by libcurl (any scheme; surrounding whitespace and inner tabs/newlines dropped, as a
// browser does); nullptr when it is not an absolute URL.
UrlHandle parse_url(const std::string& url);

// One part of a parsed URL, as stored (still percent-encoded unless `flags` say otherwise); nullopt when
// the URL has no such part.
std::optional<std::string> url_part(CURLU* handle, CURLUPart part, unsigned int flags = 0);

}  // namespace esxmirror::util::detail
