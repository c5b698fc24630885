// The bash completion is rendered from the CLI definitions: each command offers its own options, and
// a value is completed as a file name only where it can be a path.
#include <catch2/catch.hpp>

#include "cli/command_line.hpp"
#include "esxmirror/doc/completion.hpp"

using namespace esxmirror;
using namespace esxmirror::doc;

namespace {

// The value of `variable="..."` inside the case branch for `key` ("/sync").
std::string branch_value(const std::string& script, const std::string& key, const std::string& variable) {
  std::size_t branch = script.find("        \"" + key + "\")\n");
  REQUIRE(branch != std::string::npos);
  std::size_t end = script.find(";;", branch);
  std::size_t at = script.find(variable + "=\"", branch);
  if (at == std::string::npos || at > end) return "";
  at += variable.size() + 2;
  return " " + script.substr(at, script.find('"', at) - at) + " ";
}

}  // namespace

TEST_CASE("completion: every command offers each of its options", "[doc]") {
  cli::CommandLine command_line;
  std::vector<CommandDoc> commands = describe_commands(command_line.app);
  std::string script = render_bash_completion(commands);
  for (const CommandDoc& command : commands) {
    std::string key = command.path.empty() ? "" : "/" + command.path;
    std::replace(key.begin(), key.end(), ' ', '/');
    std::string offered = branch_value(script, key, "options");
    for (const OptionDoc& option : command.options) {
      for (const std::string& name : option.names) {
        if (option.positional) continue;
        INFO(key << " " << name);
        CHECK(offered.find(" " + name + " ") != std::string::npos);
      }
    }
  }
  CHECK(branch_value(script, "", "commands") == " sync list status verify retry prune rules config ");
  CHECK(script.find("complete -F _esxmirror esxmirror") != std::string::npos);
}

TEST_CASE("completion: file names after a path option and none after a number or a flag", "[doc]") {
  cli::CommandLine command_line;
  std::string script = render_bash_completion(describe_commands(command_line.app));
  std::string values = branch_value(script, "/sync", "value_options");
  std::string paths = branch_value(script, "/sync", "path_options");
  CHECK(paths.find(" --dest ") != std::string::npos);
  CHECK(paths.find(" --cacert ") != std::string::npos);
  CHECK(values.find(" --jobs ") != std::string::npos);
  CHECK(paths.find(" --jobs ") == std::string::npos);
  CHECK(values.find(" --dry-run ") == std::string::npos);
  CHECK(branch_value(script, "/rules/test", "file_positional") == " yes ");
  CHECK(branch_value(script, "/retry", "file_positional").empty());
}

TEST_CASE("completion: a new option is offered with no edit of the script", "[doc]") {
  cli::CommandLine command_line;
  std::string added;
  command_line.commands.sync->add_option("--an-option-added-later", added, "What the added option does");
  std::string script = render_bash_completion(describe_commands(command_line.app));
  CHECK(branch_value(script, "/sync", "path_options").find(" --an-option-added-later ") != std::string::npos);
}
