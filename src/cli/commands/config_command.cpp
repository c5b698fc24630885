#include <cstdio>

#include "cli/commands/commands.hpp"
#include "cli/config_file.hpp"

namespace esxmirror::cli {

int run_config_show(const Options& options) {
  std::string text = render_config(options);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace esxmirror::cli
