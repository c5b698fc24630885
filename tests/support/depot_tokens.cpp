// The token gate in front of the sample depots (see depot_tokens.hpp for the vendor behaviour it plays).
#include "support/depot_tokens.hpp"

#include <algorithm>

namespace esxmirror::testing {
namespace {

bool under_mount(const std::string& path, const std::vector<std::string>& mounts) {
  return std::any_of(mounts.begin(), mounts.end(), [&](const std::string& mount) { return path.rfind(mount, 0) == 0; });
}

}  // namespace

const char* verdict_name(TokenVerdict verdict) {
  switch (verdict) {
    case TokenVerdict::not_depot:
      return "";
    case TokenVerdict::valid:
      return "valid";
    case TokenVerdict::expired:
      return "expired";
    case TokenVerdict::invalid:
      return "invalid";
    case TokenVerdict::missing:
      return "missing";
    case TokenVerdict::not_entitled:
      return "not-entitled";
  }
  return "";
}

void TokenGate::set(const DepotTokens& tokens) {
  tokens_ = tokens;
  fresh_denials_left_ = tokens.fresh.empty() ? 0 : tokens.fresh_denials;
}

TokenGate::Decision TokenGate::judge(const std::string& path, const std::vector<std::string>& mounts) {
  if (tokens_.valid.empty()) return {under_mount(path, mounts) ? TokenVerdict::valid : TokenVerdict::not_depot, path};
  if (under_mount(path, mounts)) return {TokenVerdict::missing, path};
  const std::size_t slash = path.find('/');
  if (slash == std::string::npos) return {TokenVerdict::not_depot, path};
  const std::string token = path.substr(0, slash), rest = path.substr(slash + 1);
  const bool expired = std::find(tokens_.expired.begin(), tokens_.expired.end(), token) != tokens_.expired.end();
  const bool fresh = !tokens_.fresh.empty() && token == tokens_.fresh;
  // A known token is stripped wherever it leads (even out of the depots), so no log ever holds one.
  if (token != tokens_.valid && !expired && !fresh && !under_mount(rest, mounts))
    return {TokenVerdict::not_depot, path};
  if (token == tokens_.valid) return {TokenVerdict::valid, rest};
  if (expired) return {TokenVerdict::expired, rest};
  if (fresh) {
    if (fresh_denials_left_ <= 0) return {TokenVerdict::valid, rest};
    --fresh_denials_left_;
    return {TokenVerdict::not_entitled, rest};
  }
  return {TokenVerdict::invalid, rest};
}

}  // namespace esxmirror::testing
