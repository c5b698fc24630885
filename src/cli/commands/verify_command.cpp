#include <cstdio>
#include <set>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "esxmirror/core/interrupt.hpp"
#include "esxmirror/core/verify.hpp"
#include "esxmirror/store/database.hpp"

namespace esxmirror::cli {

int run_verify(Options& options) {
  std::vector<VerifyProblem> problems;
  {
    store::Database db(options.sync.state_path(), store::Database::Mode::read_only);
    store::Catalog catalog(db);
    problems = verify_mirror(options.sync, catalog);
  }
  std::set<std::string> damaged;
  for (const VerifyProblem& p : problems) {
    std::printf("%s: %s: %s\n", p.id.c_str(), p.what.c_str(), p.path.c_str());
    damaged.insert(p.id);
  }
  if (problems.empty()) {
    std::printf("esxmirror: verify: every placed bundle matches the catalog\n");
    return 0;
  }
  std::printf("esxmirror: verify: %zu problem(s) in %zu bundle(s)%s\n", problems.size(), damaged.size(),
              options.repair ? "; repairing" : "; run `esxmirror verify --repair` to fetch them again");
  if (!options.repair) return static_cast<int>(ExitCode::partial);

  options.sync.network.stop_flag = &stop_requested();
  options.sync.on_notice = notice_printer();
  RunReport report = repair_bundles(options.sync, std::vector<std::string>(damaged.begin(), damaged.end()));
  if (!report.message.empty()) print_error(report.message);
  for (const PatchReport& p : report.patches) {
    std::printf("%s: %s%s%s\n", p.id.c_str(), p.outcome == PatchOutcome::replaced ? "repaired" : to_string(p.outcome),
                p.reason.empty() ? "" : ": ", p.reason.c_str());
  }
  return static_cast<int>(report.exit_code);
}

}  // namespace esxmirror::cli
