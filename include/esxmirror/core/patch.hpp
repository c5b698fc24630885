#pragma once
// The patch model: what a vendor page says about one patch bundle.
#include <optional>
#include <string>
#include <vector>

namespace esxmirror {

struct PatchRecord {
  std::string id;                           // bundle name, e.g. "ESX-1000039" (filename without extension)
  std::vector<std::string> versions;        // ESX versions the page lists, e.g. {"3.0.1", "3.0.2"}
  std::optional<std::string> release_date;  // ISO "YYYY-MM-DD"; nullopt when the page's date is unparseable
  std::string classification;               // "General", "Critical", "Security"... (may be empty)
  std::vector<std::string> supersedes;      // ids this patch supersedes
  std::string download_url;                 // absolute URL; empty for a KB note without a bundle
  std::string filename;                     // "ESX-1000039.tgz"
  std::optional<std::string> md5;           // lowercase hex, when the page gives one
  std::string page_url;                     // the detail page it came from
  std::vector<std::string> warnings;        // what the parser noticed (unparseable date, missing md5...)
  // Set when the page links a download that cannot be mirrored (not http(s), unresolvable): why. Also
  // among `warnings`; a page with it is a patch that failed, not a KB note.
  std::optional<std::string> refused_download;

  bool has_bundle() const { return !download_url.empty(); }
  bool operator==(const PatchRecord&) const = default;
};

}  // namespace esxmirror
