#include "cli/output.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <vector>

#include <fmt/format.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

#include "esxmirror/util/strings.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::cli {

void setup_logging(const Options& options) {
  std::vector<spdlog::sink_ptr> sinks;
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      isatty(STDERR_FILENO) ? spdlog::color_mode::automatic : spdlog::color_mode::never);
  console->set_pattern("esxmirror: %^%l%$: %v");
  spdlog::level::level_enum console_level = options.quiet          ? spdlog::level::err
                                            : options.verbose >= 2 ? spdlog::level::debug
                                            : options.verbose == 1 ? spdlog::level::info
                                                                   : spdlog::level::warn;
  console->set_level(console_level);
  sinks.push_back(console);
  spdlog::level::level_enum detail = options.verbose >= 2 ? spdlog::level::debug : spdlog::level::info;
  if (!options.log_file.empty()) {
    try {
      auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(options.log_file, 10u << 20, 5);
      file->set_pattern("%Y-%m-%dT%H:%M:%S%z [%P] %l: %v");
      file->set_level(detail);
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      print_error(fmt::format("cannot open log file {}: {}", options.log_file, e.what()));
    }
  }
  if (options.syslog) {
    auto syslog = std::make_shared<spdlog::sinks::syslog_sink_mt>("esxmirror", LOG_PID, LOG_DAEMON, false);
    syslog->set_pattern("%v");
    syslog->set_level(spdlog::level::info);
    sinks.push_back(syslog);
  }
  auto logger = std::make_shared<spdlog::logger>("esxmirror", sinks.begin(), sinks.end());
  logger->set_level(std::min(console_level, detail));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

namespace {
std::atomic<bool> progress_shown{false};
}

std::function<void(const Progress&)> progress_printer(const Options& options) {
  if (options.quiet || !isatty(STDERR_FILENO)) return nullptr;
  return [](const Progress& p) {
    double rate = p.seconds > 0 ? static_cast<double>(p.bytes) / p.seconds : 0;
    std::string eta = "--";
    if (p.patches_done > 0 && p.patches_done < p.patches_total) {
      double left = p.seconds / p.patches_done * (p.patches_total - p.patches_done);
      eta = fmt::format("{}:{:02}", static_cast<int>(left) / 60, static_cast<int>(left) % 60);
    }
    std::fprintf(stderr, "\r\033[K%d/%d bundles, %s, %s/s, ETA %s", p.patches_done, p.patches_total,
                 util::human_bytes(p.bytes).c_str(), util::human_bytes(static_cast<unsigned long long>(rate)).c_str(),
                 eta.c_str());
    std::fflush(stderr);
    progress_shown = true;
  };
}

void end_progress_line() {
  if (progress_shown.exchange(false)) std::fprintf(stderr, "\r\033[K");
}

std::function<void(Notice, const std::string&)> notice_printer() {
  return [](Notice notice, const std::string& text) {
    end_progress_line();
    const std::string shown = util::mask_secrets(text);
    if (notice == Notice::warning) {
      spdlog::warn("{}", shown);
    } else {
      spdlog::error("{}", shown);
    }
  };
}

void print_error(const std::string& message) {
  std::fprintf(stderr, "esxmirror: error: %s\n", util::mask_secrets(message).c_str());
}

namespace {

int planned(const RunReport& report, const std::string& action) {
  return static_cast<int>(std::count_if(report.patches.begin(), report.patches.end(), [&](const PatchReport& p) {
    return p.outcome == PatchOutcome::planned && p.action == action;
  }));
}

}  // namespace

void print_dry_run_plan(const RunReport& report, const Options& options) {
  if (!report.dry_run || options.quiet) return;
  std::string out;
  std::size_t id_width = 14;  // depot bulletin ids are longer than legacy bundle ids
  for (const PatchReport& p : report.patches) {
    if (p.outcome == PatchOutcome::planned) id_width = std::max(id_width, p.id.size());
  }
  for (const PatchReport& p : report.patches) {
    if (p.outcome != PatchOutcome::planned) continue;
    // A depot bulletin names its depot and metadata zip where a legacy bundle names its URL.
    std::string where = p.source.empty() ? util::mask_url(p.url) : p.source + "/" + p.path;
    out += fmt::format("would {:<7} {:<{}} {:<18} {:<10} {:>10}  {}{}\n", p.action, p.id, id_width,
                       util::join(p.versions, ","), p.release_date.value_or("undated"),
                       p.size ? util::human_bytes(*p.size) : "-", where, p.reason.empty() ? "" : " (" + p.reason + ")");
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

namespace {

// One line per depot source: what happened to its VIBs and documents.
// One line per depot that did something this run (or each, in a dry run or with -v): a night with nothing
// new stays the one summary line the cron mail shows.
void print_depot_lines(const RunReport& report, const Options& options) {
  for (const SourceReport& s : report.sources) {
    if (s.kind != "depot" || s.exit_code == ExitCode::source) continue;
    bool eventful = s.vibs_placed > 0 || !s.failed_vibs.empty() || s.vibs_deferred > 0 || !s.published.empty() ||
                    !s.removed.empty() || !s.failed_documents.empty();
    if (!eventful && !report.dry_run && options.verbose == 0) continue;
    std::string line = report.dry_run
                           ? fmt::format("depot {}: dry run: {} VIBs to fetch ({}), {} already in place", s.name,
                                         s.vibs_to_fetch, util::human_bytes(s.bytes_to_fetch), s.vibs_present)
                           : fmt::format(
                                 "depot {}: {} VIBs placed ({}), {} already in place, {} failed, {} waiting "
                                 "out a backoff; {} files published",
                                 s.name, s.vibs_placed, util::human_bytes(s.bytes), s.vibs_present,
                                 s.failed_vibs.size(), s.vibs_deferred, s.published.size());
    if (!s.removed.empty()) {
      line += fmt::format("; {} unreferenced files removed ({} freed)", s.removed.size(),
                          util::human_bytes(s.bytes_removed));
    }
    line += fmt::format("; {} requests ({} documents changed, {} unchanged)", s.requests, s.documents_fetched,
                        s.documents_not_modified);
    std::printf("esxmirror: %s\n", line.c_str());
  }
}

// Under -q the summary is kept only when something failed.
bool summary_shown(const RunReport& report, const Options& options) {
  int failed = report.count(PatchOutcome::failed) + report.count(PatchOutcome::deferred);
  return !options.quiet || failed > 0 || report.exit_code != ExitCode::ok;
}

// "critical/security", "Security", or "-".
std::string level_of(const NewItem& item) {
  std::string level = item.classification.empty() ? "-" : item.classification;
  if (!item.category.empty()) level += "/" + item.category;
  return level;
}

}  // namespace

std::string new_item_lines(const std::vector<NewItem>& items) {
  std::size_t id_width = 14, level_width = 8;
  for (const NewItem& item : items) {
    id_width = std::max(id_width, item.id.size());
    level_width = std::max(level_width, level_of(item).size());
  }
  std::string out;
  for (const NewItem& item : items) {
    std::string about = item.summary.empty() ? "-" : item.summary;
    if (!item.source.empty()) about = item.source + ": " + about;
    out += fmt::format("{:<8} {:<{}} {:<{}} {:<10} {:<12} {}\n", item.replaced ? "replaced" : "new", item.id, id_width,
                       level_of(item), level_width, item.release_date.value_or("undated"),
                       item.versions.empty() ? "-" : util::join(item.versions, ","), about);
  }
  return out;
}

void print_new_items(const RunReport& report, const Options& options) {
  if (report.new_items.empty() || !summary_shown(report, options)) return;
  std::string out = new_item_lines(report.new_items);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

void print_summary(const RunReport& report, const Options& options) {
  int failed = report.count(PatchOutcome::failed) + report.count(PatchOutcome::deferred);
  if (!summary_shown(report, options)) return;
  for (const SourceReport& s : report.sources) {
    if (s.exit_code == ExitCode::source && s.message != report.message) print_error(s.message);
  }
  print_depot_lines(report, options);
  constexpr std::size_t kNamed = 10;  // a depot failure can fail many bulletins: name the first few
  std::vector<std::string> failed_ids;
  std::size_t unnamed = 0;
  for (const PatchReport& p : report.patches) {
    if (p.outcome != PatchOutcome::failed && p.outcome != PatchOutcome::deferred) continue;
    if (failed_ids.size() < kNamed) {
      failed_ids.push_back(p.id);
    } else {
      ++unnamed;
    }
  }
  if (unnamed) failed_ids.push_back(fmt::format("and {} more", unnamed));
  std::string line;
  if (report.dry_run) {
    line = fmt::format("dry run: {} to fetch, {} to replace, {} to link, {} already mirrored", planned(report, "fetch"),
                       planned(report, "replace"), planned(report, "link"), report.count(PatchOutcome::skipped));
  } else {
    line = fmt::format("{} placed, {} replaced, {} unchanged, {} failed", report.count(PatchOutcome::placed),
                       report.count(PatchOutcome::replaced),
                       report.count(PatchOutcome::skipped) + report.count(PatchOutcome::linked), failed);
  }
  if (!failed_ids.empty()) line += fmt::format(" ({})", util::join(failed_ids, ", "));
  if (report.converted > 0) {
    line += fmt::format("; {} bundle director{} converted to the flat layout", report.converted,
                        report.converted == 1 ? "y" : "ies");
  }
  bool legacy = report.sources.empty() || std::any_of(report.sources.begin(), report.sources.end(),
                                                      [](const SourceReport& s) { return s.kind != "depot"; });
  line += fmt::format("; {} downloaded in {:.1f} s; {} requests", util::human_bytes(report.bytes_downloaded),
                      report.seconds, report.requests);
  if (legacy) line += fmt::format(" ({} pages changed, {} unchanged)", report.pages_fetched, report.pages_not_modified);
  line += fmt::format("; exit {}", static_cast<int>(report.exit_code));
  std::printf("esxmirror: %s\n", line.c_str());
  std::fflush(stdout);
}

namespace {

// "2 bundle(s)", or "2 bundle(s), 5 vib(s)" once there are several kinds.
std::string counts_by_kind(const std::vector<RemovalCandidate>& removed) {
  std::vector<std::pair<std::string, int>> counts;
  for (const RemovalCandidate& c : removed) {
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& kc) { return kc.first == c.kind; });
    if (it == counts.end()) {
      counts.emplace_back(c.kind, 1);
    } else {
      ++it->second;
    }
  }
  std::vector<std::string> parts;
  for (const auto& [kind, n] : counts) parts.push_back(fmt::format("{} {}(s)", n, kind));
  return util::join(parts, ", ");
}

}  // namespace

void print_prune(const PruneReport& report, const Options& options) {
  if (options.quiet) return;
  std::string out;
  const char* verb = report.dry_run ? "would remove" : "removed";
  for (const RemovalCandidate& c : report.removed) {
    out += fmt::format("{:<12} {:<14} {:<18} {:>10}  {}{}\n", verb, c.id, util::join(c.versions, ","),
                       util::human_bytes(c.bytes), c.reason,
                       c.interrupted ? " (decided by a prune that did not finish)" : "");
  }
  if (report.removed.empty()) {
    out += fmt::format("esxmirror: prune: nothing to remove; {}\n", util::join(report.policies, "; "));
  } else if (report.dry_run) {
    out += fmt::format("esxmirror: prune: dry run: {} would be removed, freeing {}\n", counts_by_kind(report.removed),
                       util::human_bytes(report.bytes()));
  } else {
    out += fmt::format("esxmirror: prune: removed {}, freed {}{}\n", counts_by_kind(report.removed),
                       util::human_bytes(report.bytes()), report.stopped ? " (interrupted)" : "");
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

}  // namespace esxmirror::cli
