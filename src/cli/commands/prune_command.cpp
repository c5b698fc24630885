// `esxmirror prune [--dry-run]`: what retention removes, printed one line each with the bytes freed.
#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/interrupt.hpp"
#include "esxmirror/core/prune.hpp"

namespace esxmirror::cli {

int run_prune(Options& options) {
  options.sync.network.stop_flag = &stop_requested();
  options.sync.on_notice = notice_printer();
  PruneReport report = prune(options.sync);
  print_prune(report, options);
  if (report.stopped) {
    throw Error(ExitCode::interrupted,
                "interrupted: what was decided and not removed yet is removed by the next "
                "`esxmirror prune` (the index already lists none of it)");
  }
  return 0;
}

}  // namespace esxmirror::cli
