#include "esxmirror/core/mirror.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "esxmirror/bundle/archive.hpp"
#include "esxmirror/bundle/gzip_check.hpp"
#include "esxmirror/bundle/layout.hpp"
#include "esxmirror/bundle/placement.hpp"
#include "esxmirror/core/disk_space.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/notices.hpp"
#include "esxmirror/core/streaming_unpack.hpp"
#include "esxmirror/util/hash.hpp"
#include "esxmirror/util/serial_worker.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

namespace {

using SteadyClock = std::chrono::steady_clock;

struct InFlight {
  PlannedPatch planned;
  fs::path archive;                         // where the download lands (complete)
  fs::path unpack_dir;                      // staging directory it unpacks into
  std::unique_ptr<StreamingUnpack> stream;  // unpacks while the bytes arrive
  int checksum_attempts = 0;                // times fetched again after a bad checksum: once per run
  SteadyClock::time_point started;
};

fs::path archive_path(const SyncSettings& settings, const std::string& id) {
  return settings.staging_dir() / (id + ".archive");
}

// Removes the download and whatever resume bookkeeping the transfer engine keeps beside it.
void discard_download(const fs::path& archive) {
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(archive.parent_path(), ignored)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(archive.filename().string(), 0) == 0) fs::remove(entry.path(), ignored);
  }
}

std::vector<store::FileRow> file_rows(const std::vector<bundle::UnpackedFile>& files) {
  std::vector<store::FileRow> rows;
  rows.reserve(files.size());
  for (const bundle::UnpackedFile& f : files) rows.push_back({f.relpath, static_cast<std::int64_t>(f.size), f.sha256});
  return rows;
}

// Every version the bundle should appear under: the ones selected now, then the ones it already had.
std::vector<std::string> placement_versions(const PlannedPatch& planned, const MirrorContext& context) {
  std::vector<std::string> versions = planned.versions;
  auto placed = context.placed_versions.find(planned.patch.id);
  if (placed != context.placed_versions.end()) {
    for (const std::string& v : placed->second) {
      if (std::find(versions.begin(), versions.end(), v) == versions.end()) versions.push_back(v);
    }
  }
  return versions;
}

void check_names(const PlannedPatch& planned, const std::vector<std::string>& versions) {
  if (!bundle::is_safe_component(planned.patch.id)) {
    throw PatchError(fmt::format("patch id '{}' is not a safe directory name", planned.patch.id));
  }
  for (const std::string& v : versions) {
    if (!bundle::is_safe_component(v)) throw PatchError(fmt::format("version '{}' is not a safe directory name", v));
  }
}

// Links `version/dir` to the primary copy for every version but the primary; returns the placements.
std::vector<store::PlacementRow> place_links(const fs::path& dest, const std::vector<std::string>& versions,
                                             const std::string& dir_name, const fs::path& temp_dir) {
  std::vector<store::PlacementRow> placements;
  fs::path primary = fs::path(versions.front()) / dir_name;
  placements.push_back({versions.front(), primary.generic_string(), false});
  for (std::size_t i = 1; i < versions.size(); ++i) {
    fs::path link = fs::path(versions[i]) / dir_name;
    bundle::place_link(dest / primary, dest / link, temp_dir);
    placements.push_back({versions[i], link.generic_string(), true});
  }
  return placements;
}

// Removes what an older placement left under other names (the page's date changed, say).
void remove_stale(const fs::path& dest, const std::optional<std::string>& old_path,
                  const std::vector<store::PlacementRow>& placements) {
  if (!old_path) return;
  std::error_code ignored;
  bool still_used = std::any_of(placements.begin(), placements.end(),
                                [&](const store::PlacementRow& p) { return p.path == *old_path; });
  if (!still_used && fs::exists(dest / *old_path)) fs::remove_all(dest / *old_path, ignored);
}

// How many finished downloads may wait for the disk before the transfer thread waits too.
constexpr std::size_t kPlacementBacklogPerJob = 2;

// Bundles handed to the engine per transfer slot: one on the wire and one queued behind it, so the next
// request goes out as soon as a body is received, while the last one is still hashed and committed
// (S1, 200 x 1 MiB at --jobs 4, side by side: 1.54 s -> 1.34 s). Each has its unpack worker waiting.
constexpr int kHandedPerJob = 2;

}  // namespace

// Three threads: the caller's adds bundles (while it may still be reading pages); the transfer thread
// only runs curl and decides whether a download must be fetched again; everything that touches the disk
// or the catalog for a bundle (finishing the unpack, fsync, rename, links, rows, the report) runs on one
// placement thread, in order, with whatever else the caller hands it, while the next downloads are
// already on the wire.
class BundleMirror::Impl {
 public:
  explicit Impl(MirrorContext& context)
      : context_(context), settings_(context.settings), engine_(settings_.network, settings_.retry, settings_.jobs) {}

  // Without finish() the run is ending with an error: what was handed to the engine is transferred and
  // settled, what was not yet is left for the next run.
  ~Impl() {
    {
      std::lock_guard lock(mutex_);
      waiting_.clear();
    }
    release_transfers();
    ticker_ = {};
  }

  void add(PlannedPatch planned) {
    std::lock_guard lock(mutex_);
    if (!transfers_.joinable()) start_transfers();
    InFlight& job = in_flight_.emplace_back();
    job.planned = std::move(planned);
    job.archive = archive_path(settings_, job.planned.patch.id);
    job.unpack_dir = settings_.staging_dir() / (job.planned.patch.id + ".unpack");
    waiting_.push_back(in_flight_.size() - 1);
    ++added_;
    if (active_ < kHandedPerJob * settings_.jobs) start_next();
  }

  void post(std::function<void()> task) { placing_.post(std::move(task)); }

  void call(const std::function<void()>& task) {
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> result = done->get_future();
    // The task alone holds the promise: dropped unrun (an earlier task failed), it breaks it.
    placing_.post([&task, done = std::move(done)] {
      try {
        task();
        done->set_value();
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
    try {
      result.get();
    } catch (const std::future_error&) {
      placing_.rethrow_if_failed();  // dropped: an earlier task failed, and that is the error
      throw;
    }
  }

  void finish() {
    release_transfers();
    ticker_ = {};
    placing_.drain();
    if (transfer_error_) std::rethrow_exception(transfer_error_);
    context_.report.requests += engine_.stats().requests;
  }

 private:
  // The first bundle starts the transfer thread; a Hold keeps it waiting for more until finish().
  void start_transfers() {
    fs::create_directories(settings_.staging_dir());
    hold_ = engine_.hold();
    transfers_ = std::thread([this] { transfer_until_released(); });
    if (settings_.on_progress) ticker_ = std::jthread([this](std::stop_token stop) { report_progress(stop); });
  }

  void transfer_until_released() {
    try {
      engine_.run([this](net::Response&& response) { on_done(std::move(response)); });
    } catch (...) {
      transfer_error_ = std::current_exception();
    }
  }

  // Ends the Hold and waits for every bundle added to be transferred (and its settling posted).
  void release_transfers() {
    if (!transfers_.joinable()) return;
    hold_ = {};
    transfers_.join();
    // A stop ends the engine before the caller stops adding: what came after is aborted here, and settled.
    if (!transfer_error_) transfer_until_released();
  }

  InFlight& job_at(std::uint64_t tag) {
    std::lock_guard lock(mutex_);
    return in_flight_[tag];
  }

  void on_done(net::Response&& response) {
    placing_.rethrow_if_failed();  // a storage error ends the run as it would have on this thread
    InFlight& job = job_at(response.tag);
    if (fetch_again(job, response)) return;
    if (response.outcome != net::Outcome::aborted) context_.report.bytes_downloaded += response.bytes;
    placing_.wait_below(kPlacementBacklogPerJob * static_cast<std::size_t>(settings_.jobs));
    placing_.post([this, &job, r = std::move(response)] { settle(job, r); });
    std::lock_guard lock(mutex_);
    --active_;
    start_next();
  }

  // Under mutex_.
  void start_next() {
    if (waiting_.empty()) return;
    std::size_t index = waiting_.front();
    waiting_.pop_front();
    ++active_;
    InFlight& job = in_flight_[index];
    job.started = SteadyClock::now();
    // Posted before the download starts, so it is recorded before anything the download leads to.
    placing_.post(
        [this, &job] { context_.catalog.mark_downloading(job.planned.patch.id, util::to_unix(context_.clock.now())); });
    if (job.planned.action == Action::replace) {
      spdlog::info("{}: {}; fetching it again", job.planned.patch.id, job.planned.reason);
    }
    transfer(index, job);
  }

  void transfer(std::size_t index, InFlight& job) {
    std::error_code ignored;
    fs::remove_all(job.unpack_dir, ignored);
    job.stream = std::make_unique<StreamingUnpack>(job.archive, job.unpack_dir,
                                                   job.planned.patch.bundle().relative_path, settings_.limits);
    net::Request request{index, job.planned.patch.bundle().url, {}, job.archive};
    // The archive is a step in staging, never trusted after a crash (the next run fetches it again): no
    // fsync. What is kept is the placed tree, synced before its rename (a kept archive with it).
    request.durable = false;
    engine_.add(std::move(request));
  }

  static bool is_html(const net::Response& response) {
    return response.content_type.find("text/html") != std::string::npos;
  }

  // True when the page gives no md5 (the archive's own checks then decide) or the download has it.
  static bool md5_matches(const PatchRecord& patch, const net::Response& response) {
    return !patch.md5() || *patch.md5() == response.digests.md5;
  }

  // On the transfer thread: true when the download did not match the page's md5 for the first time and
  // was queued to be fetched again. Otherwise the unpack worker is told the file is complete.
  bool fetch_again(InFlight& job, const net::Response& response) {
    const PatchRecord& patch = job.planned.patch;
    if (response.outcome != net::Outcome::ok || is_html(response)) return false;
    if (md5_matches(patch, response) || job.checksum_attempts > 0) {  // a second mismatch fails
      job.stream->mark_complete();
      return false;
    }
    ++job.checksum_attempts;
    job.stream->abandon();
    discard_download(job.archive);
    placing_.post(
        [this, text = fmt::format("{}: md5 mismatch (page {}, got {}); fetching it again", patch.id, *patch.md5(),
                                  response.digests.md5)] { warn(settings_, context_.report, text); });
    transfer(response.tag, job);
    return true;
  }

  // On the placement thread: the bundle's outcome, placed or failed, recorded and reported.
  void settle(InFlight& job, const net::Response& response) {
    const PlannedPatch& planned = job.planned;
    PatchReport report{.id = planned.patch.id,
                       .versions = planned.versions,
                       .outcome = PatchOutcome::failed,
                       .bytes = response.bytes,
                       .url = util::mask_url(planned.patch.bundle().url)};
    try {
      if (response.outcome != net::Outcome::ok) job.stream->abandon();
      if (response.outcome == net::Outcome::aborted) {
        report.reason = "interrupted";
        context_.report.patches.push_back(std::move(report));
        ++done_;
        return;
      }
      if (response.outcome != net::Outcome::ok) {
        fail_if_disk_full(settings_, planned.patch.id);
        throw PatchError(fmt::format("download failed: {}", response.error));
      }
      verify(job, response);
      report.path = place(job, response);
      report.outcome = planned.action == Action::replace ? PatchOutcome::replaced : PatchOutcome::placed;
      spdlog::info("{}: placed {} ({} bytes)", planned.patch.id, report.path, response.bytes);
    } catch (const PatchError& e) {
      fail_if_disk_full(settings_, planned.patch.id);
      report.reason = e.what();
      record_failure(planned, report.reason);
    }
    job.stream.reset();
    std::error_code ignored;
    fs::remove_all(job.unpack_dir, ignored);
    report.seconds = std::chrono::duration<double>(SteadyClock::now() - job.started).count();
    context_.report.patches.push_back(std::move(report));
    ++done_;
  }

  // Throws unless the download is what the page promised (a first md5 mismatch was fetched again).
  void verify(InFlight& job, const net::Response& response) {
    const PatchRecord& patch = job.planned.patch;
    if (is_html(response)) {
      job.stream->abandon();
      discard_download(job.archive);
      throw PatchError("the server sent an HTML page instead of the bundle (a login or captive portal page?)");
    }
    if (md5_matches(patch, response)) return;
    job.stream->abandon();
    discard_download(job.archive);
    throw PatchError(
        fmt::format("md5 mismatch: the page says {}, the download has {}", *patch.md5(), response.digests.md5));
  }

  // The unpacked tree in staging: the streamed one when it saw exactly the verified bytes, else the
  // complete file unpacked now.
  bundle::UnpackResult unpacked(InFlight& job, const net::Response& response) {
    try {
      std::optional<bundle::UnpackResult> streamed = job.stream->finish(response.digests.md5);
      // Without an md5 on the page, the archive's own checks are all there is; libarchive skips the gzip CRC.
      const PatchRecord& patch = job.planned.patch;
      const std::string& name = patch.bundle().relative_path;
      if (!patch.md5()) bundle::verify_gzip(job.archive, name.empty() ? patch.id : name);
      if (streamed) return std::move(*streamed);
      std::error_code ignored;
      fs::remove_all(job.unpack_dir, ignored);
      return bundle::unpack_archive(job.archive, job.unpack_dir, settings_.limits);
    } catch (const bundle::ArchiveError& e) {
      discard_download(job.archive);
      throw PatchError(e.what());  // this patch fails, the others go on
    } catch (...) {
      discard_download(job.archive);
      throw;
    }
  }

  // Completes the unpack in staging, then renames into place; returns the primary path relative to dest.
  std::string place(InFlight& job, const net::Response& response) {
    const PlannedPatch& planned = job.planned;
    const PatchRecord& patch = planned.patch;
    std::vector<std::string> versions = placement_versions(planned, context_);
    check_names(planned, versions);

    bundle::UnpackResult result = unpacked(job, response);
    for (const std::string& note : result.notes) warn(settings_, context_.report, patch.id + ": " + note);
    // The archive's top directory ESX-1000039/ becomes <date>_ESX-1000039/ (DESIGN §5).
    bundle::BundleTree tree = bundle::bundle_tree(job.unpack_dir, patch.id, std::move(result.files));
    std::vector<store::FileRow> files = file_rows(tree.files);
    if (settings_.keep_archives) keep_archive(job, response, tree.dir, files);
    discard_download(job.archive);

    std::string dir_name = bundle::bundle_dir_name(patch.release_date, patch.id);
    fs::path primary = fs::path(versions.front()) / dir_name;
    auto previous = context_.catalog.bundle(patch.id);
    // Recorded before the rename: a crash right after it leaves a copy the next run adopts with these digests.
    context_.catalog.mark_verified(patch.id, response.digests.md5, response.digests.sha256,
                                   static_cast<std::int64_t>(response.bytes), patch.md5(),
                                   util::to_unix(context_.clock.now()));
    bool replaced = bundle::place_directory(tree.dir, settings_.dest / primary);
    std::vector<store::PlacementRow> placements =
        place_links(settings_.dest, versions, dir_name, settings_.staging_dir());
    if (previous) remove_stale(settings_.dest, previous->path, placements);
    if (replaced) spdlog::info("{}: replaced the previous copy at {}", patch.id, primary.generic_string());

    store::Placed placed{.md5 = response.digests.md5,
                         .sha256 = response.digests.sha256,
                         .size = static_cast<std::int64_t>(response.bytes),
                         .verified_md5_expected = patch.md5(),
                         .path = primary.generic_string(),
                         .placements = placements,
                         .files = files};
    context_.catalog.mark_placed(patch.id, placed, util::to_unix(context_.clock.now()));
    return primary.generic_string();
  }

  // Moves the verified archive into the bundle directory (placed with it, atomically) and records it.
  void keep_archive(const InFlight& job, const net::Response& response, const fs::path& bundle_dir,
                    std::vector<store::FileRow>& files) {
    const PatchRecord& patch = job.planned.patch;
    const std::string name = bundle::kept_archive_name(patch.bundle().relative_path, patch.id);
    const fs::path kept = bundle_dir / name;
    std::error_code ec;
    if (fs::symlink_status(kept, ec).type() != fs::file_type::not_found) {
      warn(settings_, context_.report,
           fmt::format("{}: the archive holds an entry named {} itself; the download is not kept beside it", patch.id,
                       name));
      return;
    }
    fs::rename(job.archive, kept, ec);
    if (ec) {
      throw Error(ExitCode::storage, fmt::format("cannot keep the archive as {}: {}", kept.string(), ec.message()));
    }
    files.push_back({name, static_cast<std::int64_t>(response.bytes), response.digests.sha256});
  }

  void record_failure(const PlannedPatch& planned, const std::string& reason) {
    std::int64_t now = util::to_unix(context_.clock.now());
    auto bundle = context_.catalog.bundle(planned.patch.id);
    int failures = (bundle ? bundle->failures : 0) + 1;
    std::int64_t due = next_retry_at(failures, now, settings_.failures_before_backoff,
                                     settings_.failure_backoff.count(), settings_.failure_backoff_max.count());
    context_.catalog.mark_failed(planned.patch.id, reason, due, now);
    tell_failure(settings_,
                 fmt::format("{}: {} ({})", planned.patch.id, reason, util::mask_url(planned.patch.bundle().url)));
  }

  // Runs on its own thread: reads only atomics (the engine's counters, done_ and added_).
  void report_progress(const std::stop_token& stop) {
    auto started = SteadyClock::now();
    while (!stop.stop_requested()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      settings_.on_progress({done_.load(), added_.load(), engine_.stats().body_bytes,
                             std::chrono::duration<double>(SteadyClock::now() - started).count()});
    }
  }

  MirrorContext& context_;
  const SyncSettings& settings_;
  net::TransferEngine engine_;
  std::mutex mutex_;                 // guards in_flight_ (its elements stay put), waiting_ and active_
  std::deque<InFlight> in_flight_;   // by request tag
  std::deque<std::size_t> waiting_;  // indexes into in_flight_ not handed to the engine yet
  int active_ = 0;                   // handed to the engine and not reported back
  std::atomic<int> added_{0};
  std::atomic<int> done_{0};
  net::TransferEngine::Hold hold_;
  std::thread transfers_;
  std::exception_ptr transfer_error_;  // what ended the transfer thread (written before its join)
  std::jthread ticker_;
  util::SerialWorker placing_;  // last: it finishes its tasks (which use the members above) first
};

BundleMirror::BundleMirror(MirrorContext& context) : impl_(std::make_unique<Impl>(context)) {}
BundleMirror::~BundleMirror() = default;
void BundleMirror::add(PlannedPatch planned) { impl_->add(std::move(planned)); }
void BundleMirror::post(std::function<void()> task) { impl_->post(std::move(task)); }
void BundleMirror::call(const std::function<void()>& task) { impl_->call(task); }
void BundleMirror::finish() { impl_->finish(); }

void mirror_bundles(const std::vector<PlannedPatch>& work, MirrorContext& context) {
  if (work.empty()) return;
  BundleMirror mirror(context);
  for (const PlannedPatch& planned : work) mirror.add(planned);
  mirror.finish();
}

void link_versions(const PlannedPatch& planned, MirrorContext& context) {
  auto bundle = context.catalog.bundle(planned.patch.id);
  if (!bundle || !bundle->path) return;
  fs::path primary = *bundle->path;
  std::string dir_name = primary.filename().string();
  auto placed = context.placed_versions.find(planned.patch.id);
  for (const std::string& version : planned.versions) {
    if (placed != context.placed_versions.end() && placed->second.count(version)) continue;
    if (!bundle::is_safe_component(version)) continue;
    fs::path link = fs::path(version) / dir_name;
    bundle::place_link(context.settings.dest / primary, context.settings.dest / link, context.settings.staging_dir());
    context.catalog.add_placement(planned.patch.id, {version, link.generic_string(), true});
  }
  context.report.patches.push_back({.id = planned.patch.id,
                                    .versions = planned.versions,
                                    .outcome = PatchOutcome::linked,
                                    .path = primary.generic_string(),
                                    .url = util::mask_url(planned.patch.bundle().url)});
}

}  // namespace esxmirror
