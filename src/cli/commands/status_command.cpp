#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.hpp"
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

// What one depot holds, and what of it waits for cleanup (unreferenced, inside the grace period).
struct DepotUsage {
  std::string name;
  int vibs = 0;
  std::int64_t bytes = 0;
  int unreferenced = 0;
  std::int64_t unreferenced_bytes = 0;
};

std::vector<DepotUsage> depot_usage(store::Database& db) {
  std::vector<DepotUsage> all;
  for (const store::SourceRow& source : store::all_sources(db)) {
    if (source.kind != "depot") continue;
    DepotUsage usage{source.name};
    for (const auto& [relpath, vib] : store::DepotCatalog(db, source.name).vibs()) {
      if (vib.state != store::VibState::placed) continue;
      ++usage.vibs;
      usage.bytes += vib.size;
      if (vib.unreferenced_since) {
        ++usage.unreferenced;
        usage.unreferenced_bytes += vib.size;
      }
    }
    all.push_back(usage);
  }
  return all;
}

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

}  // namespace

int run_status(const Options& options) {
  store::Database db(options.sync.state_path(), store::Database::Mode::read_only);
  store::Catalog catalog(db);
  std::vector<store::RunRow> runs = catalog.recent_runs(10);
  std::int64_t now = util::to_unix(util::system_clock().now());
  std::vector<store::CatalogEntry> failed;
  for (store::CatalogEntry& e : catalog.entries()) {
    if (e.bundle && (e.bundle->state == store::BundleState::failed || e.bundle->last_error)) failed.push_back(std::move(e));
  }

  std::vector<FailedVib> vibs = failed_vibs(db);
  std::vector<DepotUsage> depots = depot_usage(db);

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
    j["depots"] = nlohmann::json::array();
    for (const DepotUsage& d : depots) {
      j["depots"].push_back({{"name", d.name}, {"vibs", d.vibs}, {"bytes", d.bytes},
                             {"unreferenced_vibs", d.unreferenced}, {"unreferenced_bytes", d.unreferenced_bytes}});
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
    if (!depots.empty()) out += "\nDepots:\n";
    for (const DepotUsage& d : depots) {
      out += fmt::format("  {}: {} VIBs in place ({}); {} unreferenced ({}) waiting for cleanup\n", d.name, d.vibs,
                         util::human_bytes(static_cast<unsigned long long>(d.bytes)), d.unreferenced,
                         util::human_bytes(static_cast<unsigned long long>(d.unreferenced_bytes)));
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
