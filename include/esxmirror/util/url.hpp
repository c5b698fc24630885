#pragma once
// URL helpers on libcurl's URL API (no hand-written parsing).
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace esxmirror::util {

// `link` resolved against `base` (absolute links pass through); nullopt when either is not a URL.
std::optional<std::string> resolve_url(const std::string& base, const std::string& link);

// Lower-case scheme ("http", "https", "file"...) and host of an absolute URL; nullopt when unparseable.
std::optional<std::string> url_scheme(const std::string& url);
std::optional<std::string> url_host(const std::string& url);

// The last path segment ("ESX-1000039.tgz"), percent-decoded; empty when the path ends in '/'.
std::string url_filename(const std::string& url);

// The URL with user:password and query-string values replaced by "***" (Broadcom tokens live there).
// Safe to log, store and print. Text that is not a URL is returned unchanged.
std::string mask_url(const std::string& url);

// Every URL-looking substring of free text masked with mask_url (for error messages from libraries).
std::string mask_secrets(std::string_view text);

// Registers a secret that can sit anywhere in a URL or a message (the depot's download token, a path
// segment): from now on mask_url and mask_secrets replace every occurrence of it with "***". Process-wide,
// so no output path can forget it. Values shorter than 4 characters are ignored (they would mask words).
void add_sensitive_value(const std::string& value);

// Free text with every URL-looking substring ("scheme://...", up to whitespace or a quote) replaced by
// change(url); the rest is kept as it is.
std::string transform_urls(std::string_view text, const std::function<std::string(const std::string&)>& change);

}  // namespace esxmirror::util
