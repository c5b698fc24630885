#include "net/response_headers.hpp"

#include <charconv>

namespace esxmirror::net::detail {

namespace {

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

// A whole decimal number; nullopt for anything else (signs, spaces inside, overflow).
std::optional<std::uint64_t> whole_number(std::string_view s) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

void ResponseHeaders::feed(std::string_view raw) {
  const std::string_view line = trim(raw);
  if (line.rfind("HTTP/", 0) == 0) {
    *this = ResponseHeaders{};
    const auto space = line.find(' ');
    if (space != std::string_view::npos) {
      const std::string_view code = line.substr(space + 1, 3);
      long value = 0;
      if (std::from_chars(code.data(), code.data() + code.size(), value).ec == std::errc()) status = value;
    }
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return;
  const std::string_view name = trim(line.substr(0, colon));
  const std::string_view value = trim(line.substr(colon + 1));
  if (iequals(name, "etag")) {
    validators.etag = value;
  } else if (iequals(name, "last-modified")) {
    validators.last_modified = value;
  } else if (iequals(name, "retry-after")) {
    retry_after = value;
  } else if (iequals(name, "content-range")) {
    content_range = value;
  } else if (iequals(name, "content-length")) {
    content_length = whole_number(value);
  }
}

std::optional<ContentRange> parse_content_range(std::string_view value) {
  value = trim(value);
  if (value.rfind("bytes ", 0) != 0) return std::nullopt;
  value.remove_prefix(6);
  const auto dash = value.find('-');
  const auto slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) return std::nullopt;
  const auto first = whole_number(value.substr(0, dash));
  const auto last = whole_number(value.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  ContentRange range{*first, *last, std::nullopt};
  const std::string_view total = value.substr(slash + 1);
  if (total != "*") {
    range.total = whole_number(total);
    if (!range.total || *range.total <= *last) return std::nullopt;
  }
  return range;
}

}  // namespace esxmirror::net::detail
