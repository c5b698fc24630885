#pragma once
// Converting bundles placed by releases before schema 2, which kept the archive's top directory inside
// the bundle directory (3.0.1/2007-03-29_ESX-1000039/ESX-1000039/contents.xml), to the layout of
// DESIGN §5 (3.0.1/2007-03-29_ESX-1000039/contents.xml). Nothing is downloaded or copied: the new tree
// is made of hard links in staging and swapped in by one atomic exchange, so a reader sees each bundle
// whole, in the old layout or the new one. Links of other versions name the directory, not its
// contents, and need no change.
#include <string>

#include "esxmirror/core/settings.hpp"
#include "esxmirror/store/catalog.hpp"

namespace esxmirror {

// Converts every placed bundle the catalog records as nested, one at a time; returns how many
// directories were swapped. A run killed at any point leaves each bundle in the old layout or the new
// one, and the next run finishes what is left. Stops early when a stop is requested. Throws
// Error(storage) when the mirror cannot be written.
int convert_nested_bundles(const SyncSettings& settings, store::Catalog& catalog);

// Converts the placed bundle `id` if the catalog records it as nested (adoption finds old copies too):
// swaps its directory when it still holds the old tree, then records its files relative to the new one.
// True when the directory was swapped. Throws Error(storage) like convert_nested_bundles.
bool convert_nested_bundle(const SyncSettings& settings, store::Catalog& catalog, const std::string& id);

}  // namespace esxmirror
