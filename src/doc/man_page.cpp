#include "esxmirror/doc/man_page.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <stdexcept>

#include <fmt/format.h>

namespace esxmirror::doc {

namespace {

// True when text[i] begins an option name ("--dest", "-v") rather than being a hyphen inside a word
// ("comma-separated"): an option's dashes are written \- so the page shows and copies them as ASCII.
bool starts_option(std::string_view text, std::size_t i) {
  if (text[i] != '-' || i + 1 >= text.size()) return false;
  bool after_gap = i == 0 || std::string_view(" ([/,\"'`").find(text[i - 1]) != std::string_view::npos;
  return after_gap && (std::isalpha(static_cast<unsigned char>(text[i + 1])) || text[i + 1] == '-');
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

// "--dest" -> \fB\-\-dest\fR
std::string bold_name(std::string_view name) { return "\\fB" + roff_text(name) + "\\fR"; }

std::string italic(std::string_view text) { return "\\fI" + roff_text(text) + "\\fR"; }

std::string with_period(std::string text) {
  if (!text.empty() && text.back() != '.') text += '.';
  return text;
}

// The tag line of an option: "\fB\-j\fR, \fB\-\-jobs\fR \fIINT\fR".
std::string option_tag(const OptionDoc& option) {
  std::string tag;
  if (option.positional) {
    tag = italic(option.names.front());
  } else {
    for (const std::string& name : option.names) tag += (tag.empty() ? "" : ", ") + bold_name(name);
    if (option.takes_value) tag += " " + italic(option.value_name);
  }
  if (option.repeatable) tag += " ...";
  return tag;
}

// CLI11's validator texts as a sentence: "INT in [1 - 64]" -> "From 1 to 64."
std::string constraint_sentence(const std::string& constraint) {
  static const std::regex range(R"(^\w+ in \[(.+) - (.+)\]$)");
  std::smatch m;
  if (std::regex_match(constraint, m, range)) return fmt::format("From {} to {}.", m[1].str(), m[2].str());
  if (constraint == "FILE") return "Must be an existing file.";
  if (constraint == "DIR") return "Must be an existing directory.";
  if (constraint == "PATH(existing)") return "Must be an existing path.";
  return with_period("Must be: " + constraint);
}

std::string config_key_of(const OptionDoc& option, const std::vector<std::string>& keys) {
  if (option.positional) return "";
  std::string key = primary_name(option);
  std::replace(key.begin(), key.end(), '-', '_');
  return std::find(keys.begin(), keys.end(), key) != keys.end() ? key : "";
}

// One roff text line as lines of at most 80 bytes (mandoc's style limit), broken at spaces; a piece
// that would start with '.' or '\'' (a request) is guarded.
std::string wrapped(const std::string& line) {
  constexpr std::size_t width = 80;
  std::string out;
  std::size_t start = 0;
  while (line.size() - start > width) {
    std::size_t space = line.rfind(' ', start + width);
    if (space == std::string::npos || space <= start) space = line.find(' ', start + width);
    if (space == std::string::npos) break;
    out += line.substr(start, space - start) + "\n";
    start = space + 1;
    if (line[start] == '.' || line[start] == '\'') out += "\\&";
  }
  return out + line.substr(start) + "\n";
}

std::string render_option(const OptionDoc& option, const ManPageInputs& in) {
  std::string text = roff_text(with_period(option.description));
  if (!option.constraint.empty()) text += " " + roff_text(constraint_sentence(option.constraint));
  if (option.required && !option.positional) text += " Required.";
  if (std::string key = config_key_of(option, in.config_keys); !key.empty()) {
    text += " Config\\~key:\\~" + bold_name(key) + ".";  // \~: no line break inside
  }
  return ".TP\n" + option_tag(option) + "\n" + wrapped(text);
}

bool is_help(const OptionDoc& option) {
  return std::find(option.names.begin(), option.names.end(), "--help") != option.names.end();
}

std::vector<OptionDoc> own_options(const CommandDoc& command) {
  std::vector<OptionDoc> own;
  for (const OptionDoc& option : command.options) {
    if (option.group.empty() && !is_help(option)) own.push_back(option);
  }
  return own;
}

std::vector<std::string> shared_groups(const CommandDoc& command) {
  std::vector<std::string> groups;
  for (const OptionDoc& option : command.options) {
    if (!option.group.empty() && std::find(groups.begin(), groups.end(), option.group) == groups.end()) {
      groups.push_back(option.group);
    }
  }
  return groups;
}

// "a", "a and b", "a, b and c"
std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  }
  return out;
}

std::string render_synopsis(const ManPageInputs& in) {
  std::string out;
  for (const CommandDoc* command : leaf_commands(in.commands)) {
    out += ".B esxmirror " + roff_text(command->path) + "\n.RI [ options ]";
    for (const OptionDoc& option : command->options) {
      if (option.required && !option.positional) out += " " + option_tag(option);
    }
    out += "\n";
    for (const OptionDoc& option : command->options) {
      if (!option.positional) continue;
      std::string name = roff_text(option.names.front()), more = option.repeatable ? " ..." : "";
      out += option.required ? ".I " + name + more + "\n" : ".RI [ " + name + " \"" + more + "]\"\n";
    }
    out += ".br\n";
  }
  return out + ".B esxmirror\n.BR \\-\\-help \" | \" \\-\\-version\n";
}

std::string render_commands(const ManPageInputs& in) {
  std::string out;
  std::vector<const CommandDoc*> seen;
  for (const CommandDoc* command : leaf_commands(in.commands)) {
    out += ".SS \"esxmirror " + roff_text(command->path) + "\"\n";
    out += wrapped(roff_text(with_period(command->description)));
    std::vector<OptionDoc> own = own_options(*command);
    auto same_options = [&](const CommandDoc* earlier) { return !own.empty() && earlier->options == command->options; };
    if (auto same = std::find_if(seen.begin(), seen.end(), same_options); same != seen.end()) {
      out += wrapped("It takes the same options as \\fBesxmirror " + roff_text((*same)->path) + "\\fR.");
      continue;
    }
    for (const OptionDoc& option : own) out += render_option(option, in);
    std::vector<std::string> groups;
    for (const std::string& group : shared_groups(*command)) groups.push_back("\\fB" + roff_text(group) + "\\fR");
    if (!groups.empty()) {
      out += ".PP\n" + wrapped("It also takes the " + join_list(groups) + " options (see \\fBOPTIONS\\fR).");
    }
    seen.push_back(command);
  }
  return out;
}

std::string render_options(const ManPageInputs& in) {
  std::string out = ".SS \"General options\"\nEvery command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR.\n";
  for (const OptionDoc& option : in.commands.front().options) out += render_option(option, in);
  // Each shared group once, with the commands that take it.
  std::vector<std::string> order;
  std::map<std::string, std::vector<OptionDoc>> options;
  std::map<std::string, std::vector<std::string>> takers;
  for (const CommandDoc* command : leaf_commands(in.commands)) {
    for (const OptionDoc& option : command->options) {
      if (option.group.empty()) continue;
      if (!options.count(option.group)) order.push_back(option.group);
      std::vector<OptionDoc>& list = options[option.group];
      auto named = [&](const OptionDoc& o) { return o.names == option.names; };
      if (std::none_of(list.begin(), list.end(), named)) list.push_back(option);
      std::vector<std::string>& by = takers[option.group];
      std::string taker = "\\fB" + roff_text(command->path) + "\\fR";
      if (std::find(by.begin(), by.end(), taker) == by.end()) by.push_back(taker);
    }
  }
  for (const std::string& group : order) {
    out += ".SS \"" + roff_text(group) + " options\"\n" + wrapped("Taken by " + join_list(takers[group]) + ".");
    for (const OptionDoc& option : options[group]) out += render_option(option, in);
  }
  return out;
}

std::string render_exit_status(const ManPageInputs& in) {
  std::string out;
  for (const ExitStatusDoc& row : in.exit_codes) {
    out += fmt::format(".TP\n.B {}\n{}", row.code, wrapped(roff_text(with_period(row.meaning))));
  }
  return out;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

}  // namespace

std::string roff_text(std::string_view text) {
  std::string out;
  bool in_option = false;
  bool line_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = c == '\n';
    if (c == '-' && (in_option || starts_option(text, i))) {
      in_option = true;
      out += "\\-";
      continue;
    }
    if (!is_name_char(c)) in_option = false;
    out += c == '\\' ? std::string("\\e") : std::string(1, c);
  }
  return out;
}

std::string render_man_page(const std::string& template_text, const ManPageInputs& inputs) {
  const std::map<std::string, std::string> sections = {
      {"@SYNOPSIS@", render_synopsis(inputs)},
      {"@COMMANDS@", render_commands(inputs)},
      {"@OPTIONS@", render_options(inputs)},
      {"@EXIT_STATUS@", render_exit_status(inputs)},
  };
  std::string out;
  std::size_t start = 0;
  while (start < template_text.size()) {
    std::size_t end = template_text.find('\n', start);
    if (end == std::string::npos) end = template_text.size();
    std::string line = template_text.substr(start, end - start);
    auto section = sections.find(line);
    out += section != sections.end() ? section->second : line + "\n";
    start = end + 1;
  }
  replace_all(out, "@VERSION@", inputs.version);
  replace_all(out, "@DATE@", inputs.date);
  std::smatch left;
  if (std::regex_search(out, left, std::regex("@[A-Z_]+@"))) {
    throw std::runtime_error("man page template: unknown marker " + left.str() +
                             " (known: @SYNOPSIS@, @COMMANDS@, "
                             "@OPTIONS@, @EXIT_STATUS@, @VERSION@, @DATE@)");
  }
  return out;
}

}  // namespace esxmirror::doc
