#include "esxmirror/util/secrets.hpp"

#include <algorithm>
#include <functional>

#include "esxmirror/util/strings.hpp"
#include "util/curl_url.hpp"

namespace esxmirror::util {

namespace {

using detail::parse_url;
using detail::url_part;
using detail::UrlHandle;

// "http://host:port" of a parsed URL, lower case, the port spelled out even when it is the default.
std::string origin_of(CURLU* url) {
  auto scheme = url_part(url, CURLUPART_SCHEME);
  auto host = url_part(url, CURLUPART_HOST);
  auto port = url_part(url, CURLUPART_PORT, CURLU_DEFAULT_PORT);
  return to_lower(scheme.value_or("")) + "://" + to_lower(host.value_or("")) + ":" + port.value_or("");
}

bool has_userinfo(CURLU* url) {
  return url_part(url, CURLUPART_USER) || url_part(url, CURLUPART_PASSWORD) || url_part(url, CURLUPART_OPTIONS);
}

void remove_userinfo(CURLU* url) {
  curl_url_set(url, CURLUPART_USER, nullptr, 0);
  curl_url_set(url, CURLUPART_PASSWORD, nullptr, 0);
  curl_url_set(url, CURLUPART_OPTIONS, nullptr, 0);
}

// A placeholder name from a query parameter's name: what is safe between braces, else "secret".
std::string placeholder_name(const std::string& parameter) {
  bool plain = !parameter.empty() && std::all_of(parameter.begin(), parameter.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
  return plain ? parameter : "secret";
}

// Calls `change(name, value)` for every parameter of a raw query ("a=1&b" -> ("a","1"), ("","b")) and
// writes back the value it returns. Returns the query rebuilt, and whether anything changed.
std::pair<std::string, bool> rewrite_query(
    const std::string& query, const std::function<std::string(const std::string&, const std::string&)>& change) {
  std::vector<std::string> params = split(query, '&');
  bool changed = false;
  for (std::string& param : params) {
    if (param.empty()) continue;
    const std::size_t eq = param.find('=');
    const std::string name = eq == std::string::npos ? "" : param.substr(0, eq);
    const std::string value = eq == std::string::npos ? param : param.substr(eq + 1);
    std::string replaced = change(name, value);
    if (replaced == value) continue;
    param = eq == std::string::npos ? replaced : name + "=" + replaced;
    changed = true;
  }
  return {join(params, "&"), changed};
}

std::string whole_url(CURLU* url, const std::string& fallback) {
  return url_part(url, CURLUPART_URL).value_or(fallback);
}

}  // namespace

void Secrets::add(std::string name, std::string value, bool in_path) {
  if (value.empty()) return;
  for (const Placeholder& p : placeholders_) {
    if (p.value == value && p.in_path == in_path) return;  // already known, under whatever name
  }
  // A name already standing for another value gets a number: "{token}", "{token-2}"...
  std::string unique = name;
  for (int n = 2;
       std::any_of(placeholders_.begin(), placeholders_.end(), [&](const Placeholder& p) { return p.name == unique; });
       ++n) {
    unique = name + "-" + std::to_string(n);
  }
  placeholders_.push_back({std::move(unique), std::move(value), in_path});
}

void Secrets::add_source(const std::string& url) {
  UrlHandle parsed = parse_url(url);
  if (!parsed) return;
  auto user = url_part(parsed.get(), CURLUPART_USER);
  auto password = url_part(parsed.get(), CURLUPART_PASSWORD);
  if (user || password) {
    credentials_.push_back({origin_of(parsed.get()), user.value_or(""), password.value_or(""), password.has_value()});
  }
  if (auto query = url_part(parsed.get(), CURLUPART_QUERY)) {
    rewrite_query(*query, [&](const std::string& name, const std::string& value) {
      add(placeholder_name(name), value, false);
      return value;
    });
  }
}

void Secrets::add_placeholder(const std::string& name, const std::string& value) { add(name, value, true); }

std::string Secrets::stored(const std::string& url) const {
  // Without an '@' there is no userinfo; without known secrets nothing else to replace (the common case:
  // every link of a big index, so no parse for it).
  if (placeholders_.empty() && url.find('@') == std::string::npos) return url;
  UrlHandle parsed = parse_url(url);
  if (!parsed) return url;
  bool changed = false;
  if (has_userinfo(parsed.get())) {
    remove_userinfo(parsed.get());
    changed = true;
  }
  auto placeholder_for = [&](const std::string& value, bool path_segment) -> std::string {
    for (const Placeholder& p : placeholders_) {
      if (p.value == value && (p.in_path || !path_segment)) return "{" + p.name + "}";
    }
    return value;
  };
  if (auto query = url_part(parsed.get(), CURLUPART_QUERY)) {
    auto [rewritten, query_changed] = rewrite_query(
        *query, [&](const std::string&, const std::string& value) { return placeholder_for(value, false); });
    if (query_changed) {
      curl_url_set(parsed.get(), CURLUPART_QUERY, rewritten.c_str(), 0);
      changed = true;
    }
  }
  if (auto path = url_part(parsed.get(), CURLUPART_PATH)) {
    std::vector<std::string> segments = split(*path, '/');
    bool path_changed = false;
    for (std::string& segment : segments) {
      std::string replaced = placeholder_for(segment, true);
      path_changed = path_changed || replaced != segment;
      segment = std::move(replaced);
    }
    if (path_changed) {
      curl_url_set(parsed.get(), CURLUPART_PATH, join(segments, "/").c_str(), 0);
      changed = true;
    }
  }
  return changed ? whole_url(parsed.get(), url) : url;
}

std::string Secrets::request(const std::string& stored_url) const {
  std::string url = stored_url;
  for (const Placeholder& p : placeholders_) {
    const std::string marker = "{" + p.name + "}";
    for (std::size_t at = url.find(marker); at != std::string::npos; at = url.find(marker, at + p.value.size())) {
      url.replace(at, marker.size(), p.value);
    }
  }
  if (credentials_.empty()) return url;
  UrlHandle parsed = parse_url(url);
  if (!parsed || has_userinfo(parsed.get())) return url;
  const std::string origin = origin_of(parsed.get());
  for (const Credential& c : credentials_) {
    if (c.origin != origin) continue;
    curl_url_set(parsed.get(), CURLUPART_USER, c.user.c_str(), 0);
    if (c.has_password) curl_url_set(parsed.get(), CURLUPART_PASSWORD, c.password.c_str(), 0);
    return whole_url(parsed.get(), url);
  }
  return url;
}

std::string scrub_url(const std::string& url) {
  UrlHandle parsed = parse_url(url);
  if (!parsed) return url;
  bool changed = false;
  if (has_userinfo(parsed.get())) {
    remove_userinfo(parsed.get());
    changed = true;
  }
  if (auto query = url_part(parsed.get(), CURLUPART_QUERY)) {
    auto [rewritten, query_changed] = rewrite_query(*query, [](const std::string& name, const std::string& value) {
      return value.size() > 2 && value.front() == '{' && value.back() == '}' ? value
                                                                             : "{" + placeholder_name(name) + "}";
    });
    if (query_changed) {
      curl_url_set(parsed.get(), CURLUPART_QUERY, rewritten.c_str(), 0);
      changed = true;
    }
  }
  return changed ? whole_url(parsed.get(), url) : url;
}

}  // namespace esxmirror::util
