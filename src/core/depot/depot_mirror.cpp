// One depot, start to end: read its documents, plan the VIBs, fetch them, publish what is complete, then
// say per bulletin what happened.
#include "esxmirror/core/depot_mirror.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/depot/depot_context.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/notices.hpp"
#include "esxmirror/util/unique_fd.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

std::string DepotContext::stored(const std::string& url) const { return settings.network.secrets.stored(url); }
std::string DepotContext::shown(const std::string& url) const { return util::mask_url(stored(url)); }
void DepotContext::warn(std::string message) const { esxmirror::warn(settings, report, std::move(message)); }

namespace {

// A private directory outside the mirror, removed with everything in it (a dry run's downloads).
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "esxmirror-dry-run-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
      throw Error(ExitCode::storage, fmt::format("cannot create a temporary directory in {}: {}",
                                                 fs::temp_directory_path().string(), std::strerror(errno)));
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Placed VIBs whose file is gone (removed by hand): fetched again, and not counted as in place meanwhile.
// Each is looked up relative to the open root (a no-op night of 20,000 VIBs walks only their own paths).
std::set<std::string> missing_on_disk(DepotContext& context, const std::map<std::string, store::VibRow>& vibs) {
  std::set<std::string> missing;
  const util::UniqueFd root(::open(context.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));  // none: all missing
  for (const auto& [relpath, row] : vibs) {
    if (row.state != store::VibState::placed) continue;
    struct stat info {};
    if (root.valid() && ::fstatat(root.get(), relpath.c_str(), &info, 0) == 0 && S_ISREG(info.st_mode)) continue;
    missing.insert(relpath);
    if (!context.settings.dry_run) context.catalog.forget_vib(relpath, context.now());
  }
  return missing;
}

// Each bulletin of the selected zips once, with what this run did for it.
void report_bulletins(DepotContext& context, const DepotSnapshot& snapshot, const DepotPlan& plan,
                      const std::set<std::string>& placed_now, const std::set<std::string>& in_place) {
  std::map<std::string, std::string> failed;  // VIB relpath -> why
  for (const VibFailure& f : context.outcome.failed_vibs) failed.emplace(f.path, f.reason);
  for (const VibWait& w : plan.deferred) failed.emplace(w.vib.relpath, w.reason);
  std::set<std::string> deferred;
  for (const VibWait& w : plan.deferred) deferred.insert(w.vib.relpath);
  std::map<std::string, std::int64_t> size_of;
  for (const store::VibRef& vib : plan.fetch) size_of[vib.relpath] = vib.size;
  std::map<std::string, store::DocumentRow> documents = context.catalog.documents();

  std::set<std::string> seen;
  for (const MetadataSnapshot& zip : snapshot.metadata) {
    auto published = documents.find(zip.relpath);
    bool zip_published = published != documents.end() && published->second.published_sha256 == zip.sha256;
    for (const store::BulletinRow& b : zip.contents.bulletins) {
      if (!seen.insert(b.id).second) continue;
      PatchReport entry;
      entry.id = b.id;
      entry.source = context.source.name;
      entry.versions = b.versions;
      entry.path = zip.relpath;
      entry.outcome = PatchOutcome::skipped;
      for (const std::string& vib : b.vibs) {
        if (placed_now.count(vib)) {
          entry.outcome = PatchOutcome::placed;
          entry.bytes += static_cast<std::uint64_t>(size_of[vib]);
        }
      }
      for (const std::string& vib : b.vibs) {
        auto why = failed.find(vib);
        if (why == failed.end()) continue;
        entry.outcome = deferred.count(vib) ? PatchOutcome::deferred : PatchOutcome::failed;
        entry.reason = why->second;
        break;
      }
      if (context.settings.dry_run) {
        bool needed = std::any_of(b.vibs.begin(), b.vibs.end(), [&](const std::string& v) { return size_of.count(v); });
        if (needed) {
          entry.outcome = PatchOutcome::planned;
          entry.action = "fetch";
          entry.release_date = b.release_date;
          std::uint64_t size = 0;
          for (const std::string& v : b.vibs) size += static_cast<std::uint64_t>(size_of.count(v) ? size_of[v] : 0);
          entry.size = size;
        }
      } else if (entry.outcome == PatchOutcome::placed || entry.outcome == PatchOutcome::skipped) {
        bool complete =
            std::all_of(b.vibs.begin(), b.vibs.end(), [&](const std::string& v) { return in_place.count(v) > 0; });
        if (!complete || !zip_published) {
          entry.outcome = PatchOutcome::failed;
          entry.reason = fmt::format("its metadata {} is not published: see the run's errors", zip.relpath);
        }
      }
      context.report.patches.push_back(std::move(entry));
    }
  }
}

}  // namespace

std::string depot_source_name(const std::string& stored_url, const std::map<std::string, std::string>& renames) {
  if (auto by_url = renames.find(stored_url); by_url != renames.end()) return by_url->second;
  try {
    std::string name = source::depot::depot_name(stored_url, util::mask_url(stored_url));
    if (auto by_name = renames.find(name); by_name != renames.end()) return by_name->second;
    return name;
  } catch (const source::depot::FormatError& e) {
    throw Error(ExitCode::source,
                fmt::format("{}; a depot is mirrored under the last directory of its index URL", e.what()));
  }
}

void mirror_depot(const SyncSettings& settings, const DepotSource& source, store::Database& db, RunReport& report,
                  SourceReport& outcome, const util::Clock& clock, std::optional<net::Response> index) {
  store::DepotCatalog catalog(db, source.name);
  DepotContext context{settings, source, catalog, report, outcome, clock, {}};
  std::optional<ScratchDir> scratch;
  if (settings.dry_run) scratch.emplace();
  context.download_dir = scratch ? scratch->path() : context.cache_dir();

  DepotSnapshot snapshot = read_depot(context, std::move(index));
  std::map<std::string, store::VibRow> vibs = catalog.vibs();
  std::set<std::string> missing = missing_on_disk(context, vibs);
  // Lent to the plan and taken back: a copy of every VIB row and zip's contents costs more than planning.
  DepotPlanInput input{std::move(snapshot.metadata), std::move(vibs), std::move(missing), context.now()};
  DepotPlan plan = plan_vibs(input);
  snapshot.metadata = std::move(input.metadata);
  vibs = std::move(input.vibs);
  missing = std::move(input.missing_on_disk);
  if (!settings.dry_run) adopt_present_vibs(context, plan);
  for (const std::string& conflict : plan.conflicts) outcome.failed_documents.push_back(conflict);
  outcome.vibs_present = static_cast<int>(plan.in_place.size());
  outcome.vibs_deferred = static_cast<int>(plan.deferred.size());
  for (const store::VibRef& vib : plan.fetch) outcome.bytes_to_fetch += static_cast<std::uint64_t>(vib.size);
  outcome.vibs_to_fetch = static_cast<int>(plan.fetch.size());

  std::set<std::string> in_place = plan.in_place;
  std::set<std::string> placed_now;
  if (!settings.dry_run) {
    placed_now = fetch_vibs(context, plan, vibs);
    in_place.insert(placed_now.begin(), placed_now.end());
    outcome.published = publish_depot(context, snapshot, in_place, plan.blocked);
    clean_unreferenced(context, snapshot, vibs, missing);
  }
  report_bulletins(context, snapshot, plan, placed_now, in_place);

  for (const std::string& problem : outcome.failed_documents) tell_failure(settings, source.name + ": " + problem);
  bool incomplete = !outcome.failed_documents.empty() || !outcome.failed_vibs.empty() || !plan.deferred.empty();
  outcome.exit_code = incomplete ? ExitCode::partial : ExitCode::ok;
}

}  // namespace esxmirror
