#pragma once
// The documented exit codes (DESIGN §4): one table, printed by --help's footer and the man page's EXIT STATUS.
#include <string>
#include <vector>

#include "esxmirror/core/error.hpp"

namespace esxmirror::cli {

struct ExitCodeDoc {
  ExitCode code;
  std::string meaning;  // one line, for the operator
};

// Every exit code esxmirror returns, in ascending order, with what it means.
const std::vector<ExitCodeDoc>& exit_code_table();

// The table as --help's footer: "Exit codes:\n  0   every selected patch ...\n".
std::string exit_codes_help();

}  // namespace esxmirror::cli
