#include "cli/token.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "esxmirror/core/error.hpp"
#include "esxmirror/util/strings.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::cli {

namespace {

std::string read_token_file(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    throw Error(ExitCode::usage, fmt::format("cannot read the token file {}: {}", file, std::strerror(errno)));
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    throw Error(ExitCode::usage, fmt::format("the token file {} can be read by group or others (mode {:o}): "
                                             "chmod 600 {} and run again",
                                             file, st.st_mode & 07777, file));
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in && !in.eof()) throw Error(ExitCode::usage, fmt::format("cannot read the token file {}", file));
  std::string token = util::trim(bytes.str());
  if (token.empty()) throw Error(ExitCode::usage, fmt::format("the token file {} is empty", file));
  return token;
}

// A token sits in a URL path: only the characters a path segment carries as they are.
bool url_safe(const std::string& token) {
  return std::all_of(token.begin(), token.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~';
  });
}

}  // namespace

void load_token(Options& options) {
  std::string token;
  std::string from;
  if (!options.token_file.empty()) {
    token = read_token_file(options.token_file);
    from = "the token file " + options.token_file;
  } else if (const char* env = std::getenv("ESXMIRROR_TOKEN")) {
    token = util::trim(env);
    from = "ESXMIRROR_TOKEN";
  }
  bool needed = std::any_of(options.sync.sources.begin(), options.sync.sources.end(),
                            [](const std::string& url) { return url.find("{token}") != std::string::npos; });
  if (token.empty()) {
    if (needed) {
      throw Error(ExitCode::usage,
                  "--source holds {token} but no download token was given: put it in a file "
                  "(chmod 600) named by --token-file, or in ESXMIRROR_TOKEN");
    }
    return;
  }
  if (!url_safe(token)) {
    throw Error(ExitCode::usage, fmt::format("the download token from {} holds characters a URL cannot carry as "
                                             "they are (only letters, digits and -._~)",
                                             from));
  }
  util::add_sensitive_value(token);
  options.sync.network.secrets.add_placeholder("token", token);
}

}  // namespace esxmirror::cli
