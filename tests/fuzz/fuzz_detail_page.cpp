// libFuzzer target: vendor page extraction with the built-in vi3 rules (DESIGN §2, §7).
//
// Any bytes are a possible page: parse_detail_page and extract_index_links must never crash, throw or
// hang, and what they return must keep the promises the rest of the program relies on.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/util/url.hpp"

namespace {

using esxmirror::source::Rules;
using esxmirror::source::RuleSpec;

const Rules& rules() {
  static const Rules compiled(RuleSpec::vi3());
  return compiled;
}

[[noreturn]] void fail(const std::string& what, const std::string& value) {
  std::fprintf(stderr, "fuzz_detail_page: %s: '%s'\n", what.c_str(), value.c_str());
  std::abort();
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

void check_scheme(const std::string& url, std::initializer_list<std::string_view> allowed, const char* what) {
  const auto scheme = esxmirror::util::url_scheme(url);
  if (!scheme) fail(std::string(what) + " has no scheme", url);
  for (std::string_view s : allowed) {
    if (*scheme == s) return;
  }
  fail(std::string(what) + " has scheme " + *scheme, url);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view html(reinterpret_cast<const char*>(data), size);
  const std::string page_url = "http://vendor.example/download/vi/1000039-patch.html";
  const std::string index_url = "https://vendor.example/download/vi/vi3_patches.html";

  const esxmirror::PatchRecord record = esxmirror::source::parse_detail_page(rules(), html, page_url);
  if (record.id.empty()) fail("empty id", record.id);
  if (record.page_url != page_url) fail("page_url changed", record.page_url);
  if (record.release_date) {
    const std::string& d = *record.release_date;
    if (d.size() != 10 || d[4] != '-' || d[7] != '-') fail("release date not ISO", d);
    for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
      if (!is_digit(d[i])) fail("release date not ISO", d);
    }
    const auto again = esxmirror::source::normalise_date(d);
    if (!again || *again != d) fail("release date does not normalise to itself", d);
  }
  if (record.md5()) {
    if (record.md5()->size() != 32) fail("md5 is not 32 digits", *record.md5());
    for (char c : *record.md5()) {
      if (!is_digit(c) && !(c >= 'a' && c <= 'f')) fail("md5 is not lower-case hex", *record.md5());
    }
  }
  if (record.has_bundle()) check_scheme(record.bundle_url(), {"http", "https", "ftp"}, "download url");
  for (const auto& version : record.versions) {
    if (version.empty()) fail("empty version", version);
  }
  for (const auto& warning : record.warnings) {
    if (warning.find('\n') != std::string::npos) fail("warning spans lines", warning);
  }

  const auto links = esxmirror::source::extract_index_links(rules(), html, index_url);
  std::set<std::string> seen;
  for (const auto& link : links) {
    check_scheme(link, {"http", "https"}, "index link");
    if (!seen.insert(link).second) fail("duplicate index link", link);
  }
  return 0;
}
