#include "esxmirror/util/url.hpp"

#include <mutex>
#include <vector>

#include <curl/curl.h>

#include <functional>
#include <memory>

#include "esxmirror/util/strings.hpp"
#include "util/curl_url.hpp"

namespace esxmirror::util {
namespace {

struct CurlStringDeleter {
  void operator()(char* s) const { curl_free(s); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

// Accept any scheme (file://, ftp://...) so callers can decide what they allow.
constexpr unsigned int kParseFlags = CURLU_NON_SUPPORT_SCHEME;

// Like a browser: leading/trailing whitespace goes, tabs and newlines inside a link are dropped.
std::string clean_link(const std::string& link) {
  std::string out;
  out.reserve(link.size());
  for (char c : trim(link)) {
    if (c != '\t' && c != '\n' && c != '\r') out += c;
  }
  return out;
}

using detail::UrlHandle;
UrlHandle parse(const std::string& url) { return detail::parse_url(url); }
std::optional<std::string> get_part(CURLU* handle, CURLUPart part, unsigned int flags = 0) {
  return detail::url_part(handle, part, flags);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// "a=1&b&c=3" -> "a=***&***&c=***": every value is a potential token.
std::string mask_query(std::string_view query) {
  std::vector<std::string> params = split(query, '&');
  for (std::string& param : params) {
    if (param.empty()) continue;
    const std::size_t eq = param.find('=');
    param = (eq == std::string::npos) ? "***" : param.substr(0, eq + 1) + "***";
  }
  return join(params, "&");
}

// For text that looks like a URL but that libcurl refuses: mask by position, so a malformed URL
// still never shows its password or query.
std::string mask_unparsed(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, scheme_end + 3));
  std::string_view rest = url.substr(scheme_end + 3);
  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const std::size_t colon = userinfo.find(':');
    out.append(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) out.append(":***");
    out.append(authority.substr(at));
  } else {
    out.append(authority);
  }
  if (authority_end == std::string_view::npos) return out;
  rest.remove_prefix(authority_end);
  const std::size_t question = rest.find('?');
  if (question == std::string_view::npos) {
    out.append(rest);
    return out;
  }
  out.append(rest.substr(0, question + 1));
  std::string_view query = rest.substr(question + 1);
  const std::size_t hash = query.find('#');
  out.append(mask_query(query.substr(0, hash)));
  if (hash != std::string_view::npos) out.append(query.substr(hash));
  return out;
}

bool is_scheme_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Where a URL inside free text stops: whitespace, or a quote/bracket that cannot be part of it.
bool ends_url(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '"' || c == '\'' ||
         c == '<' || c == '>' || c == '`';
}

}  // namespace

namespace detail {

UrlHandle parse_url(const std::string& url) {
  const std::string cleaned = clean_link(url);
  if (cleaned.empty()) return nullptr;
  UrlHandle handle(curl_url());
  if (!handle || curl_url_set(handle.get(), CURLUPART_URL, cleaned.c_str(), kParseFlags) != CURLUE_OK) {
    return nullptr;
  }
  return handle;
}

std::optional<std::string> url_part(CURLU* handle, CURLUPart part, unsigned int flags) {
  char* raw = nullptr;
  if (curl_url_get(handle, part, &raw, flags) != CURLUE_OK || raw == nullptr) return std::nullopt;
  CurlString owned(raw);
  return std::string(raw);
}

}  // namespace detail

std::optional<std::string> resolve_url(const std::string& base, const std::string& link) {
  UrlHandle handle = parse(base);
  const std::string cleaned = clean_link(link);
  if (!handle || cleaned.empty()) return std::nullopt;
  // With a base already set, libcurl resolves a relative reference against it (RFC 3986).
  if (curl_url_set(handle.get(), CURLUPART_URL, cleaned.c_str(), kParseFlags) != CURLUE_OK) {
    return std::nullopt;
  }
  return get_part(handle.get(), CURLUPART_URL);
}

std::optional<std::string> url_scheme(const std::string& url) {
  UrlHandle handle = parse(url);
  if (!handle) return std::nullopt;
  auto scheme = get_part(handle.get(), CURLUPART_SCHEME);
  if (!scheme) return std::nullopt;
  return to_lower(*scheme);
}

std::optional<std::string> url_host(const std::string& url) {
  UrlHandle handle = parse(url);
  if (!handle) return std::nullopt;
  auto host = get_part(handle.get(), CURLUPART_HOST);
  if (!host || host->empty()) return std::nullopt;
  return to_lower(*host);
}

std::string url_filename(const std::string& url) {
  // A relative reference ("ESX-1000039.tgz?x=1") is read against a placeholder base so that query
  // and fragment are split off by libcurl, not by hand.
  std::optional<std::string> path;
  if (UrlHandle handle = parse(url)) {
    path = get_part(handle.get(), CURLUPART_PATH);
  } else if (auto resolved = resolve_url("http://placeholder.invalid/", url)) {
    if (UrlHandle relative = parse(*resolved)) path = get_part(relative.get(), CURLUPART_PATH);
  }
  if (!path) return "";
  const std::size_t slash = path->rfind('/');
  const std::string last = percent_decode(slash == std::string::npos ? *path : path->substr(slash + 1));
  // A decoded segment that could walk out of a directory is not a file name.
  if (last == "." || last == ".." || last.find_first_of(std::string("/\\\0", 3)) != std::string::npos) return "";
  return last;
}

namespace {

std::mutex& sensitive_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<std::string>& sensitive_values() {
  static std::vector<std::string> values;
  return values;
}

std::string blank_sensitive(std::string text) {
  std::lock_guard<std::mutex> lock(sensitive_mutex());
  for (const std::string& value : sensitive_values()) {
    for (std::size_t at = text.find(value); at != std::string::npos; at = text.find(value, at + 3)) {
      text.replace(at, value.size(), "***");
    }
  }
  return text;
}

// The password of the userinfo and every query value masked; registered values are blanked by the callers.
std::string mask_url_parts(const std::string& url) {
  UrlHandle handle = parse(url);
  if (!handle) {
    // Not something libcurl takes as a URL: unchanged, unless it still carries "scheme://".
    return url.find("://") == std::string::npos ? url : mask_unparsed(url);
  }
  if (get_part(handle.get(), CURLUPART_PASSWORD)) {
    curl_url_set(handle.get(), CURLUPART_PASSWORD, "***", 0);
  }
  if (auto query = get_part(handle.get(), CURLUPART_QUERY)) {
    const std::string masked = mask_query(*query);
    curl_url_set(handle.get(), CURLUPART_QUERY, masked.c_str(), 0);
  }
  auto out = get_part(handle.get(), CURLUPART_URL);
  return out ? *out : mask_unparsed(url);
}

}  // namespace

void add_sensitive_value(const std::string& value) {
  if (value.size() < 4) return;
  std::lock_guard<std::mutex> lock(sensitive_mutex());
  sensitive_values().push_back(value);
}

std::string mask_url(const std::string& url) { return blank_sensitive(mask_url_parts(url)); }

std::string transform_urls(std::string_view text, const std::function<std::string(const std::string&)>& change) {
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  std::size_t search = 0;
  while (true) {
    const std::size_t sep = text.find("://", search);
    if (sep == std::string_view::npos) break;
    // Walk back over the scheme; it must start with a letter.
    std::size_t start = sep;
    while (start > copied && is_scheme_char(text[start - 1])) --start;
    while (start < sep && !is_alpha(text[start])) ++start;
    std::size_t end = sep + 3;
    while (end < text.size() && !ends_url(text[end])) ++end;
    // Sentence punctuation after a URL ("(see http://h/x)." ) is not part of it.
    while (end > sep + 3 && std::string_view(".,;:!)]").find(text[end - 1]) != std::string_view::npos) --end;
    if (start == sep) {  // "://" without a scheme in front: not a URL
      search = sep + 3;
      continue;
    }
    out.append(text.substr(copied, start - copied));
    out.append(change(std::string(text.substr(start, end - start))));
    copied = end;
    search = end;
  }
  out.append(text.substr(copied));
  return out;
}

std::string mask_secrets(std::string_view text) { return blank_sensitive(transform_urls(text, mask_url)); }

}  // namespace esxmirror::util
