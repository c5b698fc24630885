#pragma once
// An upstream esxmirror's manifest.json (publish::render_manifest, manifest_version 2) read as a source
// of kind `mirror`: the bundles it serves with every file's size and sha-256, and its KB notes, so a
// downstream esxmirror can mirror its legacy tree file by file (README, "Tiers of mirrors"). Pure.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "esxmirror/core/patch.hpp"

namespace esxmirror::source::mirror {

// A manifest that is not what an esxmirror publishes: invalid JSON, a missing or mistyped field, a path
// that would leave the bundle directory. what() is one line: "<document>: <problem>".
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One file of a bundle directory, as upstream recorded it.
struct UpstreamFile {
  std::string relpath;  // relative to the bundle directory, '/'-separated, checked: no "..", not absolute
  std::uint64_t size = 0;
  std::string sha256;  // lower-case hex
  std::string url;     // where upstream serves it (absolute)
  bool operator==(const UpstreamFile&) const = default;
};

// One bundle upstream serves: the patch as upstream's catalog has it, where its directory is, its files.
struct UpstreamBundle {
  // id, versions (the primary one first, then those upstream links), release date, classification,
  // supersedes, the archive's file name; md5 = the md5 of the archive upstream verified (nullopt when
  // upstream recorded none), so a change upstream is planned as a replacement; download_url = the
  // directory's URL ("http://upstream/3.0.1/2007-03-29_ESX-1000039/"); page_url = the manifest's URL.
  PatchRecord patch;
  std::string primary_version;  // the version upstream stores the directory under (the others are links)
  std::string dir_name;         // "2007-03-29_ESX-1000039": the last component of upstream's path
  std::string md5, sha256;      // of the archive, as upstream recorded them (may be empty)
  std::int64_t size = 0;
  std::vector<UpstreamFile> files;  // ordered by relpath
};

struct Manifest {
  std::vector<UpstreamBundle> bundles;  // in upstream's order (first version listing each, catalog order)
  std::vector<PatchRecord> notes;       // KB notes: no download; versions = those upstream lists them under
};

// True when `body` is a JSON object whose "generator" is "esxmirror": how a mirror source is told from
// the others. Never throws.
bool is_manifest(std::string_view body);

// True when `body` is an esxmirror's index.html (it carries <meta name="generator" content="esxmirror">):
// a --source naming a mirror's top (http://upstream/ or .../index.html) is a mirror source too. Never throws.
bool is_index_page(std::string_view body);

// Where the manifest of the mirror source `url` is: `url` itself when its path ends in ".json", else
// manifest.json beside it ("http://up/" and "http://up/index.html" -> "http://up/manifest.json").
// nullopt when `url` is not an absolute URL.
std::optional<std::string> manifest_url(const std::string& url);

// The bundles and notes of `body`, fetched from `manifest_url` (absolute; the base of every path).
// `document` names the manifest in errors (a masked URL). Throws FormatError: not JSON, not an
// esxmirror manifest, a manifest without file lists (an esxmirror older than this one), a bundle
// without its own directory or with an unsafe id, version or file path, a bad size or sha-256.
Manifest parse_manifest(std::string_view body, const std::string& manifest_url, const std::string& document);

}  // namespace esxmirror::source::mirror
