#pragma once
// Environment variables set or unset for one scope of a test (the child processes it starts inherit
// them), restored when the scope ends.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace esxmirror::testing {

class ScopedEnv {
 public:
  ScopedEnv() = default;
  ~ScopedEnv();  // restores every variable set() touched, last change first
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

  // Sets `name` to `value`, or unsets it with nullopt.
  void set(const std::string& name, const std::optional<std::string>& value);

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Unsets every proxy variable libcurl reads (http_proxy, https_proxy, all_proxy, no_proxy, either case),
// so the test's own environment cannot steer a run.
void clear_proxy_environment(ScopedEnv& env);

}  // namespace esxmirror::testing
