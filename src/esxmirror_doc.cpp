// Build-time generator (not installed): renders the man page and the bash completion from the same
// CLI11 definitions `esxmirror` parses with, so neither can miss an option --help shows.
//   esxmirror-doc man TEMPLATE DATE OUT      doc/esxmirror.1.in -> esxmirror.1
//   esxmirror-doc bash-completion OUT
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/command_line.hpp"
#include "cli/config_file.hpp"
#include "cli/exit_codes.hpp"
#include "esxmirror/doc/completion.hpp"
#include "esxmirror/doc/man_page.hpp"

namespace {

using namespace esxmirror;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Written beside OUT and renamed, so a failed run never leaves a half page for the build to install.
void write_file(const std::string& path, const std::string& text) {
  std::string temporary = path + ".tmp";
  std::ofstream(temporary, std::ios::binary | std::ios::trunc) << text;
  if (std::ifstream(temporary, std::ios::binary | std::ios::ate).tellg() != static_cast<std::streamoff>(text.size())) {
    throw std::runtime_error("cannot write " + temporary);
  }
  std::filesystem::rename(temporary, path);
}

doc::ManPageInputs man_inputs(const cli::CommandLine& command_line, const std::string& date) {
  doc::ManPageInputs in;
  in.commands = doc::describe_commands(command_line.app);
  in.config_keys = cli::config_keys();
  for (const cli::ExitCodeDoc& row : cli::exit_code_table()) {
    in.exit_codes.push_back({static_cast<int>(row.code), row.meaning});
  }
  in.version = cli::program_version();
  in.date = date;
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    cli::CommandLine command_line;
    std::string what = argc > 1 ? argv[1] : "";
    if (what == "man" && argc == 5) {
      write_file(argv[4], doc::render_man_page(read_file(argv[2]), man_inputs(command_line, argv[3])));
    } else if (what == "bash-completion" && argc == 3) {
      write_file(argv[2], doc::render_bash_completion(doc::describe_commands(command_line.app)));
    } else {
      std::fputs("usage: esxmirror-doc man TEMPLATE DATE OUT | esxmirror-doc bash-completion OUT\n", stderr);
      return 2;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "esxmirror-doc: error: %s\n", e.what());
    return 1;
  }
}
