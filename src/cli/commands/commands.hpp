#pragma once
// One function per command; each returns the process exit code and throws esxmirror::Error.
#include "cli/options.hpp"

namespace esxmirror::cli {

int run_sync(Options& options);
int run_list(const Options& options);
int run_status(const Options& options);
int run_verify(Options& options);
int run_retry(const Options& options);
int run_rules_test(const Options& options);
int run_config_show(const Options& options);
int run_prune(Options& options);

}  // namespace esxmirror::cli
