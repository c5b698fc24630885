#pragma once
// The command reference as plain values, read from the CLI11 definitions (src/cli/options.cpp): the man
// page and the bash completion are rendered from it, so they follow every option added there.
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace esxmirror::doc {

struct OptionDoc {
  std::vector<std::string> names;  // "-j", "--jobs"; a positional has its one name: "page"
  bool positional = false;
  bool takes_value = false;  // false: a flag
  bool repeatable = false;   // a list: given more than once (or comma-separated)
  bool required = false;
  std::string value_name;  // as --help shows it: "INT", "TEXT"; "" for a flag
  std::string constraint;  // the validators' text after the type: "INT in [1 - 64]", "FILE"; or ""
  std::string description;
  std::string group;  // "" for the command's own options, else a shared group: "Common", "Network"
  bool operator==(const OptionDoc&) const = default;
};

struct CommandDoc {
  std::string path;  // "sync", "rules test"; "" for the program itself
  std::string description;
  std::vector<OptionDoc> options;        // as defined, hidden ones left out; --help and --version included
  std::vector<std::string> subcommands;  // names of the direct subcommands, as defined
};

// Every visible command, depth first in definition order, the program itself ("") first.
std::vector<CommandDoc> describe_commands(const CLI::App& app);

// The commands that run something (no subcommands of their own), in the same order.
std::vector<const CommandDoc*> leaf_commands(const std::vector<CommandDoc>& commands);

// The option's long name without dashes ("--low-speed-limit" -> "low-speed-limit"); else its first name.
std::string primary_name(const OptionDoc& option);

}  // namespace esxmirror::doc
