#include "esxmirror/core/discover.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "esxmirror/core/error.hpp"
#include "esxmirror/core/patch_json.hpp"
#include "esxmirror/util/secrets.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace {

using nlohmann::json;

std::string index_failure_message(const std::string& url, const net::Response& response) {
  std::string masked = util::mask_url(url);
  switch (response.outcome) {
    case net::Outcome::auth:
      return fmt::format("the patch index {} refused access (HTTP {}): check the credentials (--netrc) and "
                         "that the account is entitled to these downloads",
                         masked, response.status);
    case net::Outcome::not_found:
      return fmt::format("the patch index {} does not exist (HTTP {}): check --source", masked, response.status);
    default:
      return fmt::format("cannot read the patch index {}: {}", masked, response.error);
  }
}

// Which detail pages this run asks about, and whether conditionally. Pages never seen, pages whose
// patch is not placed, and every page when the index changed are always asked; otherwise placed
// patches' pages are revalidated in rolling slices (the least recently checked first).
std::vector<std::string> pages_to_check(const std::vector<std::string>& links, bool index_changed,
                                        const std::map<std::string, store::PageRow>& pages,
                                        const std::map<std::string, std::string>& page_patch,
                                        const std::map<std::string, store::BundleRow>& bundles,
                                        const SyncSettings& settings) {
  std::vector<std::string> check;
  std::vector<const store::PageRow*> settled;
  for (const std::string& link : links) {
    auto page = pages.find(link);
    if (index_changed || page == pages.end()) {
      check.push_back(link);
      continue;
    }
    auto patch = page_patch.find(link);
    bool placed = false;
    if (patch != page_patch.end()) {
      auto bundle = bundles.find(patch->second);
      // A pruned bundle is settled too: its page is revalidated in the slices, not every run.
      placed = bundle != bundles.end() && (bundle->second.state == store::BundleState::placed ||
                                           bundle->second.state == store::BundleState::pruned);
    } else {
      placed = true;  // a KB note without a bundle: nothing to fetch, settle it like a placed one
    }
    if (placed) {
      settled.push_back(&page->second);
    } else {
      check.push_back(link);
    }
  }
  std::size_t window = static_cast<std::size_t>(std::max(1, settings.revalidate_window_runs));
  std::size_t slice = std::max<std::size_t>((settled.size() + window - 1) / window,
                                            static_cast<std::size_t>(std::max(0, settings.revalidate_min_pages)));
  slice = std::min(slice, settled.size());
  std::partial_sort(settled.begin(), settled.begin() + static_cast<std::ptrdiff_t>(slice), settled.end(),
                    [](const store::PageRow* a, const store::PageRow* b) {
                      return a->checked_at != b->checked_at ? a->checked_at < b->checked_at : a->url < b->url;
                    });
  for (std::size_t i = 0; i < slice; ++i) check.push_back(settled[i]->url);
  return check;
}

// A page that yields no bundle is a KB note, unless its download link was refused (file://, ftp://...):
// for a selected version that is a patch we cannot mirror, so it counts as a page failure. A fresh page
// with no version on it at all (garbage, a changed layout) is worth a warning too. True for a KB note.
bool note_page_without_bundle(const SyncSettings& settings, const std::string& page_url, const PatchRecord& record,
                              bool is_fresh, DiscoverResult& result) {
  bool selected = false;
  for (const std::string& v : record.versions) {
    for (const std::string& wanted : settings.versions) selected = selected || source::version_matches(v, wanted);
  }
  for (const std::string& warning : record.warnings) {
    if (warning.rfind("download link ", 0) != 0) continue;
    if (selected) {
      ++result.page_failures;
      result.warnings.push_back(fmt::format("patch page {}: {}", util::mask_url(page_url), warning));
    }
    return false;
  }
  if (is_fresh && record.versions.empty()) {
    result.warnings.push_back(fmt::format("patch page {} shows no patch (no ESX version found); if the layout "
                                          "changed, check the rules with `esxmirror rules test`",
                                          util::mask_url(page_url)));
  }
  return !record.versions.empty();
}

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

bool host_allowed(const std::string& url, const std::set<std::string>& hosts) {
  auto host = util::url_host(url);
  return host && hosts.count(*host) > 0;
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

DiscoverResult discover(const SyncSettings& settings, const source::Rules& rules, store::Catalog& catalog,
                        std::int64_t now, std::optional<net::Response> prefetched) {
  DiscoverResult result;
  check_source(settings);
  const util::Secrets& secrets = settings.network.secrets;
  std::set<std::string> page_hosts(settings.allowed_hosts.begin(), settings.allowed_hosts.end());
  page_hosts.insert(*util::url_host(settings.source_url));

  std::map<std::string, store::PageRow> pages = catalog.pages();
  std::map<std::string, store::BundleRow> bundles = catalog.bundles();
  net::TransferEngine engine(settings.network, settings.retry, settings.page_jobs);

  // 1. The index. Every URL from here on is in its stored form: the engine puts the secrets back.
  const std::string index_url = secrets.stored(settings.source_url);
  auto stored_index = pages.find(index_url);
  std::optional<std::vector<std::string>> stored_links;
  if (stored_index != pages.end()) stored_links = links_of(stored_index->second);
  if (stored_index != pages.end() && !stored_links) {
    pages.erase(stored_index);  // unreadable memory of the index: read it afresh
    stored_index = pages.end();
  }
  net::Response index;
  if (prefetched) {
    index = std::move(*prefetched);
    result.requests += static_cast<std::uint64_t>(index.attempts);
  } else {
    net::Request index_request{0, index_url, {}, {}};
    if (stored_index != pages.end()) {
      index_request.conditional = {stored_index->second.etag, stored_index->second.last_modified};
    }
    engine.add(index_request);
    engine.run([&](net::Response&& r) { index = std::move(r); });
  }
  if (index.outcome == net::Outcome::aborted) throw Error(ExitCode::interrupted, "interrupted while reading the index");

  std::vector<std::string> links;
  bool index_changed = true;
  if (index.outcome == net::Outcome::not_modified && stored_index != pages.end()) {
    ++result.pages_not_modified;
    index_changed = false;
    links = *stored_links;
  } else if (index.outcome == net::Outcome::ok) {
    ++result.pages_fetched;
    links = source::extract_index_links(rules, index.body, index_url);
    for (std::string& link : links) link = secrets.stored(link);
    if (links.empty()) {
      throw Error(ExitCode::source,
                  fmt::format("{} is not a patch index: no links to patch pages found (check --source, or the "
                              "index_link rule with `esxmirror rules test`)",
                              util::mask_url(index_url)));
    }
  } else {
    throw Error(ExitCode::source, index_failure_message(index_url, index));
  }

  // Links to other hosts are refused unless allowed (a hostile or hijacked index cannot send us anywhere).
  // The first few are named; a flood of them (a hostile index) is counted, not logged line by line.
  constexpr std::size_t kNamedOtherHostLinks = 20;
  std::vector<std::string> allowed_links;
  std::size_t other_host_links = 0;
  for (const std::string& link : links) {
    if (host_allowed(link, page_hosts)) {
      allowed_links.push_back(link);
    } else if (++other_host_links <= kNamedOtherHostLinks) {
      result.warnings.push_back(fmt::format("ignoring link to another host: {} (add it to allowed_hosts to follow it)",
                                            util::mask_url(link)));
    }
  }
  if (other_host_links > kNamedOtherHostLinks) {
    result.warnings.push_back(fmt::format("ignoring {} more links to other hosts on the index {}",
                                          other_host_links - kNamedOtherHostLinks, util::mask_url(index_url)));
  }

  // 2. The detail pages.
  std::map<std::string, std::string> page_patch;  // page url -> patch id it yielded
  std::map<std::string, PatchRecord> known;       // page url -> record from its last body
  for (const std::string& link : allowed_links) {
    auto page = pages.find(link);
    if (page == pages.end()) continue;
    try {
      PatchRecord record = patch_from_json(json::parse(page->second.extracted));
      if (record.has_bundle()) page_patch[link] = record.id;
      known.emplace(link, std::move(record));
    } catch (const json::exception&) {
      pages.erase(page);  // unreadable memory of a page: fetch it afresh
    }
  }
  std::vector<std::string> check = pages_to_check(allowed_links, index_changed, pages, page_patch, bundles, settings);

  std::map<std::string, PatchRecord> fresh;  // page url -> record parsed from a new body this run
  std::vector<store::PageRow> page_rows;
  std::uint64_t tag = 0;
  std::vector<std::string> by_tag(check.size());
  for (const std::string& link : check) {
    net::Request request{tag, link, {}, {}};
    auto page = pages.find(link);
    if (page != pages.end()) request.conditional = {page->second.etag, page->second.last_modified};
    by_tag[tag++] = link;
    engine.add(request);
  }
  engine.run([&](net::Response&& r) {
    const std::string& url = by_tag[r.tag];
    auto page = pages.find(url);
    if (r.outcome == net::Outcome::not_modified && page != pages.end()) {
      ++result.pages_not_modified;
      store::PageRow row = page->second;
      row.checked_at = now;
      page_rows.push_back(std::move(row));
    } else if (r.outcome == net::Outcome::ok) {
      ++result.pages_fetched;
      PatchRecord record = source::parse_detail_page(rules, r.body, url);
      record.download_url = secrets.stored(record.download_url);
      page_rows.push_back({url, r.validators.etag, r.validators.last_modified, now, now, to_json(record).dump()});
      fresh[url] = std::move(record);
    } else if (r.outcome != net::Outcome::aborted) {
      ++result.page_failures;
      result.warnings.push_back(fmt::format("cannot read patch page {}: {}", util::mask_url(url), r.error));
    }
  });
  result.requests += engine.stats().requests;  // the index included when it was read here

  // 3. Records: fresh bodies win over what earlier runs saw; pages not asked keep their last record.
  std::set<std::string> seen_ids;
  std::vector<const PatchRecord*> kb_notes;
  store::Database::Transaction transaction(catalog.database());
  for (const store::PageRow& row : page_rows) catalog.save_page(row);
  if (index.outcome == net::Outcome::ok) {
    catalog.save_page({index_url, index.validators.etag, index.validators.last_modified, now, now, json(links).dump()});
  } else if (stored_index != pages.end()) {
    store::PageRow row = stored_index->second;
    row.checked_at = now;
    catalog.save_page(row);
  }
  for (const std::string& link : allowed_links) {
    auto fresh_record = fresh.find(link);
    bool is_fresh = fresh_record != fresh.end();
    auto known_record = known.find(link);
    if (!is_fresh && known_record == known.end()) continue;
    const PatchRecord& record = is_fresh ? fresh_record->second : known_record->second;
    if (!record.has_bundle()) {
      if (note_page_without_bundle(settings, link, record, is_fresh, result) && is_fresh) kb_notes.push_back(&record);
      continue;
    }
    if (!seen_ids.insert(record.id).second) {
      result.warnings.push_back(fmt::format("patch {} is listed on more than one page; using the first", record.id));
      continue;
    }
    if (is_fresh) catalog.upsert_patch(record, now);
    result.patches.push_back(record);
  }
  // KB notes are listed (`list`, index.html) so operators see the vendor's notes, but never planned; a
  // note never takes the place of a bundle of the same name.
  for (const PatchRecord* note : kb_notes) {
    if (seen_ids.insert(note->id).second) catalog.upsert_patch(*note, now);
  }
  transaction.commit();
  return result;
}

}  // namespace esxmirror
