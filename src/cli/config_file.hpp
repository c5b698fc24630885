#pragma once
// The TOML config file: every command-line option has a key (dashes become underscores).
#include <string>
#include <vector>

#include "cli/options.hpp"

namespace esxmirror::cli {

// Applies `file` to `options`. Unknown keys, wrong types and bad values throw Error(usage) naming the
// key and its line: "config /etc/esxmirror.toml:12: 'jobs' must be an integer from 1 to 64".
void load_config_file(const std::string& file, Options& options);

// Every key the config file accepts, sorted; those of the [rules] table as "rules.NAME". The man page's
// and the README's tests check each is documented.
std::vector<std::string> config_keys();

// The effective configuration as TOML, secrets masked (for `config show`).
std::string render_config(const Options& options);

}  // namespace esxmirror::cli
