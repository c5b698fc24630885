// Publishing a depot mirror in the order that keeps it consistent for a host reading it meanwhile:
// the VIBs are already in place; then the metadata zips whose VIBs are all there, then each vendor index
// listing exactly the published zips, then the depot index. Each file by one atomic rename, and only
// when it differs from what is published (a night with nothing new writes nothing).
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/depot/depot_context.hpp"
#include "esxmirror/bundle/placement.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/util/fs.hpp"
#include "esxmirror/util/hash.hpp"

namespace esxmirror {

namespace fs = std::filesystem;
namespace depot = source::depot;

namespace {

bool published_here(const DepotContext& context, const std::map<std::string, store::DocumentRow>& documents,
                    const std::string& relpath, const std::string& sha256) {
  auto row = documents.find(relpath);
  std::error_code ec;
  return row != documents.end() && row->second.published_sha256 == sha256 &&
         fs::is_regular_file(context.root() / relpath, ec);
}

bool has_published_copy(const std::map<std::string, store::DocumentRow>& documents, const std::string& relpath) {
  auto row = documents.find(relpath);
  return row != documents.end() && row->second.published_sha256.has_value();
}

// The fetched zip into the mirror: a hard link from the cache under a temporary name in staging (no copy of
// tens of MiB; a copy where links are refused), then one rename over the final name.
void publish_zip(const DepotContext& context, const std::string& relpath) {
  fs::path temp = context.settings.staging_dir() / util::temporary_name(fs::path(relpath).filename().string());
  fs::path cached = context.cache_dir() / relpath;
  std::error_code ec;
  fs::create_directories(temp.parent_path(), ec);
  if (::link(cached.c_str(), temp.c_str()) != 0) {
    fs::copy_file(cached, temp, ec);
    if (ec)
      throw Error(ExitCode::storage,
                  fmt::format("cannot publish {}: {}", (context.root() / relpath).string(), ec.message()));
  }
  bundle::place_file(temp, context.root() / relpath);
}

void publish_text(const DepotContext& context, const std::string& relpath, const std::string& bytes) {
  util::write_file_atomic(context.root() / relpath, bytes, context.settings.staging_dir());
}

}  // namespace

std::vector<std::string> publish_depot(DepotContext& context, const DepotSnapshot& snapshot,
                                       const std::set<std::string>& placed, const std::set<std::string>& blocked) {
  std::vector<std::string> written;
  std::map<std::string, store::DocumentRow> documents = context.catalog.documents();
  bool synced = false;
  auto publish = [&](const std::string& relpath, const std::string& sha256, const auto& write) {
    if (published_here(context, documents, relpath, sha256)) return;
    // Once before the first index document names new files: every VIB renamed so far is on disk for
    // good, so a power cut cannot leave a published index naming a VIB that is not there.
    if (!synced) {
      std::error_code ec;  // <dest>/<name>/ is new when no VIB was placed yet (a selection without VIBs)
      fs::create_directories(context.root(), ec);
      if (ec)
        throw Error(ExitCode::storage, fmt::format("cannot create {}: {}", context.root().string(), ec.message()));
      util::sync_filesystem(context.root());
    }
    synced = true;
    write();
    context.catalog.mark_published(relpath, sha256, context.now());
    documents[relpath].published_sha256 = sha256;
    written.push_back(relpath);
    spdlog::info("{}: published {}", context.source.name, relpath);
  };

  for (const MetadataSnapshot& zip : snapshot.metadata) {
    if (!publishable(zip, placed, blocked)) continue;
    publish(zip.relpath, zip.sha256, [&] { publish_zip(context, zip.relpath); });
  }

  bool every_vendor_published = true;
  for (const VendorSnapshot& vendor : snapshot.vendors) {
    if (!vendor.body) {
      every_vendor_published = every_vendor_published && has_published_copy(documents, vendor.relpath);
      continue;  // unreadable this run: what is published stays as it is
    }
    std::vector<depot::MetadataEntry> keep;
    for (const depot::MetadataEntry& entry : vendor.selected) {
      auto zip = snapshot.entry_zip.find(vendor.relpath + "\n" + entry.url);
      if (zip != snapshot.entry_zip.end() && has_published_copy(documents, zip->second)) keep.push_back(entry);
    }
    std::string xml = depot::rewrite_vendor_index(*vendor.body, context.shown(vendor.url), keep);
    publish(vendor.relpath, util::sha256_hex(xml), [&] { publish_text(context, vendor.relpath, xml); });
  }

  // The depot index last, byte for byte as upstream serves it, once every vendor index it names is there.
  if (every_vendor_published) {
    publish(snapshot.index_relpath, util::sha256_hex(snapshot.index_body),
            [&] { publish_text(context, snapshot.index_relpath, snapshot.index_body); });
  } else {
    context.warn(fmt::format("{}: the depot index is not published yet: a vendor index it names could not be read",
                             context.source.name));
  }
  return written;
}

}  // namespace esxmirror
