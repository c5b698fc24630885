#pragma once
// Fetching bundle directories from an upstream esxmirror, file by file, and placing them.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "esxmirror/core/mirror.hpp"
#include "esxmirror/source/mirror_manifest.hpp"

namespace esxmirror {

// One bundle the plan fetches (or replaces) and what upstream lists for it.
struct UpstreamWork {
  PlannedPatch planned;  // versions: upstream's primary version first when it is selected
  const source::mirror::UpstreamBundle* bundle;
};

// Where a bundle's files wait until all are there: <staging>/mirror/<id>/ (files/<sha256> as downloaded,
// kept across runs so an interrupted one resumes; tree/ the directory being assembled).
std::filesystem::path upstream_staging(const SyncSettings& settings, const std::string& id);

// Removes the staging of bundles not in `keep` that the catalog has placed or does not know: what an
// interrupted run left for a bundle that was then placed, or that upstream dropped.
void clean_upstream_staging(const SyncSettings& settings, store::Catalog& catalog, const std::set<std::string>& keep);

// Fetches every file of each bundle (`jobs` at a time, size and sha-256 checked while it streams; a
// mismatch is fetched once more, then fails the bundle), then assembles the directory in staging and
// places it like a fetched bundle (atomic rename or exchange, links for the other versions), recorded
// with upstream's digests and file list as each bundle completes. One bundle's failure never stops the
// others; throws Error(storage) when the mirror cannot be written.
void fetch_upstream_bundles(const std::vector<UpstreamWork>& work, MirrorContext& context);

}  // namespace esxmirror
