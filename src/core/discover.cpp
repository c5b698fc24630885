#include "esxmirror/core/discover.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "esxmirror/core/engine_fetcher.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/patch_json.hpp"
#include "esxmirror/source/legacy_crawl.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace {

using nlohmann::json;

// The links an index yielded when it was last read; nullopt when that record is unreadable.
std::optional<std::vector<std::string>> links_of(const store::PageRow& index) {
  json value = json::parse(index.extracted, nullptr, false);
  if (!value.is_array()) return std::nullopt;
  std::vector<std::string> links;
  for (const json& link : value) {
    if (!link.is_string()) return std::nullopt;
    links.push_back(link.get<std::string>());
  }
  return links;
}

// What earlier runs kept of the site, from the pages table; a page whose record is unreadable is left
// out (read afresh).
source::CrawlMemory crawl_memory(const std::string& index_url, const std::map<std::string, store::PageRow>& pages,
                                 store::Catalog& catalog) {
  source::CrawlMemory memory;
  for (const auto& [url, row] : pages) {
    if (url == index_url) {
      if (auto links = links_of(row)) memory.index = source::CrawlMemory::Index{{row.etag, row.last_modified}, *links};
      continue;
    }
    try {
      memory.pages.emplace(
          url, source::CrawlMemory::Page{
                   {row.etag, row.last_modified}, row.checked_at, patch_from_json(json::parse(row.extracted))});
    } catch (const json::exception&) {
    }
  }
  // A pruned bundle is settled too: its page is revalidated in the slices, not every run.
  for (const auto& [id, bundle] : catalog.bundles()) {
    if (bundle.state == store::BundleState::placed || bundle.state == store::BundleState::pruned) {
      memory.settled.insert(id);
    }
  }
  return memory;
}

}  // namespace

void check_source(const SyncSettings& settings) {
  auto scheme = util::url_scheme(settings.source_url);
  if (!scheme || (*scheme != "http" && *scheme != "https") || !util::url_host(settings.source_url)) {
    throw Error(ExitCode::usage,
                fmt::format("--source {} is not an http(s) URL: give the address of the vendor's patch index page, "
                            "e.g. https://vendor.example/download/vi/vi3_patches.html",
                            util::mask_url(settings.source_url)));
  }
}

DiscoverResult read_source(const SyncSettings& settings, const source::Rules& rules, store::Catalog& catalog,
                           std::optional<net::Response> prefetched, const source::PatchFound& on_patch) {
  check_source(settings);
  source::CrawlPolicy policy{settings.network.secrets.stored(settings.source_url), settings.allowed_hosts,
                             settings.versions, settings.revalidate_window_runs, settings.revalidate_min_pages};
  DiscoverResult result;
  result.known_pages = catalog.pages();
  source::CrawlMemory memory = crawl_memory(policy.index_url, result.known_pages, catalog);
  EngineFetcher fetcher(settings.network, settings.retry, settings.page_jobs);
  if (prefetched) result.requests += static_cast<std::uint64_t>(prefetched->attempts);
  result.crawl = source::crawl_legacy_site(rules, policy, memory, settings.network.secrets, fetcher,
                                           std::move(prefetched), on_patch);
  result.requests += fetcher.requests();
  return result;
}

void record_discovery(const DiscoverResult& found, store::Catalog& catalog, std::int64_t now) {
  // Recorded in one transaction: the documents as they were answered, then what the fresh ones said.
  store::Database::Transaction transaction(catalog.database());
  auto save = [&](const source::CrawlResult::Read& read, const std::string& extracted) {
    if (read.changed) {
      catalog.save_page({read.url, read.validators.etag, read.validators.last_modified, now, now, extracted});
    } else if (auto known = found.known_pages.find(read.url); known != found.known_pages.end()) {
      store::PageRow row = known->second;
      row.checked_at = now;
      catalog.save_page(row);
    }
  };
  const source::CrawlResult& crawl = found.crawl;
  for (const auto& [read, record] : crawl.pages) save(read, record ? to_json(*record).dump() : std::string());
  save(*crawl.index, json(crawl.links).dump());
  for (const PatchRecord& record : crawl.fresh) catalog.upsert_patch(record, now);
  transaction.commit();
}

}  // namespace esxmirror
