#pragma once
// The vendor's download token as the sample server plays it: the token is the first segment of a depot
// URL ("/<token>/PROD/COMP/ESX_HOST/main/..."); an expired one answers 401, an invalid or missing one 403,
// and a new one is "not entitled" (403) for a while before it works.
#include <string>
#include <vector>

namespace esxmirror::testing {

struct DepotTokens {
  std::string valid;                 // the token that works; "" = depots are served without a token segment
  std::vector<std::string> expired;  // answered 401
  std::string fresh;                 // a new token: 403 "not entitled" for its first `fresh_denials` requests
  int fresh_denials = 3;
};

// What a request said about the token. Recorded in Hit::token, never the token itself.
enum class TokenVerdict { not_depot, valid, expired, invalid, missing, not_entitled };

// "valid", "expired", "invalid", "missing", "not-entitled"; "" for a request that is not to a depot.
const char* verdict_name(TokenVerdict verdict);

class TokenGate {
 public:
  struct Decision {
    TokenVerdict verdict = TokenVerdict::not_depot;
    std::string path;  // the request path with the token segment removed (what the request log shows)
  };

  void set(const DepotTokens& tokens);
  const DepotTokens& tokens() const { return tokens_; }
  // `path` (no leading '/') against the depot mounts (prefixes such as "PROD/COMP/ESX_HOST/main/").
  // Uses up one denial of the fresh token when it is the one given. Not thread-safe: call under a lock.
  Decision judge(const std::string& path, const std::vector<std::string>& mounts);

 private:
  DepotTokens tokens_;
  int fresh_denials_left_ = 0;
};

}  // namespace esxmirror::testing
