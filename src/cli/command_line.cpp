#include "cli/command_line.hpp"

#include <string>

#include "cli/exit_codes.hpp"

namespace esxmirror::cli {

const char* program_version() { return ESXMIRROR_VERSION; }

CommandLine::CommandLine() {
  app.set_version_flag("--version", std::string("esxmirror ") + program_version());
  options.sync.network.user_agent = std::string("esxmirror/") + program_version();
  app.require_subcommand(1);
  app.footer(exit_codes_help());
  commands = build_commands(app, options);
}

}  // namespace esxmirror::cli
