#include "esxmirror/doc/reference.hpp"

#include <CLI/CLI.hpp>

namespace esxmirror::doc {

namespace {

OptionDoc describe_option(const CLI::Option& option, const std::string& own_group) {
  OptionDoc doc;
  for (const std::string& name : option.get_snames()) doc.names.push_back("-" + name);
  for (const std::string& name : option.get_lnames()) doc.names.push_back("--" + name);
  if (doc.names.empty()) {
    doc.positional = true;
    doc.names.push_back(option.get_name(true));
  }
  doc.takes_value = option.get_expected_max() > 0;  // a flag expects no value
  doc.repeatable = doc.takes_value && option.get_items_expected_max() > 1;
  doc.required = option.get_required();
  if (doc.takes_value) {
    // CLI11 joins the type and each validator's text with ':' ("INT:INT in [1 - 64]"), as --help shows.
    std::string type = option.get_option_text().empty() ? option.get_type_name() : option.get_option_text();
    std::size_t colon = type.find(':');
    doc.value_name = type.substr(0, colon);
    if (colon != std::string::npos) doc.constraint = type.substr(colon + 1);
  }
  doc.description = option.get_description();
  doc.group = option.get_group() == own_group ? "" : option.get_group();
  return doc;
}

void describe(const CLI::App& app, const std::string& path, std::vector<CommandDoc>& out) {
  CommandDoc command;
  command.path = path;
  command.description = app.get_description();
  // The help flag is in the group CLI11 gives options that name none: the command's own options.
  const std::string own_group = app.get_help_ptr() != nullptr ? app.get_help_ptr()->get_group() : "Options";
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden
    command.options.push_back(describe_option(*option, own_group));
  }
  auto visible = [](const CLI::App* sub) { return !sub->get_group().empty(); };
  std::vector<const CLI::App*> subcommands = app.get_subcommands(visible);
  for (const CLI::App* sub : subcommands) command.subcommands.push_back(sub->get_name());
  out.push_back(std::move(command));
  for (const CLI::App* sub : subcommands) {
    describe(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
  }
}

}  // namespace

std::vector<CommandDoc> describe_commands(const CLI::App& app) {
  std::vector<CommandDoc> out;
  describe(app, "", out);
  return out;
}

std::vector<const CommandDoc*> leaf_commands(const std::vector<CommandDoc>& commands) {
  std::vector<const CommandDoc*> leaves;
  for (const CommandDoc& command : commands) {
    if (command.subcommands.empty() && !command.path.empty()) leaves.push_back(&command);
  }
  return leaves;
}

std::string primary_name(const OptionDoc& option) {
  for (const std::string& name : option.names) {
    if (name.rfind("--", 0) == 0) return name.substr(2);
  }
  return option.names.front();
}

}  // namespace esxmirror::doc
