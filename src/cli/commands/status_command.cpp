#include <cstdio>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "cli/run_outputs.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/prune.hpp"
#include "esxmirror/core/whats_new.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/store/depot_catalog.hpp"
#include "esxmirror/util/clock.hpp"
#include "esxmirror/util/strings.hpp"

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

std::uint64_t total_bytes(const std::vector<RemovalCandidate>& candidates) {
  std::uint64_t total = 0;
  for (const RemovalCandidate& c : candidates) total += c.bytes;
  return total;
}

nlohmann::json candidates_json(const std::vector<RemovalCandidate>& candidates) {
  nlohmann::json list = nlohmann::json::array();
  for (const RemovalCandidate& c : candidates) {
    list.push_back({{"kind", c.kind},
                    {"id", c.id},
                    {"source", c.source},
                    {"versions", c.versions},
                    {"bytes", c.bytes},
                    {"reason", c.reason},
                    {"interrupted", c.interrupted}});
  }
  return list;
}

nlohmann::json retention_json(const RetentionStatus& r) {
  nlohmann::json usage = nlohmann::json::array();
  std::uint64_t on_disk = 0;
  for (const UsageRow& u : r.usage) {
    usage.push_back({{"source", u.source},
                     {"version", u.version},
                     {"items", u.items},
                     {"bytes", u.bytes},
                     {"linked_bytes", u.linked_bytes}});
    on_disk += u.bytes - u.linked_bytes;
  }
  return {{"usage", usage},
          {"on_disk_bytes", on_disk},
          {"retention",
           {{"policies", r.policies},
            {"would_remove", candidates_json(r.removable)},
            {"would_free_bytes", total_bytes(r.removable)},
            {"waiting", candidates_json(r.waiting)},
            {"waiting_bytes", total_bytes(r.waiting)}}}};
}

// The mirror's size per source and version, and what prune would free now and later.
std::string retention_text(const RetentionStatus& r) {
  std::string out = "\nMirror size:\n";
  if (r.usage.empty()) out += "  nothing placed yet\n";
  std::uint64_t on_disk = 0;
  for (const UsageRow& u : r.usage) {
    out += fmt::format(
        "  {:<8} {:<12} {:>5} {:<9} {:>11}{}\n", u.source, u.version, u.items, u.unit, util::human_bytes(u.bytes),
        u.linked_bytes ? fmt::format("  ({} of it linked from another version)", util::human_bytes(u.linked_bytes))
                       : "");
    on_disk += u.bytes - u.linked_bytes;
  }
  if (!r.usage.empty()) out += fmt::format("  {:<38}{:>11}\n", "on disk", util::human_bytes(on_disk));

  out += fmt::format("\nRetention: {}\n", util::join(r.policies, "; "));
  if (r.removable.empty()) {
    out += "  prune would remove nothing now\n";
  } else {
    out += fmt::format("  prune would free {} now:\n", util::human_bytes(total_bytes(r.removable)));
  }
  for (const RemovalCandidate& c : r.removable) {
    out +=
        fmt::format("    {:<14} {:<18} {:>10}  {}{}\n", c.id, util::join(c.versions, ","), util::human_bytes(c.bytes),
                    c.reason, c.interrupted ? " (decided by a prune that did not finish)" : "");
  }
  std::map<std::string, std::vector<RemovalCandidate>> waiting;  // by kind
  for (const RemovalCandidate& c : r.waiting) waiting[c.kind].push_back(c);
  for (const auto& [kind, candidates] : waiting) {
    out += fmt::format("  {} but kept for now: {} {}(s), {}\n", kind == "bundle" ? "superseded" : "unreferenced",
                       candidates.size(), kind, util::human_bytes(total_bytes(candidates)));
  }
  return out;
}

}  // namespace

int run_status(const Options& options) {
  std::optional<std::int64_t> since = parse_since(options);
  store::Database db(options.sync.state_path(), store::Database::Mode::read_only);
  if (options.new_items) return show_new_items(options, db, since);
  store::Catalog catalog(db);
  std::vector<store::RunRow> runs = catalog.recent_runs(10);
  std::int64_t now = util::to_unix(util::system_clock().now());
  const RetentionStatus retention = retention_status(options.sync, catalog, util::system_clock());
  std::vector<store::CatalogEntry> failed;
  for (store::CatalogEntry& e : catalog.entries()) {
    if (e.bundle && (e.bundle->state == store::BundleState::failed || e.bundle->last_error))
      failed.push_back(std::move(e));
  }

  std::vector<FailedVib> vibs = failed_vibs(db);

  std::string out;
  if (options.json) {
    nlohmann::json j = {{"runs", nlohmann::json::array()}, {"failed", nlohmann::json::array()}};
    for (const store::RunRow& r : runs) {
      j["runs"].push_back({{"id", r.id},
                           {"started_at", when(r.started_at)},
                           {"finished_at", when(r.finished_at)},
                           {"outcome", r.outcome},
                           {"exit_code", r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr)},
                           {"placed", r.placed},
                           {"skipped", r.skipped},
                           {"failed", r.failed},
                           {"bytes", r.bytes},
                           {"message", r.message}});
    }
    for (const store::CatalogEntry& e : failed) {
      const store::BundleRow& b = *e.bundle;
      j["failed"].push_back({{"id", e.patch.id},
                             {"state", store::to_string(b.state)},
                             {"failures", b.failures},
                             {"last_error", b.last_error.value_or("")},
                             {"next_retry_at", when(b.next_retry_at)},
                             {"due", !b.next_retry_at || *b.next_retry_at <= now}});
    }
    j["failed_vibs"] = nlohmann::json::array();
    for (const FailedVib& f : vibs) {
      j["failed_vibs"].push_back({{"source", f.depot},
                                  {"id", f.vib.vib_id},
                                  {"path", f.vib.relpath},
                                  {"failures", f.vib.failures},
                                  {"last_error", f.vib.last_error.value_or("")},
                                  {"next_retry_at", when(f.vib.next_retry_at)},
                                  {"due", !f.vib.next_retry_at || *f.vib.next_retry_at <= now}});
    }
    j.update(retention_json(retention));
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
    out += retention_text(retention);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace esxmirror::cli
