// Cleanup of what no published metadata references (issue 10 §4). Runs after publication: a VIB no published
// zip of a selected version references any more, and a zip the vendor index no longer lists, is marked with
// the time it was first found so; once that is older than depot_keep_unreferenced it is removed. Hosts in
// the middle of a remediation keep finding what the metadata they read a moment ago named.
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/depot/depot_context.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/util/fs.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

void remove_depot_file(const fs::path& root, const std::string& relpath) {
  const fs::path rel = fs::path(relpath).lexically_normal();
  if (rel.empty() || rel.is_absolute() || *rel.begin() == ".." || !util::is_within(root, root / rel)) {
    throw Error(ExitCode::storage, fmt::format("the state database names '{}' as a file of the depot under {}, "
                                               "which is outside it; nothing was removed",
                                               relpath, root.string()));
  }
  std::error_code ec;
  if (!fs::remove(root / rel, ec) && ec) {
    throw Error(ExitCode::storage,
                fmt::format("cannot remove {}: {} (the next run tries again)", (root / rel).string(), ec.message()));
  }
  for (fs::path dir = (root / rel).parent_path(); dir != root && util::is_within(root, dir); dir = dir.parent_path()) {
    if (!fs::is_empty(dir, ec) || ec || !fs::remove(dir, ec)) break;
  }
}

namespace {

// What the mirror must keep: every VIB of every selected zip (published, or waiting for its last VIBs). nullopt
// when that cannot be known this run (a document that could not be read, a listed zip whose published copy is
// older than what the catalog holds of it): then nothing is marked, let alone removed.
std::optional<std::set<std::string>> referenced_vibs(DepotContext& context, const DepotSnapshot& snapshot,
                                                     const std::map<std::string, store::DocumentRow>& documents) {
  if (!context.outcome.failed_documents.empty()) return std::nullopt;
  std::set<std::string> referenced;
  for (const MetadataSnapshot& zip : snapshot.metadata) {
    auto doc = documents.find(zip.relpath);
    bool older_published =
        doc != documents.end() && doc->second.published_sha256 && *doc->second.published_sha256 != zip.sha256;
    if (older_published) return std::nullopt;
    for (const store::VibRef& vib : zip.contents.vibs) referenced.insert(vib.relpath);
  }
  return referenced;
}

}  // namespace

void clean_unreferenced(DepotContext& context, const DepotSnapshot& snapshot,
                        const std::map<std::string, store::VibRow>& vibs, const std::set<std::string>& missing) {
  std::map<std::string, store::DocumentRow> documents = context.catalog.documents();
  std::optional<std::set<std::string>> referenced = referenced_vibs(context, snapshot, documents);
  if (!referenced) return;

  std::set<std::string> listed;
  for (const auto& [entry, relpath] : snapshot.entry_zip) listed.insert(relpath);
  std::set<std::string> unlisted;
  for (const auto& [relpath, doc] : documents) {
    if (doc.kind == store::DocumentKind::metadata && doc.published_sha256 && !listed.count(relpath)) {
      unlisted.insert(relpath);
    }
  }
  std::set<std::string> unreferenced;
  for (const auto& [relpath, vib] : vibs) {
    bool placed = vib.state == store::VibState::placed && !missing.count(relpath);
    if (placed && !referenced->count(relpath)) unreferenced.insert(relpath);
  }
  const std::int64_t now = context.now();
  context.catalog.set_unreferenced(unreferenced, now);
  context.catalog.set_unlisted(unlisted, now);

  const std::int64_t cutoff = now - context.settings.depot_keep_unreferenced.count();
  std::vector<std::string> gone;
  for (const store::VibRow& vib : context.catalog.unreferenced_vibs()) {
    const std::string& relpath = vib.relpath;
    if (*vib.unreferenced_since > cutoff) {
      context.outcome.bytes_unreferenced += static_cast<std::uint64_t>(vib.size);
      continue;
    }
    remove_depot_file(context.root(), relpath);
    gone.push_back(relpath);
    context.outcome.removed.push_back(relpath);
    context.outcome.bytes_removed += static_cast<std::uint64_t>(vib.size);
  }
  context.catalog.delete_vibs(gone);
  for (const auto& [relpath, doc] : context.catalog.documents()) {
    if (!doc.unlisted_since || *doc.unlisted_since > cutoff) continue;
    remove_depot_file(context.root(), relpath);
    remove_depot_file(context.cache_dir(), relpath);
    context.catalog.delete_document(relpath);
    context.outcome.removed.push_back(relpath);
    context.outcome.bytes_removed += static_cast<std::uint64_t>(doc.size);
  }
  if (!context.outcome.removed.empty()) {
    spdlog::info("{}: removed {} files no published metadata references any more", context.source.name,
                 context.outcome.removed.size());
  }
}

}  // namespace esxmirror
