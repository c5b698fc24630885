// The reference read from the CLI11 definitions is what the man page and the completion are made of:
// it must see every command and option the program parses, with what each takes.
#include <catch2/catch.hpp>

#include <algorithm>

#include "cli/command_line.hpp"
#include "esxmirror/doc/reference.hpp"

using namespace esxmirror;
using namespace esxmirror::doc;

namespace {

const CommandDoc& command(const std::vector<CommandDoc>& all, const std::string& path) {
  auto found = std::find_if(all.begin(), all.end(), [&](const CommandDoc& c) { return c.path == path; });
  REQUIRE(found != all.end());
  return *found;
}

const OptionDoc& option(const CommandDoc& command, const std::string& name) {
  auto named = [&](const OptionDoc& o) { return std::find(o.names.begin(), o.names.end(), name) != o.names.end(); };
  auto found = std::find_if(command.options.begin(), command.options.end(), named);
  INFO(command.path << " " << name);
  REQUIRE(found != command.options.end());
  return *found;
}

}  // namespace

TEST_CASE("reference: every command of the program, the program itself first", "[doc]") {
  cli::CommandLine command_line;
  std::vector<CommandDoc> all = describe_commands(command_line.app);
  REQUIRE(all.front().path.empty());
  CHECK(all.front().subcommands ==
        std::vector<std::string>{"sync", "check", "list", "status", "verify", "retry", "prune", "rules", "config"});
  std::vector<std::string> leaves;
  for (const CommandDoc* leaf : leaf_commands(all)) leaves.push_back(leaf->path);
  CHECK(leaves == std::vector<std::string>{"sync", "check", "list", "status", "verify", "retry", "prune", "rules test",
                                           "config show"});
}

TEST_CASE("reference: an option's names, value, constraint, group and repetition", "[doc]") {
  cli::CommandLine command_line;
  std::vector<CommandDoc> all = describe_commands(command_line.app);
  const CommandDoc& sync = command(all, "sync");

  const OptionDoc& jobs = option(sync, "--jobs");
  CHECK(jobs.names == std::vector<std::string>{"-j", "--jobs"});
  CHECK(jobs.takes_value);
  CHECK(jobs.value_name == "INT");
  CHECK(jobs.constraint == "INT in [1 - 64]");
  CHECK(jobs.group.empty());  // sync's own
  CHECK_FALSE(jobs.repeatable);

  const OptionDoc& dry_run = option(sync, "--dry-run");
  CHECK_FALSE(dry_run.takes_value);
  CHECK(dry_run.value_name.empty());

  CHECK(option(sync, "--esx-version").repeatable);
  CHECK(option(sync, "--dest").group == "Common");
  CHECK(option(sync, "--proxy").group == "Network");
  CHECK(option(sync, "--cacert").constraint == "FILE");

  const OptionDoc& page = option(command(all, "rules test"), "page");
  CHECK(page.positional);
  CHECK(page.required);
  CHECK(primary_name(page) == "page");
  CHECK(primary_name(jobs) == "jobs");
}

TEST_CASE("reference: an option added to the definitions is in the reference and a hidden one is not", "[doc]") {
  cli::CommandLine command_line;
  std::string added;
  command_line.commands.sync->add_option("--an-option-added-later", added, "What the added option does");
  command_line.commands.sync->add_option("--internal-only", added, "not for operators")->group("");
  std::vector<CommandDoc> all = describe_commands(command_line.app);
  const CommandDoc& sync = command(all, "sync");
  CHECK(option(sync, "--an-option-added-later").description == "What the added option does");
  auto hidden = [](const OptionDoc& o) { return o.names == std::vector<std::string>{"--internal-only"}; };
  CHECK(std::none_of(sync.options.begin(), sync.options.end(), hidden));
}
