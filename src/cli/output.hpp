#pragma once
// The one place that decides what reaches the operator: log sinks, levels, the summary line.
#include <functional>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "esxmirror/core/report.hpp"

namespace esxmirror::cli {

// Sets up the default spdlog logger: stderr (colour only on a terminal) at warn, info with -v, debug
// with -vv, error with -q; plus --log-file (rotating) and --syslog at info or more detailed.
void setup_logging(const Options& options);

// A live progress line on stderr ("\r" rewritten in place), for terminals only; nullptr when stderr is
// not a terminal or output is quiet (cron gets no progress noise).
std::function<void(const Progress&)> progress_printer(const Options& options);
// Clears the progress line before other output.
void end_progress_line();

// Prints core's notices as they happen (SyncSettings::on_notice): a warning at warn, a failure at error
// (both shown unless -q hides warnings), secrets masked, the progress line cleared first.
std::function<void(Notice, const std::string&)> notice_printer();

// One-line error on stderr: "esxmirror: error: ...". Secrets masked.
void print_error(const std::string& message);

// --dry-run: one line per patch that would be fetched, replaced or linked (action, id, versions, release
// date, size when known, masked URL) on stdout, before the summary; nothing under -q.
void print_dry_run_plan(const RunReport& report, const Options& options);

// The one summary line of a sync on stdout (kept under -q only when something failed).
void print_summary(const RunReport& report, const Options& options);

// One line per item of what is new (label new/replaced, id, classification or severity/category, release
// date, versions, depot and summary), in the order given; the id and level columns fit their longest.
std::string new_item_lines(const std::vector<NewItem>& items);
// After a sync that placed or replaced anything: new_item_lines on stdout, before the summary line and
// whenever the summary line is printed.
void print_new_items(const RunReport& report, const Options& options);
// What a prune removed (dry run: would remove) on stdout, one line each (action, id, versions, bytes,
// why), then its summary line "esxmirror: prune: ..."; nothing under -q.
void print_prune(const PruneReport& report, const Options& options);

}  // namespace esxmirror::cli
