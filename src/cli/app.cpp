#include "esxmirror/cli/app.hpp"

#include <csignal>
#include <cstdio>
#include <exception>

#include "cli/command_line.hpp"
#include "cli/commands/commands.hpp"
#include "cli/config_file.hpp"
#include "cli/output.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/interrupt.hpp"

namespace esxmirror::cli {

namespace {

void on_signal(int) { stop_requested().store(true); }

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int dispatch(CommandLine& a) {
  Commands& c = a.commands;
  Options& o = a.options;
  if (c.sync->parsed()) return run_sync(o);
  if (c.check->parsed()) return run_check(o);
  if (c.list->parsed()) return run_list(o);
  if (c.status->parsed()) return run_status(o);
  if (c.verify->parsed()) return run_verify(o);
  if (c.retry->parsed()) return run_retry(o);
  if (c.rules_test->parsed()) return run_rules_test(o);
  if (c.config_show->parsed()) return run_config_show(o);
  if (c.prune->parsed()) return run_prune(o);
  throw Error(ExitCode::usage, "no command given; see esxmirror --help");
}

}  // namespace

int run(int argc, char** argv) {
  try {
    // Parse once to find --config, then again over the config's values so the command line wins.
    auto first = std::make_unique<CommandLine>();
    try {
      first->app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      int code = first->app.exit(e);
      return code == 0 ? 0 : static_cast<int>(ExitCode::usage);
    }
    auto final_app = std::make_unique<CommandLine>();
    if (!first->options.config_file.empty()) load_config_file(first->options.config_file, final_app->options);
    final_app->app.parse(argc, argv);
    // The source's credentials and tokens stay in memory: URLs are kept without them (util/secrets.hpp).
    for (const std::string& url : final_app->options.sync.sources)
      final_app->options.sync.network.secrets.add_source(url);
    setup_logging(final_app->options);
    install_signal_handlers();
    return dispatch(*final_app);
  } catch (const CLI::ParseError& e) {
    print_error(e.what());
    return static_cast<int>(ExitCode::usage);
  } catch (const std::exception& e) {
    const Error end = run_error(e);
    print_error(end.what());
    return static_cast<int>(end.code());
  }
}

}  // namespace esxmirror::cli
