#include "cli/command_line.hpp"

#include <string>

#include "cli/exit_codes.hpp"

namespace esxmirror::cli {

namespace {

// Above the exit codes in `sync --help`.
constexpr const char* kSyncLayout =
    "Each bundle is placed as <dest>/<version>/<YYYY-MM-DD>_<bundle>/: the archive's top directory, renamed,\n"
    "with contents.xml, descriptor.xml and the RPMs directly inside. A mirror from an earlier release is\n"
    "converted to that layout on the first run, without downloading anything. A usage error creates nothing.\n";

}  // namespace

const char* program_version() { return ESXMIRROR_VERSION; }

CommandLine::CommandLine() {
  app.set_version_flag("--version", std::string("esxmirror ") + program_version());
  options.sync.network.user_agent = std::string("esxmirror/") + program_version();
  app.require_subcommand(1);
  app.footer(exit_codes_help());
  commands = build_commands(app, options);
  commands.sync->footer(std::string(kSyncLayout) + "\n" + exit_codes_help());
}

}  // namespace esxmirror::cli
