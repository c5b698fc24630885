#pragma once
// The patch model (DESIGN §2): what a source says about one patch, and the artifacts it is made of.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace esxmirror {

// What an artifact's bytes must hash to: md5 for a legacy bundle (the page's md5sum); sha-256 where a
// source states one (the depot's VIBs and an upstream's files carry theirs in their own rows, see
// ARCHITECTURE.md "The patch model").
struct Digest {
  enum class Algorithm { md5, sha256 };
  Algorithm algorithm = Algorithm::md5;
  std::string hex;  // lowercase
  bool operator==(const Digest&) const = default;
};

// One file a patch is fetched as.
struct Artifact {
  std::string url;                    // absolute, stored form (util::Secrets)
  std::string relative_path;          // its file name where the patch is placed: "ESX-1000039.tgz"
  std::optional<std::uint64_t> size;  // when the source states it
  std::optional<Digest> digest;       // when the source states it

  // The hex digest when it is one of `algorithm`.
  std::optional<std::string> digest_hex(Digest::Algorithm algorithm) const {
    if (!digest || digest->algorithm != algorithm) return std::nullopt;
    return digest->hex;
  }
  bool operator==(const Artifact&) const = default;
};

struct PatchRecord {
  std::string id;                           // bundle name, e.g. "ESX-1000039" (filename without extension)
  std::vector<std::string> versions;        // ESX versions the page lists, e.g. {"3.0.1", "3.0.2"}
  std::optional<std::string> release_date;  // ISO "YYYY-MM-DD"; nullopt when the page's date is unparseable
  std::string classification;               // "General", "Critical", "Security"... (may be empty)
  std::vector<std::string> supersedes;      // ids this patch supersedes
  // A legacy patch is one bundle archive, its md5 when the page gives one; an upstream esxmirror's bundle
  // is that archive as upstream verified it, served unpacked under `url` (its files are the mirror
  // source's). Empty for a KB note without a bundle.
  std::vector<Artifact> artifacts;
  std::string page_url;               // the detail page it came from
  std::vector<std::string> warnings;  // what the parser noticed (unparseable date, missing md5...)
  // Set when the page links a download that cannot be mirrored (not http(s), unresolvable): why. Also
  // among `warnings`; a page with it is a patch that failed, not a KB note.
  std::optional<std::string> refused_download;

  bool has_bundle() const { return !artifacts.empty(); }
  // Makes the bundle archive at `url` (none when empty) the patch's one artifact.
  void set_bundle(std::string url, std::string filename, std::optional<std::string> md5) {
    artifacts.clear();
    if (url.empty()) return;
    std::optional<Digest> digest;
    if (md5) digest = Digest{Digest::Algorithm::md5, std::move(*md5)};
    artifacts.push_back({std::move(url), std::move(filename), std::nullopt, std::move(digest)});
  }
  // The bundle archive; only when has_bundle().
  const Artifact& bundle() const { return artifacts.front(); }
  Artifact& bundle() { return artifacts.front(); }
  // The bundle's URL and file name; empty for a KB note.
  std::string bundle_url() const { return has_bundle() ? bundle().url : std::string(); }
  std::string bundle_file() const { return has_bundle() ? bundle().relative_path : std::string(); }
  // The md5 the bundle must have; nullopt for a KB note or when the page gives none.
  std::optional<std::string> md5() const {
    return has_bundle() ? bundle().digest_hex(Digest::Algorithm::md5) : std::nullopt;
  }
  bool operator==(const PatchRecord&) const = default;
};

}  // namespace esxmirror
