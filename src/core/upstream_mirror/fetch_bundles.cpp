#include "core/upstream_mirror/fetch_bundles.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "esxmirror/bundle/placement.hpp"
#include "esxmirror/core/disk_space.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/notices.hpp"
#include "esxmirror/util/fs.hpp"
#include "esxmirror/util/hash.hpp"
#include "esxmirror/util/serial_worker.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace fs = std::filesystem;
using source::mirror::UpstreamBundle;
using source::mirror::UpstreamFile;

namespace {

using SteadyClock = std::chrono::steady_clock;

const std::string kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// One distinct file content of a bundle (files with the same sha-256 are fetched once).
struct Download {
  std::size_t bundle = 0;    // index into the work
  const UpstreamFile* file;  // the first file listing this content
  int attempts = 0;          // a sha-256 mismatch is fetched again once in the same run
};

// Where one bundle stands during the run.
struct BundleJob {
  std::size_t pending = 0;  // downloads not finished yet
  bool failed = false;      // failed and reported: its other downloads only finish
  bool reported = false;
  std::uint64_t bytes = 0;
  SteadyClock::time_point started = SteadyClock::now();
};

fs::path download_path(const SyncSettings& settings, const std::string& id, const std::string& sha256) {
  return upstream_staging(settings, id) / "files" / sha256;
}

// True when a download an interrupted run completed is still there, whole and right.
bool already_downloaded(const fs::path& file, const UpstreamFile& expected) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(file, ec)) || fs::file_size(file, ec) != expected.size || ec) {
    return false;
  }
  return util::hash_file(file).sha256 == expected.sha256;
}

// Every version the directory should appear under: the ones selected now, then the ones it already had.
std::vector<std::string> placement_versions(const PlannedPatch& planned, const MirrorContext& context) {
  std::vector<std::string> versions = planned.versions;
  auto placed = context.placed_versions.find(planned.patch.id);
  if (placed == context.placed_versions.end()) return versions;
  for (const std::string& v : placed->second) {
    if (std::find(versions.begin(), versions.end(), v) == versions.end()) versions.push_back(v);
  }
  return versions;
}

// The names it is placed under, checked before anything is fetched: upstream's directory name must be
// the one this mirror gives the bundle (and so a safe one).
void check_names(const UpstreamWork& work, const std::vector<std::string>& versions) {
  const PatchRecord& patch = work.planned.patch;
  const std::string expected = bundle::bundle_dir_name(patch.release_date, patch.id);
  if (!bundle::is_safe_component(patch.id) || work.bundle->dir_name != expected) {
    throw PatchError(
        fmt::format("upstream stores it as {}, not as {}: not an esxmirror layout", work.bundle->dir_name, expected));
  }
  for (const std::string& v : versions) {
    if (!bundle::is_safe_component(v)) throw PatchError(fmt::format("version '{}' is not a safe directory name", v));
  }
}

void place_in_tree(const SyncSettings& settings, const UpstreamBundle& bundle, const UpstreamFile& file,
                   const fs::path& tree) {
  const fs::path target = tree / file.relpath;
  if (!util::is_within(tree, target)) throw PatchError(fmt::format("file path {} leaves the bundle", file.relpath));
  const fs::path from = download_path(settings, bundle.patch.id, file.sha256);
  if (fs::file_size(from) != file.size) {
    throw PatchError(fmt::format("{}: upstream lists {} bytes for content of {} bytes", file.relpath, file.size,
                                 fs::file_size(from)));
  }
  fs::create_directories(target.parent_path());
  fs::create_hard_link(from, target);
}

// Builds the bundle directory in staging from the verified downloads (hard links, no copy). A list whose
// paths cannot all be made (a file where another needs a directory) fails the bundle.
fs::path assemble_tree(const SyncSettings& settings, const UpstreamBundle& bundle) {
  const fs::path tree = upstream_staging(settings, bundle.patch.id) / "tree";
  fs::remove_all(tree);
  fs::create_directories(tree);
  for (const UpstreamFile& file : bundle.files) {
    try {
      place_in_tree(settings, bundle, file, tree);
    } catch (const fs::filesystem_error& e) {
      throw PatchError(fmt::format("cannot make {} in staging: {}", file.relpath, e.code().message()));
    }
  }
  return tree;
}

// The transfer thread checks each download's sha-256 and asks again for a bad one; the catalog rows, the
// assembly and placement of a complete bundle and the report run in order on one placement thread.
class UpstreamFetch {
 public:
  UpstreamFetch(const std::vector<UpstreamWork>& work, MirrorContext& context)
      : work_(work),
        context_(context),
        settings_(context.settings),
        engine_(settings_.network, settings_.retry, settings_.jobs),
        jobs_(work.size()) {}

  void run() {
    for (std::size_t i = 0; i < work_.size(); ++i) start(i);
    engine_.run([&](net::Response&& response) {
      placing_.rethrow_if_failed();  // a storage error ends the run as it would have on this thread
      finish(std::move(response));
    });
    placing_.drain();
    context_.report.requests += engine_.stats().requests;
  }

 private:
  // Queues the bundle's downloads; one already complete in staging, or empty, is not asked for again.
  void start(std::size_t index) {
    const UpstreamWork& work = work_[index];
    const std::string& id = work.planned.patch.id;
    placing_.post([this, &id] { context_.catalog.mark_downloading(id, util::to_unix(context_.clock.now())); });
    if (work.planned.action == Action::replace) spdlog::info("{}: {}; fetching it again", id, work.planned.reason);
    try {
      check_names(work, placement_versions(work.planned, context_));
      std::map<std::string, const UpstreamFile*> contents;
      for (const UpstreamFile& file : work.bundle->files) contents.emplace(file.sha256, &file);
      fs::create_directories(upstream_staging(settings_, id) / "files");
      for (const auto& [sha256, file] : contents) {
        const fs::path target = download_path(settings_, id, sha256);
        if (file->size == 0) {
          if (sha256 != kEmptySha256)
            throw PatchError(fmt::format("{} is listed empty with the sha-256 of content", file->relpath));
          util::write_file_atomic(target, "");
        } else if (!already_downloaded(target, *file)) {
          downloads_.push_back({index, file, 0});
          ++jobs_[index].pending;
          request(downloads_.size() - 1);
        }
      }
    } catch (const PatchError& e) {
      fail(index, e.what());
      return;
    }
    if (jobs_[index].pending == 0) complete(index);
  }

  void request(std::size_t tag) {
    const Download& download = downloads_[tag];
    const std::string& id = work_[download.bundle].planned.patch.id;
    engine_.add({.tag = tag,
                 .url = download.file->url,
                 .conditional = {},
                 .file = download_path(settings_, id, download.file->sha256),
                 .expected_size = download.file->size,
                 .digests = util::StreamHasher::Algorithms::sha256});
  }

  void finish(net::Response&& response) {
    Download& download = downloads_[response.tag];
    const std::size_t index = download.bundle;
    BundleJob& job = jobs_[index];
    if (response.outcome == net::Outcome::aborted) {
      --job.pending;
      if (!job.reported) {
        job.reported = true;
        placing_.post([this, index, bytes = job.bytes] { report(index, PatchOutcome::failed, "interrupted", bytes); });
      }
      job.failed = true;
      return;
    }
    context_.report.bytes_downloaded += response.bytes;
    job.bytes += response.bytes;
    if (!job.failed) {
      try {
        if (!verified(response.tag, response)) return;  // fetched again
      } catch (const PatchError& e) {
        fail_if_disk_full(settings_, work_[index].planned.patch.id);
        fail(index, e.what());
      }
    }
    if (--job.pending == 0 && !job.failed) complete(index);
  }

  // True when the download is the file upstream lists; false when it was queued to be fetched again.
  bool verified(std::size_t tag, const net::Response& response) {
    Download& download = downloads_[tag];
    const UpstreamFile& file = *download.file;
    if (response.outcome != net::Outcome::ok) {
      throw PatchError(fmt::format("{}: download failed: {}", file.relpath, response.error));
    }
    if (response.digests.sha256 == file.sha256) return true;
    fs::remove(download_path(settings_, work_[download.bundle].planned.patch.id, file.sha256));
    if (++download.attempts < 2) {
      placing_.post([this, text = fmt::format("{}: sha-256 mismatch for {} (upstream lists {}, got {}); fetching "
                                              "it again",
                                              work_[download.bundle].planned.patch.id, file.relpath, file.sha256,
                                              response.digests.sha256)] { warn(settings_, context_.report, text); });
      request(tag);
      return false;
    }
    throw PatchError(fmt::format("sha-256 mismatch for {}: upstream's manifest lists {}, the download has {}",
                                 file.relpath, file.sha256, response.digests.sha256));
  }

  // Every file is there and verified: assemble, place, link, record (on the placement thread; nothing
  // of this bundle is on the transfer thread any more).
  void complete(std::size_t index) {
    jobs_[index].reported = true;
    placing_.post([this, index] {
      const std::uint64_t bytes = jobs_[index].bytes;
      try {
        std::string path = place(work_[index]);
        bool replaced = work_[index].planned.action == Action::replace;
        report(index, replaced ? PatchOutcome::replaced : PatchOutcome::placed, "", bytes, path);
        spdlog::info("{}: placed {} ({} files from upstream)", work_[index].planned.patch.id, path,
                     work_[index].bundle->files.size());
      } catch (const PatchError& e) {
        record_failure(index, e.what(), bytes);
      } catch (const fs::filesystem_error& e) {
        fail_if_disk_full(settings_, work_[index].planned.patch.id);
        throw;
      }
    });
  }

  std::string place(const UpstreamWork& work) {
    const PatchRecord& patch = work.planned.patch;
    const UpstreamBundle& bundle = *work.bundle;
    std::vector<std::string> versions = placement_versions(work.planned, context_);
    const fs::path tree = assemble_tree(settings_, bundle);
    const fs::path primary = fs::path(versions.front()) / bundle.dir_name;
    auto previous = context_.catalog.bundle(patch.id);
    const std::int64_t now = util::to_unix(context_.clock.now());
    // Recorded before the rename: a crash right after it leaves a copy the next run adopts with these digests.
    context_.catalog.mark_verified(patch.id, bundle.md5, bundle.sha256, bundle.size, patch.md5(), now);
    bool replaced = bundle::place_directory(tree, settings_.dest / primary);
    std::vector<store::PlacementRow> placements = {{versions.front(), primary.generic_string(), false}};
    for (std::size_t i = 1; i < versions.size(); ++i) {
      const fs::path link = fs::path(versions[i]) / bundle.dir_name;
      bundle::place_link(settings_.dest / primary, settings_.dest / link, settings_.staging_dir());
      placements.push_back({versions[i], link.generic_string(), true});
    }
    // What an older placement left under another name (upstream's date changed, say).
    if (previous && previous->path && *previous->path != primary.generic_string() &&
        std::none_of(placements.begin(), placements.end(), [&](const auto& p) { return p.path == *previous->path; })) {
      std::error_code ignored;
      fs::remove_all(settings_.dest / *previous->path, ignored);
    }
    if (replaced) spdlog::info("{}: replaced the previous copy at {}", patch.id, primary.generic_string());

    store::Placed placed{.md5 = bundle.md5,
                         .sha256 = bundle.sha256,
                         .size = bundle.size,
                         .verified_md5_expected = patch.md5(),
                         .path = primary.generic_string(),
                         .placements = placements,
                         .files = {}};
    for (const UpstreamFile& file : bundle.files) {
      placed.files.push_back({file.relpath, static_cast<std::int64_t>(file.size), file.sha256});
    }
    context_.catalog.mark_placed(patch.id, placed, util::to_unix(context_.clock.now()));
    std::error_code ignored;
    fs::remove_all(upstream_staging(settings_, patch.id), ignored);
    return primary.generic_string();
  }

  // On the transfer thread: the bundle failed; its other downloads only finish.
  void fail(std::size_t index, const std::string& reason) {
    BundleJob& job = jobs_[index];
    if (job.failed) return;
    job.failed = true;
    job.reported = true;
    placing_.post([this, index, reason, bytes = job.bytes] { record_failure(index, reason, bytes); });
  }

  // On the placement thread.
  void record_failure(std::size_t index, const std::string& reason, std::uint64_t bytes) {
    const PatchRecord& patch = work_[index].planned.patch;
    const std::int64_t now = util::to_unix(context_.clock.now());
    auto row = context_.catalog.bundle(patch.id);
    int failures = (row ? row->failures : 0) + 1;
    context_.catalog.mark_failed(
        patch.id, reason,
        next_retry_at(failures, now, settings_.failures_before_backoff, settings_.failure_backoff.count(),
                      settings_.failure_backoff_max.count()),
        now);
    tell_failure(settings_, fmt::format("{}: {} ({})", patch.id, reason, util::mask_url(patch.bundle().url)));
    report(index, PatchOutcome::failed, reason, bytes);
  }

  // On the placement thread; `bytes` as the transfer thread counted them when the outcome was decided.
  void report(std::size_t index, PatchOutcome outcome, const std::string& reason, std::uint64_t bytes,
              const std::string& path = "") {
    const BundleJob& job = jobs_[index];
    const PlannedPatch& planned = work_[index].planned;
    context_.report.patches.push_back(
        {.id = planned.patch.id,
         .versions = planned.versions,
         .outcome = outcome,
         .reason = reason,
         .path = path,
         .bytes = bytes,
         .seconds = std::chrono::duration<double>(SteadyClock::now() - job.started).count(),
         .url = util::mask_url(planned.patch.bundle().url)});
  }

  const std::vector<UpstreamWork>& work_;
  MirrorContext& context_;
  const SyncSettings& settings_;
  net::TransferEngine engine_;
  std::vector<BundleJob> jobs_;      // one per work entry
  std::vector<Download> downloads_;  // request tags index into it
  util::SerialWorker placing_;       // last: it finishes its tasks (which use the members above) first
};

}  // namespace

fs::path upstream_staging(const SyncSettings& settings, const std::string& id) {
  return settings.staging_dir() / "mirror" / id;
}

void clean_upstream_staging(const SyncSettings& settings, store::Catalog& catalog, const std::set<std::string>& keep) {
  std::error_code ignored;
  const std::map<std::string, store::BundleRow> bundles = catalog.bundles();
  for (const auto& entry : fs::directory_iterator(settings.staging_dir() / "mirror", ignored)) {
    const std::string id = entry.path().filename().string();
    auto row = bundles.find(id);
    bool settled = row == bundles.end() || row->second.state == store::BundleState::placed;
    if (!keep.count(id) && settled) fs::remove_all(entry.path(), ignored);
  }
}

void fetch_upstream_bundles(const std::vector<UpstreamWork>& work, MirrorContext& context) {
  if (work.empty()) return;
  UpstreamFetch fetch(work, context);
  fetch.run();
}

}  // namespace esxmirror
