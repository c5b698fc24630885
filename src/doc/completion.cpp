#include "esxmirror/doc/completion.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace esxmirror::doc {

namespace {

// An option value the shell can offer file names for: anything but a number (paths, URLs, names).
bool value_is_path(const OptionDoc& option) {
  static const std::vector<std::string> numbers = {"INT", "UINT", "FLOAT", "NUMBER"};
  return std::find(numbers.begin(), numbers.end(), option.value_name) == numbers.end();
}

bool positional_is_file(const OptionDoc& option) {
  return option.constraint == "FILE" || option.constraint == "PATH(existing)";
}

std::string words(const std::vector<std::string>& list) {
  std::string out;
  for (const std::string& word : list) out += (out.empty() ? "" : " ") + word;
  return out;
}

// "rules test" -> "/rules/test": the key the script's scan of the typed words builds.
std::string key_of(const std::string& path) {
  std::string key = path.empty() ? "" : "/" + path;
  std::replace(key.begin(), key.end(), ' ', '/');
  return key;
}

std::string case_branch(const CommandDoc& command) {
  std::vector<std::string> options, value_options, path_options;
  bool file_positional = false;
  for (const OptionDoc& option : command.options) {
    if (option.positional) {
      file_positional = file_positional || positional_is_file(option);
      continue;
    }
    options.insert(options.end(), option.names.begin(), option.names.end());
    if (!option.takes_value) continue;
    value_options.insert(value_options.end(), option.names.begin(), option.names.end());
    if (value_is_path(option)) path_options.insert(path_options.end(), option.names.begin(), option.names.end());
  }
  std::string branch = fmt::format("        \"{}\")\n", key_of(command.path));
  if (!command.subcommands.empty()) branch += fmt::format("            commands=\"{}\"\n", words(command.subcommands));
  branch += fmt::format("            options=\"{}\"\n", words(options));
  if (!value_options.empty()) branch += fmt::format("            value_options=\"{}\"\n", words(value_options));
  if (!path_options.empty()) branch += fmt::format("            path_options=\"{}\"\n", words(path_options));
  if (file_positional) branch += "            file_positional=\"yes\"\n";
  return branch + "            ;;\n";
}

}  // namespace

std::string render_bash_completion(const std::vector<CommandDoc>& commands) {
  std::vector<std::string> keys;
  for (const CommandDoc& command : commands) {
    if (!command.path.empty()) keys.push_back(key_of(command.path));
  }
  std::string pattern;
  for (const std::string& key : keys) pattern += (pattern.empty() ? "" : " | ") + key;
  std::string branches;
  for (const CommandDoc& command : commands) branches += case_branch(command);
  return fmt::format(R"(# bash completion for esxmirror(1)
# Generated from the command-line definitions (src/cli/options.cpp) by esxmirror-doc: do not edit.

_esxmirror() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD - 1]}}
    local path="" i
    # The command typed so far ("/rules/test"): a word naming a subcommand of it extends it.
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "$path/${{COMP_WORDS[i]}}" in
            {}) path+="/${{COMP_WORDS[i]}}" ;;
        esac
    done
    local commands="" options="" value_options="" path_options="" file_positional=""
    case "$path" in
{}    esac
    COMPREPLY=()
    if [[ " $value_options " == *" $prev "* ]]; then
        if [[ " $path_options " == *" $prev "* ]]; then
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
    elif [[ $cur == -* || ( -z $commands && -z $file_positional ) ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
    elif [[ -n $commands ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
    else
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}}
complete -F _esxmirror esxmirror
)",
                     pattern, branches);
}

}  // namespace esxmirror::doc
