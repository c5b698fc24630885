#pragma once
// The secrets of a run (DESIGN §6): credentials and tokens the operator hands esxmirror on the command
// line, in the config file or in a token file. They live only in memory. Every URL esxmirror keeps (state
// database, reports, logs, resume records) is in its *stored form*: no userinfo, and each secret value
// replaced by a "{name}" placeholder. The transfer engine turns a stored URL back into its *request form*
// just before it sends the request.
#include <string>
#include <vector>

namespace esxmirror::util {

class Secrets {
 public:
  // Learns the secrets of a source URL as the operator wrote it: its userinfo, sent again to every URL on
  // the same scheme, host and port, and each of its query values, stored as "{name}" after its parameter
  // ("?token=abc" -> "?token={token}"). Text that is not a URL teaches nothing.
  void add_source(const std::string& url);
  // "{name}" in a URL stands for `value` (the depot's download token): wherever `value` is a whole path
  // segment or query value of a URL, its stored form has "{name}".
  void add_placeholder(const std::string& name, const std::string& value);

  // `url` as it may be stored and shown: userinfo removed, known secret values replaced by their
  // placeholders. A URL with nothing to hide, and text that is not a URL, come back unchanged.
  std::string stored(const std::string& url) const;
  // A stored URL as it is requested: placeholders filled in, and the source's userinfo put back when the
  // URL is on the source's scheme, host and port and carries none of its own.
  std::string request(const std::string& stored_url) const;

 private:
  struct Placeholder {
    std::string name;   // without the braces
    std::string value;  // as it appears in a URL (percent-encoded)
    bool in_path;       // also a whole path segment (a token), not only a query value
  };
  struct Credential {
    std::string origin;          // "http://host:port"
    std::string user, password;  // as written in the URL (percent-encoded)
    bool has_password = false;
  };
  void add(std::string name, std::string value, bool in_path);

  std::vector<Placeholder> placeholders_;
  std::vector<Credential> credentials_;
};

// The stored form of a URL kept by a release that stored secrets, when the secrets themselves are not
// known: userinfo removed, every query value replaced by "{name}" after its parameter. Text that is not
// a URL comes back unchanged.
std::string scrub_url(const std::string& url);

}  // namespace esxmirror::util
