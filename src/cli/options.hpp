#pragma once
// Every setting of every command, and how the command line binds to it.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "esxmirror/core/settings.hpp"

namespace esxmirror::cli {

struct Options {
  SyncSettings sync;
  std::string config_file;
  std::string token_file;   // --token-file: the depot download token (read by load_token)
  std::string report_file;  // "-" = stdout
  std::string metrics_file;
  std::string log_file;
  bool syslog = false;
  int verbose = 0;  // -v count
  bool quiet = false;
  // list
  std::string state_filter;
  bool json = false;
  // status --new
  bool new_items = false;
  std::string since;  // ISO 8601 date or time; empty: the start of the last run
  // check
  bool read_metadata = false;
  // verify
  bool repair = false;
  // retry
  std::vector<std::string> ids;
  bool all_failed = false;
  // rules test
  std::string page_file;
};

// The commands, bound to `options`. `commands` receives each subcommand by name.
struct Commands {
  CLI::App* sync = nullptr;
  CLI::App* check = nullptr;
  CLI::App* list = nullptr;
  CLI::App* status = nullptr;
  CLI::App* verify = nullptr;
  CLI::App* retry = nullptr;
  CLI::App* rules_test = nullptr;
  CLI::App* config_show = nullptr;
  CLI::App* prune = nullptr;
};
Commands build_commands(CLI::App& app, Options& options);

// "auto", "depot", "legacy-html", "mirror" -> SourceKind. Throws std::invalid_argument.
SourceKind parse_source_kind(const std::string& name);

// Byte counts with an optional K/M/G suffix (powers of 1024): "500K" -> 512000. Throws std::invalid_argument.
unsigned long long parse_bytes(const std::string& text);

}  // namespace esxmirror::cli
