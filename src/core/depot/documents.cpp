// Reading a depot's documents: the depot index, each vendor index, each selected metadata zip. Every one
// is asked for conditionally; an unchanged one (304) is taken from the catalog (index documents: their
// bytes; metadata zips: what they held when they were read), so a night with nothing new reads no zip.
#include <filesystem>

#include <fmt/format.h>

#include "core/depot/depot_context.hpp"
#include "esxmirror/core/engine_fetcher.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/util/hash.hpp"

namespace esxmirror {

namespace fs = std::filesystem;
namespace depot = source::depot;

namespace {

// Runs `requests` through the depot's fetcher; responses in request order.
std::vector<net::Response> fetch_all(DepotContext& context, EngineFetcher& fetcher,
                                     std::vector<net::Request> requests) {
  std::vector<net::Response> responses(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) requests[i].tag = i;
  const std::uint64_t sent_before = fetcher.requests();
  fetcher.fetch(std::move(requests), [&](net::Response&& r) { responses[r.tag] = std::move(r); });
  context.outcome.requests += fetcher.requests() - sent_before;
  context.report.requests += fetcher.requests() - sent_before;
  for (const net::Response& r : responses) {
    if (r.outcome == net::Outcome::aborted) {
      throw Error(ExitCode::interrupted, "interrupted while reading the depot's documents");
    }
    if (r.outcome == net::Outcome::ok) ++context.outcome.documents_fetched;
    if (r.outcome == net::Outcome::not_modified) ++context.outcome.documents_not_modified;
  }
  return responses;
}

net::Validators validators_of(const store::DocumentRow& row) { return {row.etag, row.last_modified}; }

const store::DocumentRow* known_row(const std::map<std::string, store::DocumentRow>& known,
                                    const std::string& relpath) {
  auto row = known.find(relpath);
  return row == known.end() ? nullptr : &row->second;
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

store::DocumentRow document_row(DepotContext& context, const std::string& relpath, store::DocumentKind kind,
                                const std::string& url, const net::Response& r, std::optional<std::string> body) {
  store::DocumentRow row;
  row.relpath = relpath;
  row.kind = kind;
  row.url = context.stored(url);
  row.etag = r.validators.etag;
  row.last_modified = r.validators.last_modified;
  row.checked_at = row.changed_at = context.now();
  row.sha256 = body ? util::sha256_hex(*body) : r.digests.sha256;
  row.size = body ? static_cast<std::int64_t>(body->size()) : static_cast<std::int64_t>(r.bytes);
  row.body = std::move(body);
  return row;
}

// A small document (index XML) through its response: the new bytes, or the stored ones on a 304.
std::optional<std::string> document_body(DepotContext& context, const std::string& relpath, const net::Response& r,
                                         const std::map<std::string, store::DocumentRow>& known) {
  auto stored = known.find(relpath);
  if (r.outcome == net::Outcome::not_modified && stored != known.end() && stored->second.body) {
    context.catalog.touch_document(relpath, context.now());
    return stored->second.body;
  }
  if (r.outcome == net::Outcome::ok) return r.body;
  return std::nullopt;
}

store::MetadataContents contents_of(DepotContext& context, const depot::DepotLayout& layout, const std::string& zip_url,
                                    const std::string& zip_shown, const depot::Metadata& metadata) {
  store::MetadataContents contents;
  std::map<std::string, std::string> relpath_of;  // VIB id -> relpath (inside the depot only)
  for (const depot::Vib& vib : metadata.vibs) {
    depot::Placement placed = layout.place(zip_url, vib.relative_path, zip_shown);
    if (!placed.inside) {
      context.warn(fmt::format("VIB {} of {} is outside the depot ({}); not mirrored", vib.id, zip_shown,
                               context.shown(placed.url)));
      continue;
    }
    relpath_of.emplace(vib.id, placed.relative_path);
    contents.vibs.push_back({placed.relative_path, vib.id, context.stored(placed.url),
                             static_cast<std::int64_t>(vib.packed_size), vib.sha256});
  }
  for (const depot::Bulletin& b : metadata.bulletins) {
    store::BulletinRow row{b.id, b.vendor, b.summary, b.severity, b.category, b.release_type, {}, {}, {}};
    if (!b.release_date.empty()) row.release_date = b.release_date;
    for (const depot::Platform& p : b.platforms) {
      if (std::find(row.versions.begin(), row.versions.end(), p.version) == row.versions.end()) {
        row.versions.push_back(p.version);
      }
    }
    for (const std::string& id : b.vib_ids) {
      auto it = relpath_of.find(id);
      if (it != relpath_of.end()) row.vibs.push_back(it->second);
    }
    contents.bulletins.push_back(std::move(row));
  }
  for (const std::string& warning : metadata.warnings) context.warn(warning);
  return contents;
}

}  // namespace

DepotSnapshot read_depot(DepotContext& context, std::optional<net::Response> index) {
  const DepotSource& source = context.source;
  const std::string index_shown = context.shown(source.request_url);
  depot::DepotLayout layout(source.request_url, index_shown);
  std::map<std::string, store::DocumentRow> known = context.catalog.documents();

  // One engine for the walk: the documents share its connections.
  EngineFetcher fetcher(context.settings.network, context.settings.retry, context.settings.page_jobs);
  DepotSnapshot snapshot;
  snapshot.index_relpath = layout.index_file();
  if (index) {  // read by the caller to tell the source's kind: counted here
    context.outcome.requests += static_cast<std::uint64_t>(index->attempts);
    context.report.requests += static_cast<std::uint64_t>(index->attempts);
    if (index->outcome == net::Outcome::ok) ++context.outcome.documents_fetched;
  } else {
    net::Request request{0, source.stored_url, {}, {}};
    auto row = known.find(snapshot.index_relpath);
    if (row != known.end() && row->second.body) request.conditional = validators_of(row->second);
    index = std::move(fetch_all(context, fetcher, {request}).front());
  }
  std::optional<std::string> index_body = document_body(context, snapshot.index_relpath, *index, known);
  if (!index_body) throw Error(ExitCode::source, index_failure(index_shown, *index));
  depot::DepotIndex parsed;
  try {
    parsed = depot::parse_depot_index(*index_body, index_shown);
  } catch (const depot::FormatError& e) {
    throw Error(ExitCode::source, fmt::format("{} is not a depot index: {}", index_shown, e.what()));
  }
  if (index->outcome == net::Outcome::ok) {
    context.catalog.save_document(document_row(context, snapshot.index_relpath, store::DocumentKind::depot_index,
                                               source.request_url, *index, index_body));
  }
  snapshot.index_body = *index_body;

  // The vendor indexes, all at once.
  std::vector<net::Request> requests;
  for (const depot::Vendor& vendor : parsed.vendors) {
    depot::Placement placed = layout.place(source.request_url, vendor.index_reference(), index_shown);
    if (!placed.inside) {
      context.warn(fmt::format("{}: the index of vendor {} is outside the depot ({}); not mirrored", index_shown,
                               vendor.code, context.shown(placed.url)));
      continue;
    }
    VendorSnapshot v{vendor, placed.relative_path, placed.url, std::nullopt, {}};
    net::Request request{0, context.stored(v.url), {}, {}};
    auto row = known.find(v.relpath);
    if (row != known.end() && row->second.body) request.conditional = validators_of(row->second);
    requests.push_back(std::move(request));
    snapshot.vendors.push_back(std::move(v));
  }
  std::vector<net::Response> vendor_responses = fetch_all(context, fetcher, std::move(requests));

  depot::Selection selection{context.settings.versions, context.settings.depot_products};
  struct ZipWanted {
    std::string relpath, url, shown, version, product;
  };
  std::vector<ZipWanted> zips;
  std::set<std::string> zip_seen;
  for (std::size_t i = 0; i < snapshot.vendors.size(); ++i) {
    VendorSnapshot& v = snapshot.vendors[i];
    const net::Response& r = vendor_responses[i];
    const std::string shown = context.shown(v.url);
    v.body = document_body(context, v.relpath, r, known);
    if (!v.body) {
      context.outcome.failed_documents.push_back(fmt::format("cannot read the vendor index {}: {}", shown,
                                                             r.error.empty() ? net::to_string(r.outcome) : r.error));
      continue;
    }
    try {
      depot::VendorIndex vendor_index = depot::parse_vendor_index(*v.body, shown);
      v.selected = depot::select_metadata(vendor_index, selection);
      for (const depot::MetadataEntry& entry : v.selected) {
        depot::Placement placed = layout.place(v.url, entry.url, shown);
        if (!placed.inside) {
          context.warn(
              fmt::format("{}: metadata {} is outside the depot; not mirrored", shown, context.shown(placed.url)));
          continue;
        }
        snapshot.entry_zip[v.relpath + "\n" + entry.url] = placed.relative_path;
        if (zip_seen.insert(placed.relative_path).second) {
          zips.push_back(
              {placed.relative_path, placed.url, context.shown(placed.url), entry.version, entry.product_id});
        }
      }
    } catch (const depot::FormatError& e) {
      context.outcome.failed_documents.push_back(e.what());
      v.body.reset();  // nothing of it is used; the published copy (if any) stays
      continue;
    }
    if (r.outcome == net::Outcome::ok) {
      context.catalog.save_document(
          document_row(context, v.relpath, store::DocumentKind::vendor_index, v.url, r, v.body));
    }
  }

  // The selected metadata zips, all at once, into the cache (a check asks by HEAD instead).
  requests.clear();
  for (const ZipWanted& zip : zips) {
    net::Request request{0, context.stored(zip.url), {}, context.download_dir / zip.relpath};
    auto row = known.find(zip.relpath);
    std::error_code ec;
    if (row != known.end() && fs::is_regular_file(context.cache_dir() / zip.relpath, ec)) {
      request.conditional = validators_of(row->second);
    }
    if (context.settings.probe_metadata) request = metadata_probe(std::move(request), known_row(known, zip.relpath));
    requests.push_back(std::move(request));
  }
  std::vector<net::Response> zip_responses = fetch_all(context, fetcher, requests);
  for (std::size_t i = 0; i < zips.size(); ++i) {
    const ZipWanted& zip = zips[i];
    const net::Response& r = zip_responses[i];
    MetadataSnapshot m{zip.relpath, zip.version, zip.product, {}, {}};
    auto row = known.find(zip.relpath);
    auto seen = [&](const char* state, std::optional<std::uint64_t> size) {
      context.outcome.metadata.push_back({zip.relpath, zip.version, zip.product, state, size});
    };
    bool unchanged = r.outcome == net::Outcome::not_modified && row != known.end();
    if (context.settings.probe_metadata && r.outcome == net::Outcome::ok) {
      unchanged = probe_unchanged(r, known_row(known, zip.relpath));
      if (!unchanged) {
        seen(row == known.end() ? "new" : "changed", r.content_length);
        continue;
      }
    }
    if (unchanged) {
      context.catalog.touch_document(zip.relpath, context.now());
      m.sha256 = row->second.sha256;
      m.contents = context.catalog.metadata_contents(zip.relpath);
      snapshot.metadata.push_back(std::move(m));
      seen("unchanged", static_cast<std::uint64_t>(row->second.size));
      continue;
    }
    if (r.outcome != net::Outcome::ok) {
      context.outcome.failed_documents.push_back(
          fmt::format("cannot read the metadata zip {}: {}", zip.shown, r.error));
      seen("failed", std::nullopt);
      continue;
    }
    try {
      depot::Metadata metadata = depot::read_metadata_zip(requests[i].file, zip.shown);
      m.sha256 = r.digests.sha256;
      m.contents = contents_of(context, layout, zip.url, zip.shown, metadata);
    } catch (const depot::FormatError& e) {
      // Not kept: the next run asks for it whole again. What is published from an older copy stays.
      std::error_code ignored;
      fs::remove(requests[i].file, ignored);
      context.outcome.failed_documents.push_back(fmt::format("{}; nothing is published from it", e.what()));
      seen("failed", r.bytes);
      continue;
    }
    context.catalog.set_metadata_contents(zip.relpath, m.contents, context.now());
    context.catalog.save_document(document_row(context, zip.relpath, store::DocumentKind::metadata, zip.url, r, {}));
    snapshot.metadata.push_back(std::move(m));
    seen("read", r.bytes);
  }
  return snapshot;
}

}  // namespace esxmirror
