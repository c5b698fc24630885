#pragma once
// The legacy site's crawl (DESIGN §2): the index page, then the detail pages it links to, each asked
// conditionally, into patch records. Pure: it reads through a Fetcher and what earlier runs kept (its
// memory, handed in), and returns what it read; core records it in the catalog.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "esxmirror/core/patch.hpp"
#include "esxmirror/net/transfer.hpp"
#include "esxmirror/source/fetcher.hpp"
#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/util/secrets.hpp"

namespace esxmirror::source {

// What earlier runs kept of the site. Unreadable memories are left out: those documents are read afresh.
struct CrawlMemory {
  struct Index {
    net::Validators validators;
    std::vector<std::string> links;  // the detail pages it linked to (stored form)
  };
  struct Page {
    net::Validators validators;
    std::int64_t checked_at = 0;  // last time the server was asked
    PatchRecord record;           // what its last body said
  };
  std::optional<Index> index;
  std::map<std::string, Page> pages;  // by stored URL
  std::set<std::string> settled;      // patches placed (or pruned): their pages are revalidated in slices
};

struct CrawlPolicy {
  std::string index_url;                   // stored form
  std::vector<std::string> allowed_hosts;  // hosts links may lead to besides the index's own
  std::vector<std::string> versions;       // the ESX versions selected
  int revalidate_window_runs = 7;          // every settled page is asked at least once in this many runs...
  int revalidate_min_pages = 15;           // ...and at least this many of them each run
};

struct CrawlResult {
  // A document the server answered this run: with a body (`record`/`links` read from it) or 304.
  struct Read {
    std::string url;
    net::Validators validators;
    bool changed = false;  // a new body (else 304: only its checked_at moves)
  };
  std::optional<Read> index;       // nullopt only when the crawl threw
  std::vector<std::string> links;  // the index's links (new when index->changed, else remembered)
  std::vector<std::pair<Read, std::optional<PatchRecord>>> pages;  // record: set when changed
  std::vector<PatchRecord> patches;      // every patch with a bundle, from every page read or remembered
  std::vector<PatchRecord> fresh;        // patches and KB notes read from a new body: to be recorded
  std::vector<std::string> warnings;     // pages that could not be read, refused links, odd pages
  int page_failures = 0;                 // detail pages that could not be read (the mirror may be incomplete)
  std::uint64_t pages_fetched = 0;       // answered with a body
  std::uint64_t pages_not_modified = 0;  // answered 304
};

// Called for each patch of CrawlResult::patches, in that order, as soon as it is known (every page
// linked before it answered), while later pages may still be in flight.
using PatchFound = std::function<void(const PatchRecord&)>;

// Reads the index (unless `index` is its response already, read by the caller to tell the source's kind)
// and the detail pages it links to: pages never seen, pages whose patch is not settled, every page when
// the index changed, and a rolling slice of the settled ones (the least recently checked first); the
// pages it would ask about if the index is unchanged are asked together with the index. Links
// to other hosts are refused unless allowed. Every URL it returns is in its stored form (`secrets`).
// Throws Error(source) when the index cannot be read at all (unreachable, 401/403, not a patch index)
// and Error(interrupted) when the run is being stopped while it is read.
CrawlResult crawl_legacy_site(const Rules& rules, const CrawlPolicy& policy, const CrawlMemory& memory,
                              const util::Secrets& secrets, Fetcher& fetcher,
                              std::optional<net::Response> index = std::nullopt, const PatchFound& on_patch = {});

}  // namespace esxmirror::source
