#pragma once
// The command-line layer: parses argv, merges config, runs a command, maps errors to exit codes.

namespace esxmirror::cli {

// Runs the program and returns its exit code (DESIGN §4). Never throws.
int run(int argc, char** argv);

}  // namespace esxmirror::cli
