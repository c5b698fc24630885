// `esxmirror check`: each source read as a dry run of sync reads it (the same document walk, on an in-memory
// copy of the state database), then what each selected version holds, counted from that copy.
#include "esxmirror/core/check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "esxmirror/core/discover.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/source_mirror.hpp"
#include "esxmirror/source/depot/error.hpp"
#include "esxmirror/source/depot/selection.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/store/depot_catalog.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace fs = std::filesystem;
namespace depot = source::depot;

namespace {

struct Probe : SourceEnvironment {
  CheckReport& report;
  std::int64_t now() const { return util::to_unix(clock.now()); }
};

bool read_this_run(const MetadataReport& zip) { return zip.state == "unchanged" || zip.state == "read"; }

// A depot's VIBs per selected version, from the zips the probe could read (each VIB once per version).
void count_depot(const Probe& p, SourceCheck& out) {
  store::DepotCatalog catalog(p.db, out.source.name);
  const std::map<std::string, store::VibRow> vibs = catalog.vibs();
  std::map<std::string, store::MetadataContents> contents;
  for (const MetadataReport& zip : out.source.metadata) {
    if (read_this_run(zip)) contents.emplace(zip.path, catalog.metadata_contents(zip.path));
  }
  const fs::path root = p.settings.dest / out.source.name;
  for (const std::string& version : p.settings.versions) {
    VersionCheck v{.version = version};
    std::set<std::string> bulletins, seen;
    for (const MetadataReport& zip : out.source.metadata) {
      if (!depot::version_selects(version, zip.version)) continue;
      ++v.metadata;
      if (!read_this_run(zip)) {
        ++v.metadata_unread;
        v.unread_bytes += zip.size.value_or(0);
        continue;
      }
      const store::MetadataContents& held = contents.at(zip.path);
      for (const store::BulletinRow& b : held.bulletins) bulletins.insert(b.id);
      for (const store::VibRef& vib : held.vibs) {
        if (!seen.insert(vib.relpath).second) continue;
        const auto size = static_cast<std::uint64_t>(vib.size);
        ++v.files;
        v.bytes += size;
        auto row = vibs.find(vib.relpath);
        std::error_code ec;
        if (row != vibs.end() && row->second.state == store::VibState::placed &&
            fs::is_regular_file(root / vib.relpath, ec)) {
          ++v.mirrored;
          v.mirrored_bytes += size;
        } else if (row != vibs.end() && row->second.state == store::VibState::failed &&
                   row->second.next_retry_at.value_or(0) > p.now()) {
          ++v.waiting;
        } else {
          ++v.to_fetch;
          v.fetch_bytes += size;
        }
      }
    }
    v.bulletins = static_cast<int>(bulletins.size());
    out.versions.push_back(std::move(v));
  }
}

// "embeddedEsx 8.0.3" for every entry of the depot's vendor indexes as last read, each once, in order.
std::vector<std::string> depot_offers(store::Database& db, const std::string& name) {
  std::vector<std::string> offers;
  for (const auto& [relpath, row] : store::DepotCatalog(db, name).documents()) {
    if (row.kind != store::DocumentKind::vendor_index || !row.body) continue;
    try {
      for (const depot::MetadataEntry& entry : depot::parse_vendor_index(*row.body, relpath).entries) {
        std::string offer = entry.product_id + " " + entry.version;
        if (std::find(offers.begin(), offers.end(), offer) == offers.end()) offers.push_back(offer);
      }
    } catch (const depot::FormatError&) {
      // named in the source's failed documents already
    }
  }
  return offers;
}

// Sizes of the bundles a sync would download that no earlier run learnt: one HEAD each.
std::uint64_t head_bundles(const Probe& p, std::vector<PatchReport*>& unknown) {
  if (unknown.empty()) return 0;
  net::TransferEngine engine(p.settings.network, p.settings.retry, p.settings.page_jobs);
  for (std::size_t i = 0; i < unknown.size(); ++i) {
    std::optional<PatchRecord> patch = p.catalog.patch(unknown[i]->id);
    if (!patch || !patch->has_bundle()) continue;
    net::Request request{i, patch->bundle().url, {}, {}};
    request.method = net::Method::head;
    engine.add(std::move(request));
  }
  engine.run([&](net::Response&& r) {
    PatchReport& bundle = *unknown[r.tag];
    if (r.outcome == net::Outcome::aborted) return;
    if (r.outcome == net::Outcome::ok && r.content_length) {
      bundle.size = r.content_length;
    } else {
      p.report.warnings.push_back(fmt::format("{}: the size of {} is not known: {}", bundle.id, bundle.url,
                                              r.error.empty() ? "no Content-Length" : r.error));
    }
  });
  if (p.settings.network.stop_flag && p.settings.network.stop_flag->load()) {
    throw Error(ExitCode::interrupted, "interrupted while asking for the bundles' sizes");
  }
  return engine.stats().requests;
}

// A legacy source's bundles per selected version, from what the dry run planned for each patch.
void count_legacy(const Probe& p, std::vector<PatchReport>& planned, SourceCheck& out) {
  std::vector<PatchReport*> unknown;
  for (PatchReport& patch : planned) {
    bool downloads = patch.outcome == PatchOutcome::planned && patch.action != "link";
    if (downloads && !patch.size) unknown.push_back(&patch);
  }
  out.source.requests += head_bundles(p, unknown);
  const std::map<std::string, store::BundleRow> bundles = p.catalog.bundles();
  for (const std::string& version : p.settings.versions) {
    VersionCheck v{.version = version};
    for (const PatchReport& patch : planned) {
      if (std::find(patch.versions.begin(), patch.versions.end(), version) == patch.versions.end()) continue;
      ++v.files;
      auto row = bundles.find(patch.id);
      const std::uint64_t placed_size =
          row != bundles.end() ? static_cast<std::uint64_t>(row->second.size.value_or(0)) : 0;
      if (patch.outcome == PatchOutcome::deferred) {
        ++v.waiting;
      } else if (patch.outcome == PatchOutcome::skipped || patch.action == "link") {
        ++v.mirrored;
        v.mirrored_bytes += placed_size;
        v.bytes += placed_size;
        if (patch.action == "link") ++v.to_link;
      } else {
        ++v.to_fetch;
        if (patch.size) {
          v.fetch_bytes += *patch.size;
          v.bytes += *patch.size;
        } else {
          ++v.sizes_unknown;
        }
      }
    }
    out.versions.push_back(std::move(v));
  }
}

// The versions of the patches whose pages are on the source's host, sorted.
std::vector<std::string> legacy_offers(store::Catalog& catalog, const std::string& source_url) {
  std::set<std::string> versions;
  const std::optional<std::string> host = util::url_host(source_url);
  for (const store::CatalogEntry& entry : catalog.entries()) {
    if (util::url_host(entry.patch.page_url) != host) continue;
    versions.insert(entry.patch.versions.begin(), entry.patch.versions.end());
  }
  return {versions.begin(), versions.end()};
}

// What a source offers and holds, once it has been read (`run`: what reading it did) as a dry run of sync
// reads it. A depot is partial when a document could not be read, a legacy site when a page could not; an
// upstream mirror says so itself. The requests of a read are its source's.
void count_source(const Probe& p, const SourceMirror& source, RunReport& run, SourceCheck& out) {
  p.report.warnings.insert(p.report.warnings.end(), run.warnings.begin(), run.warnings.end());
  switch (source.kind()) {
    case SourceKind::depot:
      out.source.exit_code = out.source.failed_documents.empty() ? ExitCode::ok : ExitCode::partial;
      out.offered = depot_offers(p.db, source.name());
      count_depot(p, out);
      break;
    case SourceKind::mirror: {
      // An upstream esxmirror's legacy tree: sizes from its file lists, counted as a legacy source's bundles.
      std::set<std::string> versions;
      for (const PatchReport& patch : run.patches) versions.insert(patch.versions.begin(), patch.versions.end());
      out.offered.assign(versions.begin(), versions.end());
      count_legacy(p, run.patches, out);
      break;
    }
    default:
      out.source.exit_code = out.source.pages_failed ? ExitCode::partial : ExitCode::ok;
      out.offered = legacy_offers(p.catalog, source.stored_url());
      count_legacy(p, run.patches, out);
  }
}

SourceCheck probe_source(const Probe& p, const std::string& url) {
  SourceCheck out;
  out.source.url = util::mask_url(p.settings.network.secrets.stored(url));
  std::vector<SourceReport> opened;
  for (const SourceCheck& other : p.report.sources) opened.push_back(other.source);
  try {
    std::unique_ptr<SourceMirror> source = open_source(p, url, opened, out.source);
    RunReport run;
    source->mirror(run, out.source);
    count_source(p, *source, run, out);
  } catch (const Error& e) {
    if (e.code() != ExitCode::source) throw;
    out.source.exit_code = e.code();
    out.source.message = e.what();
  }
  return out;
}

}  // namespace

CheckReport check(const SyncSettings& given, const util::Clock& clock) {
  const auto started = std::chrono::steady_clock::now();
  SyncSettings settings = given;
  settings.dry_run = true;  // nothing placed, published or recorded; the state database only in memory
  source::Rules rules(settings.rules);
  for (const std::string& url : settings.sources) {
    SyncSettings one = settings;
    one.source_url = url;
    check_source(one);
  }
  store::Database db(settings.state_path(), store::Database::Mode::in_memory);
  store::Catalog catalog(db);
  CheckReport report;
  Probe probe{{settings, rules, db, catalog, clock}, report};
  for (const std::string& url : settings.sources) {
    SourceCheck checked = probe_source(probe, url);
    report.requests += checked.source.requests;
    report.sources.push_back(std::move(checked));
  }
  bool unreadable = false, incomplete = false;
  for (const SourceCheck& s : report.sources) {
    unreadable = unreadable || s.source.exit_code == ExitCode::source;
    incomplete = incomplete || s.source.exit_code == ExitCode::partial;
  }
  report.exit_code = unreadable ? ExitCode::source : incomplete ? ExitCode::partial : ExitCode::ok;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace esxmirror
