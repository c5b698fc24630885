#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "cli/run_outputs.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/whats_new.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/store/depot_catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror::cli {

namespace {

std::string when(std::optional<std::int64_t> t) { return t ? util::iso8601(util::from_unix(*t)) : "-"; }

struct FailedVib {
  std::string depot;
  store::VibRow vib;
};

std::vector<FailedVib> failed_vibs(store::Database& db) {
  std::vector<FailedVib> failed;
  for (const store::SourceRow& source : store::all_sources(db)) {
    if (source.kind != "depot") continue;
    for (auto& [relpath, vib] : store::DepotCatalog(db, source.name).vibs()) {
      if (vib.state == store::VibState::failed) failed.push_back({source.name, std::move(vib)});
    }
  }
  return failed;
}

// --since as unix seconds; nullopt when not given. Throws Error(usage) for a value that is no date.
std::optional<std::int64_t> parse_since(const Options& options) {
  if (options.since.empty()) return std::nullopt;
  std::optional<util::TimePoint> since = util::parse_iso8601(options.since);
  if (!since) {
    throw Error(ExitCode::usage, fmt::format("--since {} is not a UTC date or time: write it as 2026-11-22 or "
                                             "2026-11-22T02:30",
                                             options.since));
  }
  return util::to_unix(*since);
}

// status --new: what is new since `since` (default: the start of the last run, what its mail listed; 0
// before any run), as the nightly mail prints it.
int show_new_items(const Options& options, store::Database& db, std::optional<std::int64_t> since) {
  if (!since) {
    std::vector<store::RunRow> last = store::Catalog(db).recent_runs(1);
    since = last.empty() ? 0 : last.front().started_at;
  }
  std::vector<NewItem> items = new_since(db, *since);
  const std::string from = util::iso8601(util::from_unix(*since));
  std::string out;
  if (options.json) {
    out = nlohmann::json({{"since", from}, {"new", new_items_json(items)}}).dump(2) + "\n";
  } else if (items.empty()) {
    out = fmt::format("nothing placed since {}\n", from);
  } else {
    out = new_item_lines(items);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

int run_status(const Options& options) {
  std::optional<std::int64_t> since = parse_since(options);
  store::Database db(options.sync.state_path(), store::Database::Mode::read_only);
  if (options.new_items) return show_new_items(options, db, since);
  store::Catalog catalog(db);
  std::vector<store::RunRow> runs = catalog.recent_runs(10);
  std::int64_t now = util::to_unix(util::system_clock().now());
  std::vector<store::CatalogEntry> failed;
  for (store::CatalogEntry& e : catalog.entries()) {
    if (e.bundle && (e.bundle->state == store::BundleState::failed || e.bundle->last_error)) failed.push_back(std::move(e));
  }

  std::vector<FailedVib> vibs = failed_vibs(db);

  std::string out;
  if (options.json) {
    nlohmann::json j = {{"runs", nlohmann::json::array()}, {"failed", nlohmann::json::array()}};
    for (const store::RunRow& r : runs) {
      j["runs"].push_back({{"id", r.id}, {"started_at", when(r.started_at)}, {"finished_at", when(r.finished_at)},
                           {"outcome", r.outcome}, {"exit_code", r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr)},
                           {"placed", r.placed}, {"skipped", r.skipped}, {"failed", r.failed}, {"bytes", r.bytes},
                           {"message", r.message}});
    }
    for (const store::CatalogEntry& e : failed) {
      const store::BundleRow& b = *e.bundle;
      j["failed"].push_back({{"id", e.patch.id}, {"state", store::to_string(b.state)}, {"failures", b.failures},
                             {"last_error", b.last_error.value_or("")}, {"next_retry_at", when(b.next_retry_at)},
                             {"due", !b.next_retry_at || *b.next_retry_at <= now}});
    }
    j["failed_vibs"] = nlohmann::json::array();
    for (const FailedVib& f : vibs) {
      j["failed_vibs"].push_back({{"source", f.depot}, {"id", f.vib.vib_id}, {"path", f.vib.relpath},
                                  {"failures", f.vib.failures}, {"last_error", f.vib.last_error.value_or("")},
                                  {"next_retry_at", when(f.vib.next_retry_at)},
                                  {"due", !f.vib.next_retry_at || *f.vib.next_retry_at <= now}});
    }
    out = j.dump(2) + "\n";
  } else {
    out += "Last runs:\n";
    if (runs.empty()) out += "  none yet\n";
    for (const store::RunRow& r : runs) {
      out += fmt::format("  #{:<4} {}  {:<11} exit {:<3} placed {:<4} unchanged {:<4} failed {:<4} {}\n", r.id,
                         when(r.started_at), r.outcome, r.exit_code ? std::to_string(*r.exit_code) : "-", r.placed,
                         r.skipped, r.failed, r.message);
    }
    out += "\nFailed patches:\n";
    if (failed.empty()) out += "  none\n";
    for (const store::CatalogEntry& e : failed) {
      const store::BundleRow& b = *e.bundle;
      bool due = !b.next_retry_at || *b.next_retry_at <= now;
      out += fmt::format("  {:<14} {} failure(s), {}: {}\n", e.patch.id, b.failures,
                         due ? std::string("due on the next run") : "next retry after " + when(b.next_retry_at),
                         b.last_error.value_or("-"));
    }
    if (!vibs.empty()) out += "\nFailed depot VIBs:\n";
    for (const FailedVib& f : vibs) {
      bool due = !f.vib.next_retry_at || *f.vib.next_retry_at <= now;
      out += fmt::format("  {}: {} failure(s), {}: {}\n", f.depot, f.vib.failures,
                         due ? std::string("due on the next run") : "next retry after " + when(f.vib.next_retry_at),
                         f.vib.last_error.value_or(f.vib.vib_id));
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace esxmirror::cli
