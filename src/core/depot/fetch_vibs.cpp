// Downloading VIBs: `jobs` at a time into staging, size and sha-256 checked on the streamed bytes, then
// placed in batches: one syncfs for the batch, each renamed to its place under <dest>/<name>/, one
// transaction recording them. A bad digest is fetched once more, then failed; nothing unverified or not
// yet on disk ever reaches a final name. The transfer thread only checks digests and queues requests;
// the catalog rows and the batches' syncfs and renames run in order on one placement thread.
#include <chrono>
#include <deque>
#include <filesystem>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/depot/depot_context.hpp"
#include "esxmirror/bundle/placement.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/notices.hpp"
#include "esxmirror/core/plan.hpp"
#include "esxmirror/util/fs.hpp"
#include "esxmirror/util/hash.hpp"
#include "esxmirror/util/serial_worker.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

namespace {

// A batch is placed when it holds this many VIBs or its first one has waited this long: per VIB, one
// fsync each cost more than the transfer itself (S6 in scripts/bench: 2,000 VIBs x 64 KiB); the age
// keeps VIBs appearing steadily on a slow link, and bounds what a crash can cost.
constexpr std::size_t kBatchFiles = 64;
constexpr auto kBatchAge = std::chrono::milliseconds(200);
// Placement tasks (mostly one catalog row per VIB started) waiting before the transfer thread waits too.
constexpr std::size_t kPlacementBacklog = 2 * kBatchFiles;

class VibFetcher {
 public:
  VibFetcher(DepotContext& context, const std::vector<store::VibRef>& work,
             const std::map<std::string, store::VibRow>& known)
      : context_(context),
        work_(work),
        known_(known),
        engine_(context.settings.network, context.settings.retry, context.settings.jobs),
        attempts_(work.size(), 0) {}

  std::set<std::string> run() {
    for (std::size_t i = 0; i < work_.size(); ++i) waiting_.push_back(i);
    for (int i = 0; i < context_.settings.jobs; ++i) start_next();
    engine_.run([&](net::Response&& r) {
      placing_.rethrow_if_failed();  // a storage error ends the run as it would have on this thread
      finish(std::move(r));
      start_next();
    });
    place_batch();  // what was verified, also when interrupted
    placing_.drain();
    context_.outcome.requests += engine_.stats().requests;
    context_.report.requests += engine_.stats().requests;
    if (interrupted_)
      throw Error(ExitCode::interrupted, "interrupted: in-flight downloads are kept and resumed by the next run");
    return placed_;
  }

 private:
  fs::path staged(const store::VibRef& vib) const { return context_.staging_dir() / vib.relpath; }

  void start_next() {
    if (waiting_.empty()) return;
    std::size_t index = waiting_.front();
    waiting_.pop_front();
    const store::VibRef& vib = work_[index];
    placing_.post([this, &vib] { context_.catalog.mark_vib_downloading(vib.relpath, context_.now()); });
    transfer(index);
  }

  void transfer(std::size_t index) {
    const store::VibRef& vib = work_[index];
    net::Request request{index, vib.url, {}, staged(vib)};         // stored form: the engine puts the token in
    request.expected_size = static_cast<std::uint64_t>(vib.size);  // a longer body is cut, not downloaded
    request.digests = util::StreamHasher::Algorithms::sha256;
    request.durable = false;  // place_batch() syncs the file system before any rename to a final name
    engine_.add(std::move(request));
  }

  void finish(net::Response&& r) {
    const store::VibRef& vib = work_[r.tag];
    if (r.outcome == net::Outcome::aborted) {
      interrupted_ = true;
      return;
    }
    context_.outcome.bytes += r.bytes;
    context_.report.bytes_downloaded += r.bytes;
    if (r.outcome != net::Outcome::ok && r.outcome != net::Outcome::size_mismatch) {
      return fail(vib, fmt::format("download failed: {}", r.error));
    }
    if (r.content_type.find("text/html") != std::string::npos) {
      std::error_code ignored;
      fs::remove(staged(vib), ignored);
      return fail(vib, "the server sent an HTML page instead of the VIB (a login or captive portal page?)");
    }
    if (r.outcome == net::Outcome::size_mismatch || r.bytes != static_cast<std::uint64_t>(vib.size) ||
        r.digests.sha256 != vib.sha256) {
      std::error_code ignored;
      fs::remove(staged(vib), ignored);
      std::string what =
          r.outcome == net::Outcome::size_mismatch ? r.error
          : r.bytes != static_cast<std::uint64_t>(vib.size)
              ? fmt::format("size mismatch: the metadata says {} bytes, the download has {}", vib.size, r.bytes)
              : fmt::format("sha-256 mismatch: the metadata says {}, the download has {}", vib.sha256,
                            r.digests.sha256);
      if (++attempts_[r.tag] < 2) {
        placing_.post(
            [this, text = fmt::format("VIB {} ({}): {}; fetching it again", vib.vib_id,
                                      fs::path(vib.relpath).filename().string(), what)] { context_.warn(text); });
        transfer(r.tag);
        return;
      }
      return fail(vib, what);
    }
    if (batch_.empty()) batch_started_ = std::chrono::steady_clock::now();
    batch_.push_back(r.tag);
    if (batch_.size() >= kBatchFiles || std::chrono::steady_clock::now() - batch_started_ >= kBatchAge) place_batch();
  }

  // The verified VIBs of the batch: made durable by one syncfs, renamed to their final names, recorded in
  // one transaction. A power cut loses at most the renames and records of the last batches: the next run
  // adopts a VIB found under its final name by its sha-256, and downloads the others again; a file under a
  // final name is always complete and verified.
  void place_batch() {
    if (batch_.empty()) return;
    placing_.wait_below(kPlacementBacklog);
    placing_.post([this, batch = std::exchange(batch_, {})] { place(batch); });
  }

  // On the placement thread.
  void place(const std::vector<std::size_t>& batch) {
    try {
      util::sync_filesystem(context_.staging_dir());
    } catch (const util::StorageError& e) {
      for (const std::size_t index : batch) {
        std::error_code ignored;
        fs::remove(staged(work_[index]), ignored);
        record_failure(work_[index], fmt::format("download failed: {}", e.what()));
      }
      return;
    }
    std::vector<std::string> relpaths;
    for (const std::size_t index : batch) {
      const store::VibRef& vib = work_[index];
      bundle::place_file(staged(vib), context_.root() / vib.relpath);
      relpaths.push_back(vib.relpath);
      placed_.insert(vib.relpath);
      ++context_.outcome.vibs_placed;
      spdlog::info("{}: placed {} ({} bytes)", context_.source.name, vib.relpath, vib.size);
    }
    context_.catalog.mark_vibs_placed(relpaths, context_.now());
  }

  void fail(const store::VibRef& vib, const std::string& reason) {
    placing_.post([this, &vib, reason] { record_failure(vib, reason); });
  }

  // On the placement thread.
  void record_failure(const store::VibRef& vib, const std::string& reason) {
    std::int64_t now = context_.now();
    auto row = known_.find(vib.relpath);
    int failures = (row != known_.end() ? row->second.failures : 0) + 1;
    const SyncSettings& s = context_.settings;
    std::int64_t due = next_retry_at(failures, now, s.failures_before_backoff, s.failure_backoff.count(),
                                     s.failure_backoff_max.count());
    std::string text = fmt::format("VIB {} ({}): {}", vib.vib_id, fs::path(vib.relpath).filename().string(), reason);
    context_.catalog.mark_vib_failed(vib.relpath, text, due, now);
    context_.outcome.failed_vibs.push_back({vib.vib_id, vib.relpath, text});
    tell_failure(context_.settings, context_.source.name + ": " + text);
  }

  DepotContext& context_;
  const std::vector<store::VibRef>& work_;
  const std::map<std::string, store::VibRow>& known_;  // catalog state before this run: failure counts
  net::TransferEngine engine_;
  std::vector<int> attempts_;  // checksum attempts per VIB this run
  std::deque<std::size_t> waiting_;
  std::vector<std::size_t> batch_;  // verified, not yet placed (indexes into work_)
  std::chrono::steady_clock::time_point batch_started_;
  std::set<std::string> placed_;
  bool interrupted_ = false;
  util::SerialWorker placing_;  // last: it finishes its tasks (which use the members above) first
};

}  // namespace

void adopt_present_vibs(DepotContext& context, DepotPlan& plan) {
  std::vector<store::VibRef> still;
  std::vector<std::string> adopted;
  for (store::VibRef& vib : plan.fetch) {
    const fs::path file = context.root() / vib.relpath;
    std::error_code ec;
    bool same = fs::is_regular_file(fs::symlink_status(file, ec)) &&
                fs::file_size(file, ec) == static_cast<std::uintmax_t>(vib.size) && !ec;
    if (same) {
      try {
        same = util::hash_file(file).sha256 == vib.sha256;
      } catch (const std::runtime_error&) {
        same = false;  // unreadable: fetched again, and the rename replaces it
      }
    }
    if (same) {
      adopted.push_back(vib.relpath);
      plan.in_place.insert(vib.relpath);
    } else {
      still.push_back(std::move(vib));
    }
  }
  plan.fetch = std::move(still);
  if (adopted.empty()) return;
  context.catalog.mark_vibs_placed(adopted, context.now());
  spdlog::info("{}: {} VIBs already in place were adopted (not fetched again)", context.source.name, adopted.size());
}

std::set<std::string> fetch_vibs(DepotContext& context, const DepotPlan& plan,
                                 const std::map<std::string, store::VibRow>& known) {
  if (plan.fetch.empty()) return {};
  VibFetcher fetcher(context, plan.fetch, known);
  return fetcher.run();
}

}  // namespace esxmirror
