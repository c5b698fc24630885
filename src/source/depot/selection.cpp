// Version and product selection of vendor-index entries (issue 8 §2).
#include <algorithm>
#include <string>
#include <vector>

#include "esxmirror/source/depot/selection.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror::source::depot {
namespace {

// The positions of `pattern` ('*' = any run of characters) reachable after reading all of `text`:
// reachable[pattern.size()] means the whole pattern matches; any reachable position means some text
// starting with `text` matches (whatever is left of a pattern can always be matched).
std::vector<bool> reachable_after(std::string_view pattern, std::string_view text) {
  std::vector<bool> states(pattern.size() + 1, false);
  const auto close_over_stars = [&](std::vector<bool>& set) {
    for (std::size_t i = 0; i < pattern.size(); ++i)
      if (set[i] && pattern[i] == '*') set[i + 1] = true;
  };
  states[0] = true;
  close_over_stars(states);
  for (const char c : text) {
    std::vector<bool> next(pattern.size() + 1, false);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (!states[i]) continue;
      if (pattern[i] == '*')
        next[i] = true;
      else if (pattern[i] == c)
        next[i + 1] = true;
    }
    close_over_stars(next);
    states = std::move(next);
  }
  return states;
}

}  // namespace

bool version_selects(std::string_view selected_in, std::string_view entry_in) {
  const std::string selected = util::trim(selected_in), entry = util::trim(entry_in);
  if (selected.empty() || entry.empty()) return false;
  const std::string line = selected + ".";  // every version of the selected line starts with this
  if (entry.find('*') == std::string::npos) return entry == selected || entry.rfind(line, 0) == 0;
  const std::vector<bool> whole = reachable_after(entry, selected);
  if (whole.back()) return true;
  const std::vector<bool> prefix = reachable_after(entry, line);
  return std::find(prefix.begin(), prefix.end(), true) != prefix.end();
}

std::vector<MetadataEntry> select_metadata(const VendorIndex& index, const Selection& selection) {
  std::vector<MetadataEntry> out;
  for (const MetadataEntry& entry : index.entries) {
    const bool product =
        std::find(selection.products.begin(), selection.products.end(), entry.product_id) != selection.products.end();
    const bool version = std::any_of(selection.versions.begin(), selection.versions.end(),
                                     [&](const std::string& v) { return version_selects(v, entry.version); });
    if (product && version && std::find(out.begin(), out.end(), entry) == out.end()) out.push_back(entry);
  }
  return out;
}

}  // namespace esxmirror::source::depot
