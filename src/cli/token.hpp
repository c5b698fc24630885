#pragma once
// The depot's download token (issue 8 §4): read once, kept in memory, never written anywhere.
#include "cli/options.hpp"

namespace esxmirror::cli {

// Reads the token from --token-file (config token_file; surrounding whitespace stripped) or else the
// ESXMIRROR_TOKEN environment variable, and makes it the value of "{token}" in the run's URLs and a value
// masked in every output. Throws Error(usage) before any request: a token file readable by group or
// others, an unreadable or empty one, a token a URL path cannot carry, or a --source holding {token}
// when there is no token at all.
void load_token(Options& options);

}  // namespace esxmirror::cli
