#pragma once
// A real nginx (Debian's nginx-light) serving a mirror directory on 127.0.0.1 with the README's recipe
// (packaging/nginx-esxmirror.conf), for the tiers-of-mirrors tests. It runs as the test's own user, in
// the foreground with no master process (so it never switches user), its pid file, logs and temporary
// directories in a directory of the test's.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace esxmirror::testing {

// One line of nginx's access log, as the server's log_format writes it.
struct NginxRequest {
  std::string method;
  std::string uri;  // decoded path, no query
  int status = 0;
  std::uint64_t body_bytes = 0;
};

class NginxServer {
 public:
  // Reads the recipe at `recipe`, replaces its `listen` line with 127.0.0.1 and a free port and its `root`
  // line with `root`, writes nginx.conf into `work_dir` (created) and starts nginx; returns once it
  // answers. Throws std::runtime_error when nginx is not installed (scripts/setup installs nginx-light),
  // the recipe has no listen or root line, or nginx does not start (with its error log).
  NginxServer(const std::filesystem::path& recipe, const std::filesystem::path& root,
              const std::filesystem::path& work_dir);
  ~NginxServer();  // SIGTERM, then waits for it
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT/" + path.
  std::string url(const std::string& path = "") const;
  // The requests logged since the start or the last reset_requests(), in order, once the log is quiet.
  std::vector<NginxRequest> requests() const;
  void reset_requests();

 private:
  bool start_on(int port);  // false when nginx did not come up (a port taken meanwhile, say)

  std::filesystem::path recipe_, root_, work_dir_;
  int port_ = 0;
  std::uintmax_t log_offset_ = 0;
  std::unique_ptr<Child> nginx_;
};

// Where nginx is installed; "" when it is not.
std::string nginx_binary();

}  // namespace esxmirror::testing
