#pragma once
// The man page esxmirror(1): hand-written prose (doc/esxmirror.1.in) merged with the sections rendered
// from the command-line definitions, so every option --help shows is in the page.
#include <string>
#include <string_view>
#include <vector>

#include "esxmirror/doc/reference.hpp"

namespace esxmirror::doc {

struct ExitStatusDoc {
  int code = 0;
  std::string meaning;
};

struct ManPageInputs {
  std::vector<CommandDoc> commands;       // describe_commands() of the program
  std::vector<std::string> config_keys;   // an option --foo-bar is marked with key foo_bar when it is one
  std::vector<ExitStatusDoc> exit_codes;  // the table --help's footer prints
  std::string version;                    // "0.1.0"
  std::string date;                       // "2026-11-29"
};

// `template_text` with its lines @SYNOPSIS@, @COMMANDS@, @OPTIONS@ and @EXIT_STATUS@ replaced by roff
// rendered from `inputs`, and @VERSION@ and @DATE@ filled in. Throws std::runtime_error naming any other
// @MARKER@ left in the text.
std::string render_man_page(const std::string& template_text, const ManPageInputs& inputs);

// `text` as roff text lines: backslashes escaped, dashes of option names as \-, and a line that would
// start with '.' or '\'' (a request) guarded with \&.
std::string roff_text(std::string_view text);

}  // namespace esxmirror::doc
