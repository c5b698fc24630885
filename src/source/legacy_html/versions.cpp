// Which ESX version a page's version text names: exact tokens, never prefixes.
#include <algorithm>
#include <array>
#include <string>

#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror::source {
namespace {

bool starts_with_word(const std::string& text, std::string_view prefix) {
  return text.size() > prefix.size() && util::to_lower(text.substr(0, prefix.size())) == prefix &&
         text[prefix.size()] == ' ';
}

// "VMware ESX Server 3.0.1" / "ESXi 3.5.0" / " 3.0.1 " -> "3.0.1" (letters lower-cased: 3.0.1A is 3.0.1a).
std::string bare_version(std::string_view text) {
  std::string version = util::collapse_whitespace(text);
  static constexpr std::array<std::string_view, 4> prefixes = {"vmware", "esx server", "esxi", "esx"};
  for (std::string_view prefix : prefixes) {
    if (starts_with_word(version, prefix)) version.erase(0, prefix.size() + 1);
  }
  return util::to_lower(version);
}

}  // namespace

bool version_matches(std::string_view page_version, std::string_view selected) {
  const std::string page = bare_version(page_version);
  return !page.empty() && page == bare_version(selected);
}

bool lists_version(const std::vector<std::string>& page_versions, std::string_view selected) {
  return std::any_of(page_versions.begin(), page_versions.end(),
                     [&](const std::string& v) { return version_matches(v, selected); });
}

bool lists_any_version(const std::vector<std::string>& page_versions, const std::vector<std::string>& selection) {
  return std::any_of(selection.begin(), selection.end(),
                     [&](const std::string& wanted) { return lists_version(page_versions, wanted); });
}

}  // namespace esxmirror::source
