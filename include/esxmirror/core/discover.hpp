#pragma once
// Discover: the legacy site's crawl (source/legacy_crawl.hpp) over the run's engine, remembering in the
// pages table what it read so an unchanged site costs a few 304s.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "esxmirror/core/patch.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/source/legacy_crawl.hpp"
#include "esxmirror/store/catalog.hpp"

namespace esxmirror {

// What the crawl read (patches, warnings, failures and counters in `crawl`), not yet recorded.
struct DiscoverResult {
  source::CrawlResult crawl;
  std::map<std::string, store::PageRow> known_pages;  // the pages table before the crawl
  std::uint64_t requests = 0;                         // HTTP requests, the caller's read of the index included
};

// Throws Error(usage) when the source is not an http(s) URL with a host (checked before anything is touched).
void check_source(const SyncSettings& settings);

// Reads the index and the detail pages it links to, calling `on_patch` for each patch as soon as it is
// known. Reads the catalog (what earlier runs kept) before the first request and never writes it. Throws
// Error(source) when the index cannot be read at all (unreachable, 401/403, not a patch index) and
// Error(usage) for a source that is not an http(s) URL. `index`: the index's response when the caller
// already read it (to tell the source's kind), else it is read here, conditionally.
DiscoverResult read_source(const SyncSettings& settings, const source::Rules& rules, store::Catalog& catalog,
                           std::optional<net::Response> index = std::nullopt, const source::PatchFound& on_patch = {});

// Records in the catalog, in one transaction, the pages as they were answered and the patches and KB
// notes (pages without a bundle) read from fresh bodies, every URL in its stored form.
void record_discovery(const DiscoverResult& found, store::Catalog& catalog, std::int64_t now);

}  // namespace esxmirror
