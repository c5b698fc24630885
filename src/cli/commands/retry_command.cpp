#include <cstdio>

#include <fmt/format.h>

#include "cli/commands/commands.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror::cli {

int run_retry(const Options& options) {
  if (options.ids.empty() == !options.all_failed) {
    throw Error(ExitCode::usage, "retry needs patch ids or --all-failed (not both)");
  }
  store::Database db(options.sync.state_path(), store::Database::Mode::read_write);
  store::Catalog catalog(db);
  std::vector<std::string> unknown;
  std::vector<std::string> due = options.all_failed ? catalog.make_all_failed_due() : catalog.make_due(options.ids, unknown);
  if (!unknown.empty()) {
    throw Error(ExitCode::usage, fmt::format("unknown patch id(s): {} (see `esxmirror list`)", util::join(unknown, ", ")));
  }
  std::printf("esxmirror: %zu patch(es) due on the next sync%s%s\n", due.size(), due.empty() ? "" : ": ",
              util::join(due, ", ").c_str());
  return 0;
}

}  // namespace esxmirror::cli
