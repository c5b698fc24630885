#include "esxmirror/core/verify.hpp"

#include <filesystem>
#include <map>
#include <set>

#include "esxmirror/core/mirror.hpp"
#include "esxmirror/core/run_lock.hpp"
#include "esxmirror/core/run_record.hpp"
#include "esxmirror/publish/repository_index.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/util/hash.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

std::vector<VerifyProblem> verify_mirror(const SyncSettings& settings, store::Catalog& catalog) {
  std::vector<VerifyProblem> problems;
  for (const store::CatalogEntry& entry : catalog.entries()) {
    if (!entry.bundle || entry.bundle->state != store::BundleState::placed || !entry.bundle->path) continue;
    const std::string& id = entry.patch.id;
    fs::path dir = settings.dest / *entry.bundle->path;
    if (!fs::is_directory(dir)) {
      problems.push_back({id, *entry.bundle->path, "directory missing"});
      continue;
    }
    for (const store::PlacementRow& placement : entry.placements) {
      if (placement.is_link && !fs::is_directory(settings.dest / placement.path)) {
        problems.push_back({id, placement.path, "link broken"});
      }
    }
    for (const store::FileRow& file : catalog.files(id)) {
      fs::path path = dir / file.relpath;
      std::string shown = (fs::path(*entry.bundle->path) / file.relpath).generic_string();
      std::error_code ec;
      if (!fs::is_regular_file(path, ec)) {
        problems.push_back({id, shown, "missing"});
      } else if (static_cast<std::int64_t>(fs::file_size(path, ec)) != file.size) {
        problems.push_back({id, shown, "size differs"});
      } else if (util::hash_file(path).sha256 != file.sha256) {
        problems.push_back({id, shown, "changed"});
      }
    }
  }
  return problems;
}

RunReport repair_bundles(const SyncSettings& settings, const std::vector<std::string>& ids, const util::Clock& clock) {
  util::FileLock lock = lock_mirror(settings, clock);
  store::Database db(settings.state_path(), store::Database::Mode::read_write);
  store::Catalog catalog(db);
  RunReport report;
  report.started_at = util::iso8601(clock.now());
  const std::int64_t started_at = util::to_unix(clock.now());
  report.run_id = catalog.start_run(started_at);

  std::map<std::string, std::set<std::string>> placed_versions;
  std::vector<PlannedPatch> work;
  for (const store::CatalogEntry& entry : catalog.entries()) {
    if (std::find(ids.begin(), ids.end(), entry.patch.id) == ids.end()) continue;
    std::vector<std::string> versions;
    for (const store::PlacementRow& p : entry.placements) {
      versions.push_back(p.version);  // primary first: placements are ordered is_link ascending
      placed_versions[entry.patch.id].insert(p.version);
    }
    if (versions.empty()) continue;
    work.push_back({entry.patch, versions, Action::replace, "verify found it damaged"});
  }
  MirrorContext context{settings, catalog, report, clock, placed_versions};
  try {
    mirror_bundles(work, context);
    publish::write_repository_index(settings.dest, publish::read_repository(catalog), settings.staging_dir());
  } catch (const std::exception& e) {
    const Error end = run_error(e);
    report.exit_code = end.code();
    report.message = end.what();
  }
  record_run(catalog, report, started_at, util::to_unix(clock.now()), "repair:");
  return report;
}

}  // namespace esxmirror
