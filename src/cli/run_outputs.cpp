#include "cli/run_outputs.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "esxmirror/util/clock.hpp"

namespace esxmirror::cli {

nlohmann::json new_items_json(const std::vector<NewItem>& items) {
  nlohmann::json list = nlohmann::json::array();
  for (const NewItem& item : items) {
    list.push_back({{"id", item.id},
                    {"source", item.source},
                    {"classification", item.classification},
                    {"category", item.category},
                    {"release_date", item.release_date ? nlohmann::json(*item.release_date) : nlohmann::json(nullptr)},
                    {"summary", item.summary},
                    {"versions", item.versions},
                    {"replaced", item.replaced},
                    {"placed_at", util::iso8601(util::from_unix(item.placed_at))}});
  }
  return list;
}

std::string render_run_report(const RunReport& report) {
  nlohmann::json patches = nlohmann::json::array();
  for (const PatchReport& p : report.patches) {
    nlohmann::json entry = {{"id", p.id},       {"versions", p.versions}, {"outcome", to_string(p.outcome)},
                            {"bytes", p.bytes}, {"seconds", p.seconds},   {"url", p.url}};
    entry["reason"] = p.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.reason);
    entry["path"] = p.path.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.path);
    if (p.outcome == PatchOutcome::planned) {  // --dry-run: what would be done, as the printed list says
      entry["action"] = p.action;
      entry["release_date"] = p.release_date ? nlohmann::json(*p.release_date) : nlohmann::json(nullptr);
      entry["size"] = p.size ? nlohmann::json(*p.size) : nlohmann::json(nullptr);
    }
    if (!p.source.empty()) entry["source"] = p.source;
    patches.push_back(std::move(entry));
  }
  nlohmann::json sources = nlohmann::json::array();
  for (const SourceReport& s : report.sources) {
    nlohmann::json failed_vibs = nlohmann::json::array();
    for (const VibFailure& f : s.failed_vibs)
      failed_vibs.push_back({{"id", f.id}, {"path", f.path}, {"reason", f.reason}});
    sources.push_back({{"url", s.url},
                       {"kind", s.kind},
                       {"name", s.name},
                       {"exit_code", static_cast<int>(s.exit_code)},
                       {"message", s.message},
                       {"requests", s.requests},
                       {"documents_fetched", s.documents_fetched},
                       {"documents_not_modified", s.documents_not_modified},
                       {"bytes", s.bytes},
                       {"vibs_placed", s.vibs_placed},
                       {"vibs_present", s.vibs_present},
                       {"vibs_deferred", s.vibs_deferred},
                       {"vibs_failed", s.failed_vibs.size()},
                       {"vibs_to_fetch", s.vibs_to_fetch},
                       {"bytes_to_fetch", s.bytes_to_fetch},
                       {"published", s.published},
                       {"failed_documents", s.failed_documents},
                       {"failed_vibs", failed_vibs},
                       {"removed", s.removed},
                       {"bytes_removed", s.bytes_removed},
                       {"bytes_unreferenced", s.bytes_unreferenced}});
  }
  nlohmann::json pruned = nullptr;  // prune_after_sync: what the prune at the end removed (or would)
  if (report.pruned) {
    pruned = {{"bytes", report.pruned->bytes()}, {"removed", nlohmann::json::array()}};
    for (const RemovalCandidate& c : report.pruned->removed) {
      pruned["removed"].push_back({{"kind", c.kind},
                                   {"id", c.id},
                                   {"source", c.source},
                                   {"versions", c.versions},
                                   {"paths", c.paths},
                                   {"bytes", c.bytes},
                                   {"reason", c.reason}});
    }
  }
  nlohmann::json counts = nlohmann::json::object();
  for (PatchOutcome o : {PatchOutcome::placed, PatchOutcome::replaced, PatchOutcome::linked, PatchOutcome::skipped,
                         PatchOutcome::failed, PatchOutcome::deferred, PatchOutcome::planned}) {
    counts[to_string(o)] = report.count(o);
  }
  nlohmann::json json = {{"run_id", report.run_id},
                         {"started_at", report.started_at},
                         {"finished_at", report.finished_at},
                         {"seconds", report.seconds},
                         {"exit_code", static_cast<int>(report.exit_code)},
                         {"outcome", report.outcome},
                         {"dry_run", report.dry_run},
                         {"message", report.message},
                         {"counts", counts},
                         {"bytes_downloaded", report.bytes_downloaded},
                         {"requests", report.requests},
                         {"pages_fetched", report.pages_fetched},
                         {"pages_not_modified", report.pages_not_modified},
                         {"converted", report.converted},
                         {"warnings", report.warnings},
                         {"patches", patches},
                         {"sources", sources},
                         {"pruned", pruned},
                         {"new", new_items_json(report.new_items)}};
  return json.dump(2) + "\n";
}

std::string render_metrics(const RunReport& report, std::int64_t finished_at, std::int64_t last_success,
                           const std::map<std::string, int>& by_state) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, const std::string& samples) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}", name, help, name, type, samples);
  };
  metric("esxmirror_last_run_timestamp_seconds", "gauge", "When the last sync finished.",
         fmt::format("esxmirror_last_run_timestamp_seconds {}\n", finished_at));
  metric("esxmirror_last_success_timestamp_seconds", "gauge", "When the last sync that exited 0 finished.",
         fmt::format("esxmirror_last_success_timestamp_seconds {}\n", last_success));
  metric("esxmirror_last_exit_code", "gauge", "Exit code of the last sync.",
         fmt::format("esxmirror_last_exit_code {}\n", static_cast<int>(report.exit_code)));
  metric("esxmirror_last_run_duration_seconds", "gauge", "Wall time of the last sync.",
         fmt::format("esxmirror_last_run_duration_seconds {:.3f}\n", report.seconds));
  metric("esxmirror_last_run_downloaded_bytes", "gauge", "Bundle bytes downloaded by the last sync.",
         fmt::format("esxmirror_last_run_downloaded_bytes {}\n", report.bytes_downloaded));
  std::string patches;
  for (PatchOutcome o : {PatchOutcome::placed, PatchOutcome::replaced, PatchOutcome::linked, PatchOutcome::skipped,
                         PatchOutcome::failed, PatchOutcome::deferred}) {
    patches += fmt::format("esxmirror_last_run_patches{{outcome=\"{}\"}} {}\n", to_string(o), report.count(o));
  }
  metric("esxmirror_last_run_patches", "gauge", "Selected patches by outcome in the last sync.", patches);
  std::string states;
  for (const char* state : {"discovered", "downloading", "verified", "placed", "failed", "pruning", "pruned"}) {
    auto it = by_state.find(state);
    states += fmt::format("esxmirror_bundles{{state=\"{}\"}} {}\n", state, it == by_state.end() ? 0 : it->second);
  }
  metric("esxmirror_bundles", "gauge", "Bundles in the catalog by state.", states);
  return out;
}

}  // namespace esxmirror::cli
