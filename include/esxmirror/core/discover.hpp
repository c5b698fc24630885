#pragma once
// Discover: the legacy site's crawl (source/legacy_crawl.hpp) over the run's engine, remembering in the
// pages table what it read so an unchanged site costs a few 304s.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "esxmirror/core/patch.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/store/catalog.hpp"

namespace esxmirror {

struct DiscoverResult {
  std::vector<PatchRecord> patches;   // every patch with a bundle, from every page read
  std::vector<std::string> warnings;  // pages that could not be read, refused links, odd pages
  int page_failures = 0;              // detail pages that could not be read (the mirror may be incomplete)
  std::uint64_t requests = 0;
  std::uint64_t pages_fetched = 0;       // answered with a body
  std::uint64_t pages_not_modified = 0;  // answered 304
};

// Throws Error(usage) when the source is not an http(s) URL with a host (checked before anything is touched).
void check_source(const SyncSettings& settings);

// Reads the index and the detail pages it links to. Throws Error(source) when the index cannot be
// read at all (unreachable, 401/403, not a patch index) and Error(usage) for a source that is not an
// http(s) URL. Records pages, patches and KB notes (pages without a bundle) in the catalog, every URL in
// its stored form (settings.network.secrets). `index`: the index's response when the caller already read
// it (to tell the source's kind), else it is read here, conditionally.
DiscoverResult discover(const SyncSettings& settings, const source::Rules& rules, store::Catalog& catalog,
                        std::int64_t now, std::optional<net::Response> index = std::nullopt);

}  // namespace esxmirror
