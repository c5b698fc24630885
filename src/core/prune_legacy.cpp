// Retention of legacy bundles: a bundle superseded by newer placed bundles (prune_superseded.hpp) goes
// `keep_superseded_days` after they were placed. Its directory is renamed into the trash (one rename: it
// disappears whole, under every version at once, since the other versions' links name it), then its links
// are removed, then the catalog says `pruned`, then the trash copy is deleted.
#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "esxmirror/core/error.hpp"
#include "esxmirror/core/notices.hpp"
#include "esxmirror/core/prune.hpp"
#include "esxmirror/core/prune_superseded.hpp"
#include "esxmirror/util/fs.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kDay = 24 * 60 * 60;

// Its directory first, then its links: the order they are removed in.
std::vector<std::string> paths_of(const store::CatalogEntry& e) {
  std::vector<std::string> paths;
  if (e.bundle->path) paths.push_back(*e.bundle->path);
  for (const store::PlacementRow& p : e.placements) {
    if (p.is_link && std::find(paths.begin(), paths.end(), p.path) == paths.end()) paths.push_back(p.path);
  }
  return paths;
}

// `relative` under dest, refusing what a damaged state database could name instead of a bundle's
// <version>/<dir>: dest itself, a whole version, the state directory, or anything outside.
fs::path removable_path(const fs::path& dest, const std::string& relative, const std::string& id) {
  const fs::path rel = fs::path(relative).lexically_normal();
  const std::string first = rel.empty() ? "" : rel.begin()->string();
  const auto depth = std::distance(rel.begin(), rel.end());
  if (depth < 2 || rel.is_absolute() || first == "." || first == ".." || first == ".esxmirror" ||
      !util::is_within(dest, dest / rel)) {
    throw Error(ExitCode::storage, fmt::format("{}: the state database names '{}' as its place, which is not a "
                                               "bundle's place under {}; nothing of it was removed",
                                               id, relative, dest.string()));
  }
  return dest / rel;
}

[[noreturn]] void cannot_remove(const fs::path& path, const std::string& reason) {
  throw Error(ExitCode::storage, fmt::format("cannot remove {}: {} (fix it and run `esxmirror prune` again; "
                                             "nothing is published from it meanwhile)",
                                             path.string(), reason));
}

void sync_dir(const fs::path& dir) {
  try {
    util::fsync_dir(dir);
  } catch (const util::StorageError& e) {
    cannot_remove(dir, e.what());
  }
}

class SupersededLegacyBundles final : public ContentKind {
 public:
  std::string policy(const PruneContext& context) const override {
    const auto& days = context.settings.retention.keep_superseded_days;
    if (!days) return "superseded bundles are kept for ever (keep_superseded_days is not set)";
    return fmt::format("a superseded bundle goes {} day(s) after the newer bundles superseding it were placed", *days);
  }

  std::vector<UsageRow> usage(PruneContext& context) const override {
    const std::map<std::string, std::int64_t> bytes = context.catalog.bundle_bytes();
    std::map<std::string, UsageRow> rows;
    for (const store::CatalogEntry& e : context.catalog.entries()) {
      if (!e.bundle || e.bundle->state != store::BundleState::placed) continue;
      auto size = bytes.find(e.patch.id);
      const auto n = static_cast<std::uint64_t>(size == bytes.end() ? 0 : size->second);
      for (const store::PlacementRow& p : e.placements) {
        UsageRow& row = rows[p.version];
        row.source = "legacy";
        row.version = p.version;
        ++row.items;
        row.bytes += n;
        if (p.is_link) row.linked_bytes += n;
      }
    }
    std::vector<UsageRow> out;
    for (auto& [version, row] : rows) out.push_back(std::move(row));
    return out;
  }

  std::vector<RemovalCandidate> removable(PruneContext& context, bool ignore_grace) const override {
    const std::vector<store::CatalogEntry> entries = context.catalog.entries();
    const std::map<std::string, std::int64_t> bytes = context.catalog.bundle_bytes();
    auto candidate = [&](const store::CatalogEntry& e, std::vector<std::string> versions, std::string reason) {
      auto size = bytes.find(e.patch.id);
      return RemovalCandidate{.kind = "bundle",
                              .id = e.patch.id,
                              .source = "legacy",
                              .versions = std::move(versions),
                              .paths = paths_of(e),
                              .bytes = static_cast<std::uint64_t>(size == bytes.end() ? 0 : size->second),
                              .reason = std::move(reason)};
    };

    std::vector<RemovalCandidate> out;
    for (const store::CatalogEntry& e : entries) {
      if (!e.bundle || e.bundle->state != store::BundleState::pruning) continue;
      out.push_back(candidate(e, e.bundle->pruned_versions, e.bundle->pruned_reason.value_or("")));
      out.back().interrupted = true;
    }
    const auto& days = context.settings.retention.keep_superseded_days;
    if (!days && !ignore_grace) return out;

    SupersededPolicy policy;
    policy.keep_seconds = ignore_grace ? 0 : *days * kDay;
    policy.selected_versions = context.settings.versions;
    for (const store::CatalogEntry& e : entries) {
      if (!e.bundle || e.bundle->state != store::BundleState::placed || !e.bundle->path) continue;
      std::error_code ec;
      if (!fs::is_directory(context.settings.dest / *e.bundle->path, ec)) policy.missing_on_disk.insert(e.patch.id);
    }
    std::map<std::string, const store::CatalogEntry*> by_id;
    for (const store::CatalogEntry& e : entries) by_id.emplace(e.patch.id, &e);
    for (SupersededBundle& s : superseded_bundles(entries, policy, context.now)) {
      out.push_back(candidate(*by_id.at(s.id), std::move(s.versions), std::move(s.reason)));
    }
    return out;
  }

  void decide(const std::vector<RemovalCandidate>& candidates, PruneContext& context) const override {
    std::vector<store::PruneDecision> decisions;
    for (const RemovalCandidate& c : candidates) decisions.push_back({c.id, c.versions, c.reason});
    context.catalog.mark_pruning(decisions, context.now);
  }

  void remove(const RemovalCandidate& candidate, PruneContext& context) const override {
    const fs::path& dest = context.settings.dest;
    std::vector<fs::path> targets;
    for (const std::string& relative : candidate.paths) targets.push_back(removable_path(dest, relative, candidate.id));
    std::error_code ec;
    fs::create_directories(context.trash, ec);
    if (ec) cannot_remove(context.trash, ec.message());

    std::vector<fs::path> trashed;
    for (const fs::path& target : targets) {
      const fs::file_type type = fs::symlink_status(target, ec).type();
      if (type == fs::file_type::not_found) continue;  // a killed run removed it already
      if (ec) cannot_remove(target, ec.message());
      if (type == fs::file_type::directory) {
        // One rename: a reader sees the whole bundle or none of it.
        const fs::path aside = context.trash / (candidate.id + "." + util::random_suffix());
        fs::rename(target, aside, ec);
        if (ec) cannot_remove(target, ec.message());
        trashed.push_back(aside);
      } else {
        fs::remove(target, ec);  // a link (or a file where a link was)
        if (ec) cannot_remove(target, ec.message());
      }
      sync_dir(target.parent_path());
    }
    if (!trashed.empty()) sync_dir(context.trash);
    context.catalog.mark_pruned(candidate.id, context.now);
    for (const fs::path& aside : trashed) {
      fs::remove_all(aside, ec);
      if (ec) {
        warn(context.settings,
             fmt::format("could not delete {}: {} (the next run tries again)", aside.string(), ec.message()));
      }
    }
  }
};

}  // namespace

std::unique_ptr<ContentKind> superseded_legacy_bundles() { return std::make_unique<SupersededLegacyBundles>(); }

}  // namespace esxmirror
