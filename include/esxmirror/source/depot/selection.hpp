#pragma once
// Which vendor-index entries a run mirrors (issue 8 §2): by ESX version and by product.
#include <string>
#include <string_view>
#include <vector>

#include "esxmirror/source/depot/index.hpp"

namespace esxmirror::source::depot {

// True when `selected` (an --esx-version value) selects an entry of version `entry_version`:
// - a plain version is selected when it equals `selected` or starts with it at a dot: "8.0" selects
//   8.0.0, 8.0.2 and 8.0.3 (not 8.00 or 8.01); "8.0.3" selects only 8.0.3 (and 8.0.3.x);
// - a pattern ('*' matches any run of characters) is selected when `selected` or some version of its
//   line matches it: "8.0.*" is selected by 8.0.3 and by 8.0; "8.*" by 8.0; "7.0.*" not by 8.0.
// Surrounding whitespace is ignored; an empty side never selects.
bool version_selects(std::string_view selected, std::string_view entry_version);

// What --esx-version and the depot_products setting ask for.
struct Selection {
  std::vector<std::string> versions;                    // at least one for anything to be selected
  std::vector<std::string> products = {"embeddedEsx"};  // productId values, compared exactly
};

// The entries of `index` whose product is one of selection.products and whose version one of
// selection.versions selects; document order, each entry once.
std::vector<MetadataEntry> select_metadata(const VendorIndex& index, const Selection& selection);

}  // namespace esxmirror::source::depot
