#pragma once
// One depot integration-test world (issue 8 §6): the sample depot served behind a download token on
// loopback, a temp dir with the token file and a fast-retry config, the real esxmirror binary, and the
// checks the depot tests share: the mirror's files, its consistency as a host sees it, and secret leaks.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "esxmirror/source/depot/index.hpp"
#include "support/process.hpp"
#include "support/site_server.hpp"

namespace esxmirror::testing {

// The download token the fixture's server accepts; the expired one it answers 401. Letters and digits
// that appear nowhere else, so any piece of them found in a file is a leak.
inline const std::string kDepotToken = "Qz7tW2mLx9RbN4cK8vJp3HsY6dFgA1eU";
inline const std::string kExpiredToken = "Ex5pIrEdUq0w8ZyT3kMn6BvC1xRa9LoS";

// A depot of small VIBs (1-24 KiB): for tests where size does not matter.
SampleDepotOptions small_vibs();

class DepotFixture {
 public:
  // Serves `depot` (and `site`, the legacy pages, when given) behind kDepotToken, over https when `tls`
  // names a certificate (see TestCa); writes the token file (mode 0600) and the config; starts the server.
  explicit DepotFixture(SampleDepot depot = SampleDepot::standard(small_vibs()), SampleSite site = SampleSite(),
                        const TlsIdentity& tls = {});

  // `esxmirror sync --source <main's {token} URL> --token-file <token_file> --dest --config args...`
  ProcessResult sync(const std::vector<std::string>& args);
  // `esxmirror sync --dest --config args...`: the test gives --source and the token itself.
  ProcessResult sync_without_source(const std::vector<std::string>& args);
  // The argument vector sync() runs (without the binary), for a Child.
  std::vector<std::string> sync_args(const std::vector<std::string>& args, const std::filesystem::path& to) const;
  // `esxmirror <command> --dest <dest> args...`
  ProcessResult command(const std::string& name, const std::vector<std::string>& args = {});

  // What `--source` is given for a depot: its index URL with "{token}" where the token goes.
  std::string source(const std::string& name = "main") const { return server.depot_url_template(name); }
  // Where the depot `name` is mirrored: <dest>/<name>.
  std::filesystem::path mirror(const std::string& name = "main") const { return dest / name; }
  // The path of a depot file as the server logs it and keys faults ("PROD/COMP/ESX_HOST/main/<path>").
  std::string logged(const std::string& path, const std::string& name = "main") const {
    return server.depot_path(name, path);
  }
  // Replaces the token file's content and mode.
  void write_token(const std::string& text, std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                                          std::filesystem::perms::owner_write);
  // Adds settings to the config file.
  void configure(const std::string& toml) const;

  TempDir tmp;
  SiteServer server;
  std::filesystem::path dest, config, token_file;
};

using FileTree = std::map<std::string, std::string>;  // relative path -> bytes

// Every regular file under `dir`, recursively, by generic relative path; empty when `dir` does not exist.
// Anything else than regular files and directories (symlinks, devices) is listed with the bytes "<odd>".
FileTree read_tree(const std::filesystem::path& dir);

// The versions of `depot` whose metadata zips the selection mirrors (SampleDepot::paths_for's choice).
std::vector<const SampleRelease*> selected_releases(const SampleDepot& depot, const std::vector<std::string>& versions,
                                                    const std::vector<std::string>& products = {"embeddedEsx"});
// What a mirror of that selection holds, byte for byte, except the rewritten vendor index (absent here).
FileTree expected_mirror(const SampleDepot& depot, const std::vector<std::string>& versions,
                         const std::vector<std::string>& products = {"embeddedEsx"});
// The upstream vendor index's entries for those releases, in upstream order: what the mirror's lists.
std::vector<source::depot::MetadataEntry> expected_entries(const SampleDepot& depot,
                                                           const std::vector<std::string>& versions,
                                                           const std::vector<std::string>& products = {"embeddedEsx"});
// The entries of the vendor index file at `file` (throws source::depot::FormatError when it is not one).
std::vector<source::depot::MetadataEntry> entries_of(const std::filesystem::path& file);
// The bulletin ids of those releases, sorted, each once.
std::vector<std::string> expected_bulletins(const SampleDepot& depot, const std::vector<std::string>& versions,
                                            const std::vector<std::string>& products = {"embeddedEsx"});

// How `got` differs from `want`: "missing P", "unexpected P", "P differs (N bytes, want M)"; empty when equal.
std::vector<std::string> tree_differences(const FileTree& got, const FileTree& want);
// How the mirror at `mirror` differs from a complete mirror of the selection: tree_differences against
// expected_mirror, plus the vendor index missing or not listing exactly expected_entries. Empty when equal.
std::vector<std::string> mirror_differences(const std::filesystem::path& mirror, const SampleDepot& depot,
                                            const std::vector<std::string>& versions,
                                            const std::vector<std::string>& products = {"embeddedEsx"});

// What a host reading the mirror at `mirror` may never see (issue 8 §3), one line per problem; empty when
// consistent. Every file must be one `upstream` serves (no temporary or partial name), every VIB and zip
// byte-identical to upstream's, every zip present must have each VIB it references present with the
// sha-256 it lists, a vendor index present must parse and name only present zips, and a depot index
// present must be upstream's and name a present vendor index. Safe to call while a sync writes.
std::vector<std::string> consistency_problems(const std::filesystem::path& mirror, const SampleDepot& upstream);

// Where `secret` or any piece of it of `piece` or more characters occurs: in every byte of every file
// under each of `roots` (recursively; a root may be a single file; missing ones are skipped) and in each
// named text. One line per finding ("<file or name>: <piece> at <offset>"); empty when there is none.
std::vector<std::string> secret_leaks(const std::string& secret, const std::vector<std::filesystem::path>& roots,
                                      const std::map<std::string, std::string>& texts = {}, std::size_t piece = 12);

// The requests the server saw for `path` (as logged), in order.
std::vector<Hit> hits_of(const SiteServer& server, const std::string& path);
// True when the request was for a .vib file.
bool is_vib_request(const Hit& hit);

}  // namespace esxmirror::testing
