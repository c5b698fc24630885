#pragma once
// The bash completion script, rendered from the command-line definitions so it offers every command and
// option --help shows.
#include <string>
#include <vector>

#include "esxmirror/doc/reference.hpp"

namespace esxmirror::doc {

// A bash script defining `_esxmirror` and `complete -F _esxmirror esxmirror`: it completes command
// names, then that command's options; file names after an option taking a path and for a file
// positional; nothing after a numeric option.
std::string render_bash_completion(const std::vector<CommandDoc>& commands);

}  // namespace esxmirror::doc
