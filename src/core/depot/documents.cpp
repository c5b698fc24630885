// Reading a depot's documents into the catalog: source::depot::walk_depot asks for each conditionally;
// here what it read is recorded, and an unchanged one (304) is taken from the catalog (index documents:
// their bytes; metadata zips: what they held when they were read), so a night with nothing new reads no zip.
#include <filesystem>

#include <fmt/format.h>

#include "core/depot/depot_context.hpp"
#include "esxmirror/core/engine_fetcher.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/source/depot_walk.hpp"
#include "esxmirror/util/hash.hpp"

namespace esxmirror {

namespace fs = std::filesystem;
namespace depot = source::depot;

namespace {

net::Validators validators_of(const store::DocumentRow& row) { return {row.etag, row.last_modified}; }

const store::DocumentRow* known_row(const std::map<std::string, store::DocumentRow>& known,
                                    const std::string& relpath) {
  auto row = known.find(relpath);
  return row == known.end() ? nullptr : &row->second;
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

// What the catalog keeps of each document, as the walk's memory: a zip counts as cached only while its
// last copy is in the cache directory.
depot::WalkMemory walk_memory(const DepotContext& context, const std::map<std::string, store::DocumentRow>& known) {
  depot::WalkMemory memory;
  for (const auto& [relpath, row] : known) {
    std::error_code ec;
    const bool cached =
        row.kind == store::DocumentKind::metadata && fs::is_regular_file(context.cache_dir() / relpath, ec);
    memory.documents.emplace(relpath, depot::WalkMemory::Document{validators_of(row), row.body, cached});
  }
  return memory;
}

// An index document the walk read: a 304 touches its row, new bytes replace it.
void record_document(DepotContext& context, const depot::WalkedDocument& document, store::DocumentKind kind) {
  if (document.remembered) context.catalog.touch_document(document.relpath, context.now());
  if (document.response.outcome == net::Outcome::ok && document.body) {
    context.catalog.save_document(
        document_row(context, document.relpath, kind, document.url, document.response, document.body));
  }
}

}  // namespace

DepotSnapshot read_depot(DepotContext& context, std::optional<net::Response> index) {
  const DepotSource& source = context.source;
  const std::map<std::string, store::DocumentRow> known = context.catalog.documents();

  // One engine for the walk: the documents share its connections.
  EngineFetcher fetcher(context.settings.network, context.settings.retry, context.settings.page_jobs);
  if (index) {  // read by the caller to tell the source's kind: counted here
    context.outcome.requests += static_cast<std::uint64_t>(index->attempts);
    context.report.requests += static_cast<std::uint64_t>(index->attempts);
  }
  depot::WalkPolicy policy{source.request_url,
                           {context.settings.versions, context.settings.depot_products},
                           context.download_dir,
                           !context.settings.probe_metadata,
                           {}};
  if (context.settings.probe_metadata) {
    policy.zip_request = [&](net::Request request, const std::string& relpath) {
      return metadata_probe(std::move(request), known_row(known, relpath));
    };
  }
  const depot::DepotWalk walk = depot::walk_depot(policy, walk_memory(context, known), context.settings.network.secrets,
                                                  fetcher, std::move(index));
  context.outcome.requests += fetcher.requests();
  context.report.requests += fetcher.requests();
  context.outcome.documents_fetched += walk.documents_fetched;
  context.outcome.documents_not_modified += walk.documents_not_modified;
  for (const std::string& warning : walk.warnings) context.warn(warning);
  for (const std::string& failure : walk.failures) context.outcome.failed_documents.push_back(failure);

  DepotSnapshot snapshot;
  snapshot.index_relpath = walk.index.relpath;
  snapshot.index_body = *walk.index.body;
  record_document(context, walk.index, store::DocumentKind::depot_index);
  for (const depot::WalkedVendor& v : walk.vendors) {
    record_document(context, v.index, store::DocumentKind::vendor_index);
    snapshot.vendors.push_back({v.vendor, v.index.relpath, v.index.url, v.index.body, v.selected});
  }
  snapshot.entry_zip = walk.entry_zip;

  const depot::DepotLayout layout(source.request_url, context.shown(source.request_url));
  for (const depot::WalkedZip& zip : walk.zips) {
    const net::Response& r = zip.response;
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
    if (!zip.metadata) {
      // Not kept: the next run asks for it whole again. What is published from an older copy stays.
      std::error_code ignored;
      fs::remove(zip.request.file, ignored);
      context.outcome.failed_documents.push_back(fmt::format("{}; nothing is published from it", *zip.error));
      seen("failed", r.bytes);
      continue;
    }
    m.sha256 = r.digests.sha256;
    m.contents = contents_of(context, layout, zip.url, zip.shown, *zip.metadata);
    context.catalog.set_metadata_contents(zip.relpath, m.contents, context.now());
    context.catalog.save_document(document_row(context, zip.relpath, store::DocumentKind::metadata, zip.url, r, {}));
    snapshot.metadata.push_back(std::move(m));
    seen("read", r.bytes);
  }
  return snapshot;
}

}  // namespace esxmirror
