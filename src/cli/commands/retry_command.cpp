#include <fmt/format.h>

#include <cstdio>

#include "cli/commands/commands.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror::cli {

namespace {

// Failed: a bundle that could not be mirrored, or a placed one whose replacement failed (what `status` lists).
bool has_failed(const store::BundleRow& row) { return row.state == store::BundleState::failed || row.last_error; }

void print_due(const std::vector<std::string>& due) {
  std::printf("esxmirror: %zu patch(es) due on the next sync: %s\n", due.size(), util::join(due, ", ").c_str());
}

}  // namespace

int run_retry(const Options& options) {
  if (options.ids.empty() == !options.all_failed) {
    throw Error(ExitCode::usage, "retry needs patch ids or --all-failed (not both)");
  }
  store::Database db(options.sync.state_path(), store::Database::Mode::read_write);
  store::Catalog catalog(db);
  if (options.all_failed) {
    std::vector<std::string> due = catalog.make_all_failed_due();
    if (due.empty()) {
      std::printf("esxmirror: no patch has failed: nothing to retry\n");
    } else {
      print_due(due);
    }
    return 0;
  }

  std::vector<std::string> unknown, due, not_failed;
  for (const std::string& id : options.ids) {
    if (!catalog.patch(id)) {
      unknown.push_back(id);
      continue;
    }
    auto row = catalog.bundle(id);
    if (row && has_failed(*row)) {
      due.push_back(id);
    } else {
      not_failed.push_back(fmt::format("{} has not failed ({}): nothing to retry", id,
                                       row ? store::to_string(row->state) : "a KB note, no bundle"));
    }
  }
  if (!unknown.empty()) {
    throw Error(ExitCode::usage, fmt::format("unknown patch id(s): {} (see `esxmirror list`); nothing was changed",
                                             util::join(unknown, ", ")));
  }
  catalog.make_due(due);
  for (const std::string& line : not_failed) std::printf("esxmirror: %s\n", line.c_str());
  if (!due.empty()) print_due(due);
  return 0;
}

}  // namespace esxmirror::cli
