#pragma once
// The whole command line as CLI11 objects: what `run` parses and what the man page and the bash
// completion are generated from (src/doc/), so the three cannot disagree.
#include <CLI/CLI.hpp>

#include "cli/options.hpp"

namespace esxmirror::cli {

// The program's CLI11 app (description, --version, footer, every command) bound to `options`.
// Not copyable or movable: the commands hold references into it.
struct CommandLine {
  Options options;
  CLI::App app{"esxmirror: keep an internal mirror of VMware ESX/ESXi patches", "esxmirror"};
  Commands commands;

  CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;
};

// The version string `--version` prints the number of: "0.1.0".
const char* program_version();

}  // namespace esxmirror::cli
