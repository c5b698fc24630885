#pragma once
// What both published files list, in the same order: placed bundles per version, KB notes per version.
#include <map>
#include <string>
#include <vector>

#include "esxmirror/store/catalog.hpp"

namespace esxmirror::publish {

// One placed bundle under one version: its catalog entry and that version's placement.
struct Row {
  const store::CatalogEntry* entry;
  const store::PlacementRow* placement;
};

// Version -> placed bundles under it, in catalog order (by date, then id); versions sorted.
std::map<std::string, std::vector<Row>> rows_by_version(const std::vector<store::CatalogEntry>& entries);

// The KB notes (pages without a bundle: the vendor's instructions) for `version`, in catalog order.
std::vector<const store::CatalogEntry*> notes_for(const std::vector<store::CatalogEntry>& entries,
                                                  const std::string& version);

}  // namespace esxmirror::publish
