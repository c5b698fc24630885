// The depot's document walk: three rounds of requests (the depot index, the vendor indexes, the selected
// metadata zips), each round sent at once so the documents share the fetcher's connections.
#include "esxmirror/source/depot_walk.hpp"

#include <set>

#include <fmt/format.h>

#include "esxmirror/core/error.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::source::depot {

namespace {

// Sends one round; answers in request order, counted.
std::vector<net::Response> fetch_round(Fetcher& fetcher, std::vector<net::Request> requests, DepotWalk& walk) {
  std::vector<net::Response> responses(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) requests[i].tag = i;
  fetcher.fetch(std::move(requests), [&](net::Response&& r) { responses[r.tag] = std::move(r); });
  for (const net::Response& r : responses) {
    if (r.outcome == net::Outcome::aborted) {
      throw Error(ExitCode::interrupted, "interrupted while reading the depot's documents");
    }
    if (r.outcome == net::Outcome::ok) ++walk.documents_fetched;
    if (r.outcome == net::Outcome::not_modified) ++walk.documents_not_modified;
  }
  return responses;
}

// Why the depot index could not be read, and what to do: the texts operators search for.
std::string index_failure(const std::string& shown, const net::Response& r) {
  if (r.outcome == net::Outcome::auth && r.status == 401) {
    return fmt::format(
        "the depot index {} answered HTTP 401: the download token has expired; put a new one in "
        "--token-file (or ESXMIRROR_TOKEN) and run again",
        shown);
  }
  if (r.outcome == net::Outcome::auth && r.status == 403) {
    return fmt::format(
        "the depot index {} answered HTTP 403: the download token is invalid, missing, or this site "
        "is not entitled (a new token can take a while to become active); check --token-file",
        shown);
  }
  if (r.outcome == net::Outcome::auth) {
    return fmt::format("the depot index {} refused access (HTTP {}): check the proxy credentials", shown, r.status);
  }
  if (r.outcome == net::Outcome::not_found) {
    return fmt::format("the depot index {} does not exist (HTTP {}): check --source", shown, r.status);
  }
  return fmt::format("cannot read the depot index {}: {}", shown, r.error);
}

// A request for a small document, conditional on what is remembered of it (only when its bytes are).
net::Request document_request(const std::string& stored_url, const std::string& relpath, const WalkMemory& memory) {
  net::Request request{0, stored_url, {}, {}};
  auto known = memory.documents.find(relpath);
  if (known != memory.documents.end() && known->second.body) request.conditional = known->second.validators;
  return request;
}

// The document through its answer: the new bytes, or on a 304 the remembered ones.
WalkedDocument walked(std::string relpath, std::string url, net::Response response, const WalkMemory& memory) {
  WalkedDocument document{std::move(relpath), std::move(url), std::move(response), std::nullopt, false};
  auto known = memory.documents.find(document.relpath);
  if (document.response.outcome == net::Outcome::not_modified && known != memory.documents.end() &&
      known->second.body) {
    document.body = known->second.body;
    document.remembered = true;
  } else if (document.response.outcome == net::Outcome::ok) {
    document.body = document.response.body;
  }
  return document;
}

}  // namespace

DepotWalk walk_depot(const WalkPolicy& policy, const WalkMemory& memory, const util::Secrets& secrets, Fetcher& fetcher,
                     std::optional<net::Response> index) {
  auto stored = [&](const std::string& url) { return secrets.stored(url); };
  auto shown = [&](const std::string& url) { return util::mask_url(secrets.stored(url)); };
  const std::string index_shown = shown(policy.index_url);
  const DepotLayout layout(policy.index_url, index_shown);
  DepotWalk walk;

  // The depot index.
  if (index) {
    if (index->outcome == net::Outcome::ok) ++walk.documents_fetched;
  } else {
    index = std::move(
        fetch_round(fetcher, {document_request(stored(policy.index_url), layout.index_file(), memory)}, walk).front());
  }
  walk.index = walked(layout.index_file(), policy.index_url, std::move(*index), memory);
  if (!walk.index.body) throw Error(ExitCode::source, index_failure(index_shown, walk.index.response));
  DepotIndex parsed;
  try {
    parsed = parse_depot_index(*walk.index.body, index_shown);
  } catch (const FormatError& e) {
    throw Error(ExitCode::source, fmt::format("{} is not a depot index: {}", index_shown, e.what()));
  }

  // The vendor indexes, all at once.
  std::vector<net::Request> requests;
  for (const Vendor& vendor : parsed.vendors) {
    const Placement placed = layout.place(policy.index_url, vendor.index_reference(), index_shown);
    if (!placed.inside) {
      walk.warnings.push_back(fmt::format("{}: the index of vendor {} is outside the depot ({}); not mirrored",
                                          index_shown, vendor.code, shown(placed.url)));
      continue;
    }
    requests.push_back(document_request(stored(placed.url), placed.relative_path, memory));
    walk.vendors.push_back({vendor, {placed.relative_path, placed.url, {}, std::nullopt, false}, {}});
  }
  std::vector<net::Response> answers = fetch_round(fetcher, std::move(requests), walk);
  std::set<std::string> zip_seen;
  for (std::size_t i = 0; i < walk.vendors.size(); ++i) {
    WalkedVendor& v = walk.vendors[i];
    v.index = walked(v.index.relpath, v.index.url, std::move(answers[i]), memory);
    const std::string vendor_shown = shown(v.index.url);
    if (!v.index.body) {
      const net::Response& r = v.index.response;
      walk.failures.push_back(fmt::format("cannot read the vendor index {}: {}", vendor_shown,
                                          r.error.empty() ? net::to_string(r.outcome) : r.error));
      continue;
    }
    try {
      v.selected = select_metadata(parse_vendor_index(*v.index.body, vendor_shown), policy.selection);
      for (const MetadataEntry& entry : v.selected) {
        const Placement placed = layout.place(v.index.url, entry.url, vendor_shown);
        if (!placed.inside) {
          walk.warnings.push_back(
              fmt::format("{}: metadata {} is outside the depot; not mirrored", vendor_shown, shown(placed.url)));
          continue;
        }
        walk.entry_zip[v.index.relpath + "\n" + entry.url] = placed.relative_path;
        if (zip_seen.insert(placed.relative_path).second) {
          walk.zips.push_back({placed.relative_path,
                               placed.url,
                               shown(placed.url),
                               entry.version,
                               entry.product_id,
                               {},
                               {},
                               std::nullopt,
                               std::nullopt});
        }
      }
    } catch (const FormatError& e) {
      walk.failures.push_back(e.what());
      v.index.body.reset();  // nothing of it is used; the published copy (if any) stays
    }
  }

  // The selected metadata zips, all at once, each to its file.
  requests.clear();
  for (WalkedZip& zip : walk.zips) {
    net::Request request{0, stored(zip.url), {}, policy.download_dir / zip.relpath};
    auto known = memory.documents.find(zip.relpath);
    if (known != memory.documents.end() && known->second.cached) request.conditional = known->second.validators;
    if (policy.zip_request) request = policy.zip_request(std::move(request), zip.relpath);
    zip.request = request;
    requests.push_back(std::move(request));
  }
  answers = fetch_round(fetcher, std::move(requests), walk);
  for (std::size_t i = 0; i < walk.zips.size(); ++i) {
    WalkedZip& zip = walk.zips[i];
    zip.response = std::move(answers[i]);
    if (!policy.read_zips || zip.response.outcome != net::Outcome::ok) continue;
    try {
      zip.metadata = read_metadata_zip(zip.request.file, zip.shown);
    } catch (const FormatError& e) {
      zip.error = e.what();
    }
  }
  return walk;
}

}  // namespace esxmirror::source::depot
