#include "esxmirror/source/legacy_crawl.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "esxmirror/core/error.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::source {

namespace {

std::string index_failure_message(const std::string& url, const net::Response& response) {
  std::string masked = util::mask_url(url);
  switch (response.outcome) {
    case net::Outcome::auth:
      return fmt::format(
          "the patch index {} refused access (HTTP {}): check the credentials (--netrc) and "
          "that the account is entitled to these downloads",
          masked, response.status);
    case net::Outcome::not_found:
      return fmt::format("the patch index {} does not exist (HTTP {}): check --source", masked, response.status);
    default:
      return fmt::format("cannot read the patch index {}: {}", masked, response.error);
  }
}

bool is_settled(const std::string& link, const CrawlMemory& memory) {
  auto page = memory.pages.find(link);
  if (page == memory.pages.end()) return false;
  // A KB note without a bundle has nothing to fetch: settled like a placed patch.
  return !page->second.record.has_bundle() || memory.settled.count(page->second.record.id) > 0;
}

// Which detail pages this run asks about. Pages never seen, pages whose patch is not settled, and every
// page when the index changed are always asked; settled pages in rolling slices, the least recently
// checked first, so each is asked within revalidate_window_runs runs.
std::vector<std::string> pages_to_check(const std::vector<std::string>& links, bool index_changed,
                                        const CrawlMemory& memory, const CrawlPolicy& policy) {
  std::vector<std::string> check;
  std::vector<std::pair<std::int64_t, std::string>> settled;  // (checked_at, url)
  for (const std::string& link : links) {
    if (!index_changed && is_settled(link, memory)) {
      settled.emplace_back(memory.pages.at(link).checked_at, link);
    } else {
      check.push_back(link);
    }
  }
  std::size_t window = static_cast<std::size_t>(std::max(1, policy.revalidate_window_runs));
  std::size_t slice = std::max<std::size_t>((settled.size() + window - 1) / window,
                                            static_cast<std::size_t>(std::max(0, policy.revalidate_min_pages)));
  slice = std::min(slice, settled.size());
  std::partial_sort(settled.begin(), settled.begin() + static_cast<std::ptrdiff_t>(slice), settled.end());
  for (std::size_t i = 0; i < slice; ++i) check.push_back(settled[i].second);
  return check;
}

// A page that yields no bundle is a KB note, unless its download link was refused (file://, ftp://...):
// for a selected version that is a patch we cannot mirror, so it counts as a page failure. A fresh page
// with no version on it at all (garbage, a changed layout) is worth a warning too. True for a KB note.
bool note_page_without_bundle(const CrawlPolicy& policy, const std::string& page_url, const PatchRecord& record,
                              bool is_fresh, CrawlResult& result) {
  const bool selected = lists_any_version(record.versions, policy.versions);
  if (record.refused_download) {
    if (selected) {
      ++result.page_failures;
      result.warnings.push_back(fmt::format("patch page {}: {}", util::mask_url(page_url), *record.refused_download));
    }
    return false;
  }
  if (is_fresh && record.versions.empty()) {
    result.warnings.push_back(
        fmt::format("patch page {} shows no patch (no ESX version found); if the layout "
                    "changed, check the rules with `esxmirror rules test`",
                    util::mask_url(page_url)));
  }
  return !record.versions.empty();
}

// Links to other hosts are refused unless allowed (a hostile or hijacked index cannot send us anywhere).
// The first few are named; a flood of them (a hostile index) is counted, not logged line by line.
std::vector<std::string> allowed_links(const std::vector<std::string>& links, const CrawlPolicy& policy,
                                       CrawlResult& result) {
  constexpr std::size_t kNamedOtherHostLinks = 20;
  std::set<std::string> hosts(policy.allowed_hosts.begin(), policy.allowed_hosts.end());
  if (auto own = util::url_host(policy.index_url)) hosts.insert(*own);
  std::vector<std::string> allowed;
  std::size_t other_host_links = 0;
  for (const std::string& link : links) {
    auto host = util::url_host(link);
    if (host && hosts.count(*host)) {
      allowed.push_back(link);
    } else if (++other_host_links <= kNamedOtherHostLinks) {
      result.warnings.push_back(fmt::format("ignoring link to another host: {} (add it to allowed_hosts to follow it)",
                                            util::mask_url(link)));
    }
  }
  if (other_host_links > kNamedOtherHostLinks) {
    result.warnings.push_back(fmt::format("ignoring {} more links to other hosts on the index {}",
                                          other_host_links - kNamedOtherHostLinks, util::mask_url(policy.index_url)));
  }
  return allowed;
}

net::Request page_request(std::uint64_t tag, const std::string& url, const CrawlMemory& memory) {
  net::Request request{tag, url, {}, {}};
  if (auto page = memory.pages.find(url); page != memory.pages.end()) request.conditional = page->second.validators;
  return request;
}

// The index's links, fresh or remembered; its read goes into `result`.
std::vector<std::string> read_index(const Rules& rules, const CrawlPolicy& policy, const CrawlMemory& memory,
                                    const util::Secrets& secrets, net::Response index, CrawlResult& result) {
  if (index.outcome == net::Outcome::aborted) throw Error(ExitCode::interrupted, "interrupted while reading the index");
  if (index.outcome == net::Outcome::not_modified && memory.index) {
    ++result.pages_not_modified;
    result.index = CrawlResult::Read{policy.index_url, memory.index->validators, false};
    return memory.index->links;
  }
  if (index.outcome != net::Outcome::ok) throw Error(ExitCode::source, index_failure_message(policy.index_url, index));
  ++result.pages_fetched;
  std::vector<std::string> links = extract_index_links(rules, index.body, policy.index_url);
  for (std::string& link : links) link = secrets.stored(link);
  if (links.empty()) {
    throw Error(ExitCode::source,
                fmt::format("{} is not a patch index: no links to patch pages found (check --source, or the "
                            "index_link rule with `esxmirror rules test`)",
                            util::mask_url(policy.index_url)));
  }
  result.index = CrawlResult::Read{policy.index_url, index.validators, true};
  return links;
}

// Asks for the index (unless the caller read it) together with the pages this run asks about if the
// index is unchanged: a night with nothing new is one round trip, not one for the index and more for
// the pages. A changed index asks about every page it links to, so those early answers are used either
// way (an answer for a page the new index no longer links to is dropped). Returns the index's response
// and the early pages' responses by URL.
net::Response read_index_with_known_pages(const CrawlPolicy& policy, const CrawlMemory& memory, Fetcher& fetcher,
                                          std::optional<net::Response> prefetched,
                                          std::map<std::string, net::Response>& pages) {
  if (prefetched) return std::move(*prefetched);
  constexpr std::uint64_t kIndexTag = 0;
  std::vector<std::string> early;
  if (memory.index) {
    CrawlResult unused;  // other-host warnings are given once, for the links the index has now
    early = pages_to_check(allowed_links(memory.index->links, policy, unused), false, memory, policy);
  }
  std::vector<net::Request> requests{{kIndexTag, policy.index_url, {}, {}}};
  if (memory.index) requests.front().conditional = memory.index->validators;
  for (std::size_t i = 0; i < early.size(); ++i) requests.push_back(page_request(i + 1, early[i], memory));
  net::Response index;
  fetcher.fetch(std::move(requests), [&](net::Response&& r) {
    if (r.tag == kIndexTag) {
      index = std::move(r);
    } else {
      std::string url = early[r.tag - 1];
      pages.emplace(std::move(url), std::move(r));
    }
  });
  return index;
}

// Turns the links, in index order, into the result's patches as soon as every link before them has
// been answered (or was not asked), so that a patch can be handed on while later pages are still in
// flight and the first page listing an id still wins.
class RecordsInLinkOrder {
 public:
  RecordsInLinkOrder(const CrawlPolicy& policy, const CrawlMemory& memory, const std::vector<std::string>& links,
                     const std::map<std::string, PatchRecord>& fresh, const PatchFound& on_patch, CrawlResult& result)
      : policy_(policy), memory_(memory), links_(links), fresh_(fresh), on_patch_(on_patch), result_(result) {}

  void expect(const std::string& url) { ++unanswered_[url]; }
  void answered(const std::string& url) {
    if (auto it = unanswered_.find(url); it != unanswered_.end() && --it->second == 0) unanswered_.erase(it);
  }

  // Takes every link from the cursor on whose page is settled for this run.
  void advance() {
    for (; next_ < links_.size() && !unanswered_.count(links_[next_]); ++next_) take(links_[next_]);
  }

  // KB notes are listed (`list`, index.html) so operators see the vendor's notes, but never planned; a
  // note never takes the place of a bundle of the same name.
  void finish() {
    unanswered_.clear();  // every request has been answered; a fetcher that dropped one loses nothing here
    advance();
    for (const PatchRecord* note : kb_notes_) {
      if (seen_ids_.insert(note->id).second) result_.fresh.push_back(*note);
    }
  }

 private:
  // Fresh bodies win over what earlier runs saw; pages not asked keep their last record.
  void take(const std::string& link) {
    auto fresh_record = fresh_.find(link);
    bool is_fresh = fresh_record != fresh_.end();
    auto known = memory_.pages.find(link);
    if (!is_fresh && known == memory_.pages.end()) return;
    const PatchRecord& record = is_fresh ? fresh_record->second : known->second.record;
    if (!record.has_bundle()) {
      if (note_page_without_bundle(policy_, link, record, is_fresh, result_) && is_fresh) kb_notes_.push_back(&record);
      return;
    }
    if (!seen_ids_.insert(record.id).second) {
      result_.warnings.push_back(fmt::format("patch {} is listed on more than one page; using the first", record.id));
      return;
    }
    if (is_fresh) result_.fresh.push_back(record);
    result_.patches.push_back(record);
    if (on_patch_) on_patch_(record);
  }

  const CrawlPolicy& policy_;
  const CrawlMemory& memory_;
  const std::vector<std::string>& links_;
  const std::map<std::string, PatchRecord>& fresh_;
  const PatchFound& on_patch_;
  CrawlResult& result_;
  std::map<std::string, int> unanswered_;  // url -> requests for it not answered yet
  std::size_t next_ = 0;                   // links_[next_] is the first not taken
  std::set<std::string> seen_ids_;
  std::vector<const PatchRecord*> kb_notes_;
};

}  // namespace

CrawlResult crawl_legacy_site(const Rules& rules, const CrawlPolicy& policy, const CrawlMemory& memory,
                              const util::Secrets& secrets, Fetcher& fetcher, std::optional<net::Response> index,
                              const PatchFound& on_patch) {
  CrawlResult result;
  std::map<std::string, net::Response> answered;  // page url -> its response, asked with the index
  net::Response index_response = read_index_with_known_pages(policy, memory, fetcher, std::move(index), answered);
  result.links = read_index(rules, policy, memory, secrets, std::move(index_response), result);
  const bool index_changed = result.index->changed;
  std::vector<std::string> links = allowed_links(result.links, policy, result);

  // The detail pages: those not asked with the index are asked now.
  std::vector<std::string> check = pages_to_check(links, index_changed, memory, policy);
  std::vector<net::Request> requests;
  for (std::uint64_t tag = 0; tag < check.size(); ++tag) {
    if (!answered.count(check[tag])) requests.push_back(page_request(tag, check[tag], memory));
  }
  std::map<std::string, PatchRecord> fresh;  // page url -> record parsed from a new body this run
  RecordsInLinkOrder records(policy, memory, links, fresh, on_patch, result);
  for (const std::string& url : check) records.expect(url);
  auto take_page = [&](const std::string& url, net::Response&& r) {
    auto page = memory.pages.find(url);
    if (r.outcome == net::Outcome::not_modified && page != memory.pages.end()) {
      ++result.pages_not_modified;
      result.pages.push_back({{url, page->second.validators, false}, std::nullopt});
    } else if (r.outcome == net::Outcome::ok) {
      ++result.pages_fetched;
      PatchRecord record = parse_detail_page(rules, r.body, url);
      for (Artifact& artifact : record.artifacts) artifact.url = secrets.stored(artifact.url);
      result.pages.push_back({{url, r.validators, true}, record});
      fresh[url] = std::move(record);
    } else if (r.outcome != net::Outcome::aborted) {
      ++result.page_failures;
      result.warnings.push_back(fmt::format("cannot read patch page {}: {}", util::mask_url(url), r.error));
    }
    records.answered(url);
  };
  for (const std::string& url : check) {
    if (auto early = answered.extract(url)) take_page(url, std::move(early.mapped()));
  }
  records.advance();
  if (!requests.empty()) {
    fetcher.fetch(std::move(requests), [&](net::Response&& r) {
      take_page(check[r.tag], std::move(r));
      records.advance();
    });
  }
  records.finish();
  return result;
}

}  // namespace esxmirror::source
