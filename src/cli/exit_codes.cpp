#include "cli/exit_codes.hpp"

#include <fmt/format.h>

namespace esxmirror::cli {

const std::vector<ExitCodeDoc>& exit_code_table() {
  static const std::vector<ExitCodeDoc> table = {
      {ExitCode::ok, "every selected patch is mirrored (including \"nothing new\")"},
      {ExitCode::partial,
       "partial: at least one patch failed (or is waiting out its backoff); all others were mirrored"},
      {ExitCode::usage, "usage or configuration error"},
      {ExitCode::locked, "another run holds the lock"},
      {ExitCode::source, "the source could not be read at all (index unreachable, 401/403, not a patch index)"},
      {ExitCode::storage,
       "local storage error (state database, disk full, permissions, a filesystem error; the path is named)"},
      {ExitCode::interrupted,
       "interrupted by SIGINT/SIGTERM (the run is recorded as interrupted; the next run resumes)"},
  };
  return table;
}

std::string exit_codes_help() {
  std::string text = "Exit codes:\n";
  for (const ExitCodeDoc& row : exit_code_table()) {
    text += fmt::format("  {:<4}{}\n", static_cast<int>(row.code), row.meaning);
  }
  return text;
}

}  // namespace esxmirror::cli
