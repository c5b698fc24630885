#include "support/mirror_fixture.hpp"

#include <fstream>
#include <stdexcept>

namespace esxmirror::testing {

namespace fs = std::filesystem;

std::string binary_path() {
#ifdef ESXMIRROR_BINARY
  return ESXMIRROR_BINARY;
#else
  const char* from_env = std::getenv("ESXMIRROR_BINARY");
  if (!from_env) throw std::runtime_error("ESXMIRROR_BINARY is not set");
  return from_env;
#endif
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string placed_path(const std::string& id, const std::string& entry_path) {
  const std::string top = id + "/";
  return entry_path.rfind(top, 0) == 0 ? entry_path.substr(top.size()) : entry_path;
}

void configure(const MirrorFixture& f, const std::string& toml) { std::ofstream(f.config, std::ios::app) << toml; }

MirrorFixture::MirrorFixture(SampleSite site, const TlsIdentity& tls) : server(std::move(site)) {
  server.use_tls(tls);
  server.start();
  dest = tmp / "mirror";
  config = tmp / "fast.toml";
  // Short retry delays so fault tests take milliseconds, not the production seconds.
  std::ofstream(config) << "retry_base_delay_ms = 20\nretry_max_delay_ms = 200\n";
}

ProcessResult MirrorFixture::sync(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"sync",        "--source", server.index_url(), "--dest",
                                  dest.string(), "--config", config.string()};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(binary_path(), all);
}

ProcessResult MirrorFixture::command(const std::string& name, const std::vector<std::string>& args) {
  std::vector<std::string> all = {name, "--dest", dest.string()};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(binary_path(), all);
}

void MirrorFixture::set_page_md5(const std::string& id, const std::string& md5) {
  server.edit([&](SampleSite& site) {
    std::string page = site.files().at(site.page_path(id));
    std::string old = site.md5_of(id);
    auto at = page.find(old);
    if (at == std::string::npos) throw std::runtime_error("page of " + id + " shows no md5");
    page.replace(at, old.size(), md5);
    site.set_file(site.page_path(id), page);
  });
}

void MirrorFixture::replace_bundle(const std::string& id, const std::string& bytes) {
  server.edit([&](SampleSite& site) {
    std::string page = site.files().at(site.page_path(id));
    std::string old = site.md5_of(id);
    auto at = page.find(old);
    if (at != std::string::npos) page.replace(at, old.size(), md5_hex(bytes));
    site.set_file(site.page_path(id), page);
    site.set_file(site.bundle_path(id), bytes);
  });
}

fs::path MirrorFixture::bundle_dir(const std::string& version, const std::string& id) const {
  SampleSite site = server.site();
  const SamplePatch& p = site.patch(id);
  return dest / version / ((p.iso_date.empty() ? std::string("undated") : p.iso_date) + "_" + id);
}

std::set<std::string> MirrorFixture::served_files() const {
  std::set<std::string> files;
  if (!fs::exists(dest)) return files;
  for (auto it = fs::recursive_directory_iterator(dest); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = it->path().lexically_relative(dest).generic_string();
    if (rel == ".esxmirror") {
      it.disable_recursion_pending();
      continue;
    }
    files.insert(rel);
  }
  return files;
}

bool MirrorFixture::bundle_matches_site(const std::string& version, const std::string& id) const {
  SampleSite site = server.site();
  fs::path dir = bundle_dir(version, id);
  if (!fs::is_directory(dir)) return false;
  std::set<std::string> expected = {id + ".tgz"};  // the archive, when it is kept
  for (const ArchiveEntry& entry : site.placed_contents(id)) {
    if (entry.type != ArchiveEntry::Type::file) continue;
    expected.insert(entry.path);
    if (slurp(dir / entry.path) != entry.content) return false;
  }
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && !expected.count(entry.path().lexically_relative(dir).generic_string())) return false;
  }
  return true;
}

}  // namespace esxmirror::testing
