#pragma once
// One integration-test world: a sample site on loopback (http, or https), a temp dir, and the real
// esxmirror binary.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/site_server.hpp"

namespace esxmirror::testing {

class MirrorFixture {
 public:
  explicit MirrorFixture(SampleSite site = SampleSite::standard()) : MirrorFixture(std::move(site), TlsIdentity{}) {}
  // The same world over https: the server presents `tls` (see TestCa); an empty identity is plain http.
  MirrorFixture(SampleSite site, const TlsIdentity& tls);

  // `esxmirror sync --source <index> --dest <dest> --config <fast-retry config> args...`
  ProcessResult sync(const std::vector<std::string>& args);
  // `esxmirror <command> --dest <dest> args...`
  ProcessResult command(const std::string& name, const std::vector<std::string>& args = {});

  // Serve `bytes` as the bundle of `id` and put its md5 on the patch's page (when the page shows one).
  void replace_bundle(const std::string& id, const std::string& bytes);
  // Put `md5` on the patch's page in place of the current one.
  void set_page_md5(const std::string& id, const std::string& md5);

  // Bundle directory of `id` under `version`: "<dest>/<version>/<date>_<id>".
  std::filesystem::path bundle_dir(const std::string& version, const std::string& id) const;
  // Paths under dest, relative, excluding .esxmirror/ (what the repository serves).
  std::set<std::string> served_files() const;
  // True when the bundle directory under `version` holds exactly the files of the site's archive (and
  // maybe the kept archive), directly inside: the archive's top directory is the bundle directory.
  bool bundle_matches_site(const std::string& version, const std::string& id) const;

  TempDir tmp;
  SiteServer server;
  std::filesystem::path dest;
  std::filesystem::path config;
};

std::string binary_path();

// The standard site's bundles for each version (SampleSite::standard()).
inline const std::vector<std::string> k301 = {"ESX-1000039", "ESX-1000050", "ESX-1000070", "ESX-1001724",
                                              "ESX-1002082"};
inline const std::vector<std::string> k302 = {"ESX-1001724", "ESX-1002082", "ESX-1002087", "ESX-1002424",
                                              "ESX-1002425"};

// Where an archive entry of bundle `id` lands inside its bundle directory: the archive's top directory
// is the bundle directory, so "ESX-1000039/contents.xml" -> "contents.xml".
std::string placed_path(const std::string& id, const std::string& entry_path);

// A whole file's bytes ("" when it cannot be read).
std::string slurp(const std::filesystem::path& file);
inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
// Adds settings to the fixture's config file (it already holds the fast retry delays).
void configure(const MirrorFixture& f, const std::string& toml);

}  // namespace esxmirror::testing
