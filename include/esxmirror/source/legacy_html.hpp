#pragma once
// Legacy HTML source: RE2 rules that turn VMware's vi3 pages into patch records (DESIGN §2, §7).
// Pure functions: strings in, values out; no I/O.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esxmirror/core/patch.hpp"

namespace esxmirror::source {

// Rule name -> ordered alternative RE2 patterns, each with one capture group. Names:
//   index_link, patch_name, version_block, version, release_date, download_url, download_filename,
//   md5, classification, supersedes.
// See src/source/legacy_html/rules.cpp for what each captures; the config file's [rules] table overrides
// by name (rules not named keep their built-in patterns).
struct RuleSpec {
  std::map<std::string, std::vector<std::string>> patterns;

  // The built-in profile that reads both vi3 page dialects.
  static RuleSpec vi3();
  // Names a RuleSpec may hold; anything else is a configuration error.
  static const std::vector<std::string>& names();
};

// Compiled rules. Thread-safe to use from several threads once built.
class Rules {
 public:
  // Compiles every pattern; throws esxmirror::Error(ExitCode::usage) naming the rule and the RE2 error.
  explicit Rules(const RuleSpec& spec);
  ~Rules();
  Rules(const Rules&) = delete;
  Rules& operator=(const Rules&) = delete;
  struct Compiled;
  const Compiled& compiled() const { return *compiled_; }

 private:
  std::unique_ptr<Compiled> compiled_;
};

// Links to detail pages found on an index page, resolved against base_url, entities decoded,
// de-duplicated, in page order.
std::vector<std::string> extract_index_links(const Rules& rules, std::string_view html, const std::string& base_url);

// Everything the detail page says about its patch. Never throws on odd pages: what is missing stays
// empty and is noted in `warnings`. A page with no download (a KB note) has an empty download_url.
PatchRecord parse_detail_page(const Rules& rules, std::string_view html, const std::string& page_url);

// True when a version as written on a page ("3.0.1", "ESX Server 3.0.1") is exactly `selected`:
// 3.0.1 does not match 3.0.10 or 3.0.1a.
bool version_matches(std::string_view page_version, std::string_view selected);

// True when one of a page's versions matches `selected` (version_matches).
bool lists_version(const std::vector<std::string>& page_versions, std::string_view selected);

// True when one of a page's versions matches one of `selection`.
bool lists_any_version(const std::vector<std::string>& page_versions, const std::vector<std::string>& selection);

// "3/29/07", "March 29, 2007", "Mar 29 2007", "2007-03-29" -> "2007-03-29"; nullopt when unparseable.
std::optional<std::string> normalise_date(std::string_view text);

}  // namespace esxmirror::source
