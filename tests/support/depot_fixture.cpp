#include "support/depot_fixture.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <stdexcept>
#include <system_error>

#include "esxmirror/source/depot/error.hpp"
#include "esxmirror/source/depot/metadata.hpp"
#include "esxmirror/util/hash.hpp"
#include "support/mirror_fixture.hpp"

namespace esxmirror::testing {

namespace fs = std::filesystem;
namespace depot = source::depot;

SampleDepotOptions small_vibs() {
  SampleDepotOptions options;
  options.min_vib_bytes = 1024;
  options.max_vib_bytes = 24 * 1024;
  return options;
}

DepotFixture::DepotFixture(SampleDepot served, SampleSite site, const TlsIdentity& tls) : server(std::move(site)) {
  server.add_depot(std::move(served));
  server.use_tls(tls);
  DepotTokens tokens;
  tokens.valid = kDepotToken;
  tokens.expired = {kExpiredToken};
  server.set_depot_tokens(tokens);
  server.start();
  dest = tmp / "mirror";
  config = tmp / "fast.toml";
  token_file = tmp / "token";
  // Short retry delays so fault tests take milliseconds, not the production seconds.
  std::ofstream(config) << "retry_base_delay_ms = 20\nretry_max_delay_ms = 200\n";
  write_token(kDepotToken + "\n");
}

std::vector<std::string> DepotFixture::sync_args(const std::vector<std::string>& args, const fs::path& to) const {
  std::vector<std::string> all = {"sync",   "--source",  source(),   "--token-file", token_file.string(),
                                  "--dest", to.string(), "--config", config.string()};
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

ProcessResult DepotFixture::sync(const std::vector<std::string>& args) {
  return run_process(binary_path(), sync_args(args, dest));
}

ProcessResult DepotFixture::sync_without_source(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"sync", "--dest", dest.string(), "--config", config.string()};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(binary_path(), all);
}

ProcessResult DepotFixture::command(const std::string& name, const std::vector<std::string>& args) {
  std::vector<std::string> all = {name, "--dest", dest.string()};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(binary_path(), all);
}

void DepotFixture::write_token(const std::string& text, fs::perms mode) {
  std::ofstream(token_file, std::ios::binary | std::ios::trunc) << text;
  fs::permissions(token_file, mode, fs::perm_options::replace);
}

void DepotFixture::configure(const std::string& toml) const { std::ofstream(config, std::ios::app) << toml; }

FileTree read_tree(const fs::path& dir) {
  FileTree files;
  std::error_code missing;
  if (!fs::exists(dir, missing)) return files;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = it->path().lexically_relative(dir).generic_string();
    std::error_code ec;
    const fs::file_status status = it->symlink_status(ec);
    if (ec) continue;  // gone meanwhile (a reader racing a writer)
    if (fs::is_directory(status)) continue;
    files[rel] = fs::is_regular_file(status) ? slurp(it->path()) : std::string("<odd>");
  }
  return files;
}

std::vector<const SampleRelease*> selected_releases(const SampleDepot& depot, const std::vector<std::string>& versions,
                                                    const std::vector<std::string>& products) {
  const std::vector<std::string> paths = depot.paths_for(versions, products);
  std::vector<const SampleRelease*> out;
  for (const SampleRelease& release : depot.releases()) {
    if (std::find(products.begin(), products.end(), release.product) == products.end()) continue;
    if (std::binary_search(paths.begin(), paths.end(), depot.zip_path(release.version, release.product)))
      out.push_back(&release);
  }
  return out;
}

FileTree expected_mirror(const SampleDepot& depot, const std::vector<std::string>& versions,
                         const std::vector<std::string>& products) {
  FileTree files;
  for (const std::string& path : depot.paths_for(versions, products))
    if (path != depot.vendor_index_path()) files[path] = depot.file(path);
  return files;
}

std::vector<depot::MetadataEntry> expected_entries(const SampleDepot& depot, const std::vector<std::string>& versions,
                                                   const std::vector<std::string>& products) {
  std::set<std::string> zips;
  for (const SampleRelease* release : selected_releases(depot, versions, products)) zips.insert(release->zip_name);
  std::vector<depot::MetadataEntry> out;
  for (const depot::MetadataEntry& entry :
       depot::parse_vendor_index(depot.file(depot.vendor_index_path()), "upstream vendor index").entries)
    if (zips.count(entry.url)) out.push_back(entry);
  return out;
}

std::vector<depot::MetadataEntry> entries_of(const fs::path& file) {
  return depot::parse_vendor_index(slurp(file), file.string()).entries;
}

std::vector<std::string> expected_bulletins(const SampleDepot& depot, const std::vector<std::string>& versions,
                                            const std::vector<std::string>& products) {
  std::set<std::string> ids;
  for (const SampleRelease* release : selected_releases(depot, versions, products))
    for (const SampleBulletin& bulletin : release->bulletins) ids.insert(bulletin.id);
  return {ids.begin(), ids.end()};
}

std::vector<std::string> tree_differences(const FileTree& got, const FileTree& want) {
  std::vector<std::string> out;
  for (const auto& [path, bytes] : want) {
    const auto found = got.find(path);
    if (found == got.end())
      out.push_back("missing " + path);
    else if (found->second != bytes)
      out.push_back(path + " differs (" + std::to_string(found->second.size()) + " bytes, want " +
                    std::to_string(bytes.size()) + ")");
  }
  for (const auto& [path, bytes] : got)
    if (!want.count(path)) out.push_back("unexpected " + path);
  return out;
}

std::vector<std::string> mirror_differences(const fs::path& mirror, const SampleDepot& depot,
                                            const std::vector<std::string>& versions,
                                            const std::vector<std::string>& products) {
  FileTree got = read_tree(mirror);
  std::vector<std::string> out;
  const auto vendor_index = got.find(depot.vendor_index_path());
  if (vendor_index == got.end()) {
    out.push_back("missing " + depot.vendor_index_path());
  } else {
    try {
      const auto listed = depot::parse_vendor_index(vendor_index->second, vendor_index->first).entries;
      const auto wanted = expected_entries(depot, versions, products);
      if (listed != wanted) {
        std::string urls;
        for (const depot::MetadataEntry& entry : listed) urls += " " + entry.url;
        out.push_back(depot.vendor_index_path() + " does not list exactly the selected entries; it lists" + urls);
      }
    } catch (const depot::FormatError& error) {
      out.push_back(error.what());
    }
    got.erase(vendor_index);
  }
  for (std::string& line : tree_differences(got, expected_mirror(depot, versions, products)))
    out.push_back(std::move(line));
  return out;
}

namespace {

std::string sha256_of(const std::string& bytes) {
  util::StreamHasher hasher(util::StreamHasher::Algorithms::sha256);
  hasher.update(bytes.data(), bytes.size());
  return hasher.finish().sha256;
}

std::string directory_of(const std::string& relpath) {
  const std::size_t slash = relpath.rfind('/');
  return slash == std::string::npos ? "" : relpath.substr(0, slash + 1);
}

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// A zip present in the mirror: each VIB it references is present with the sha-256 it lists.
void check_zip(const fs::path& mirror, const std::string& zip, std::vector<std::string>& problems) {
  depot::Metadata metadata;
  try {
    metadata = depot::read_metadata_zip(mirror / zip, zip);
  } catch (const depot::FormatError& error) {
    problems.push_back(zip + ": unreadable: " + error.what());
    return;
  }
  for (const depot::Vib& vib : metadata.vibs) {
    if (vib.relative_path.find("://") != std::string::npos) continue;  // absolute: not these tests' depots
    const std::string path = fs::path(directory_of(zip) + vib.relative_path).lexically_normal().generic_string();
    std::error_code ec;
    if (!fs::is_regular_file(mirror / path, ec)) {
      problems.push_back(zip + " is published but its VIB " + path + " is missing");
      continue;
    }
    if (sha256_of(slurp(mirror / path)) != vib.sha256)
      problems.push_back(zip + " is published but its VIB " + path + " has the wrong sha-256");
  }
}

}  // namespace

std::vector<std::string> consistency_problems(const fs::path& mirror, const SampleDepot& upstream) {
  std::vector<std::string> problems;
  const FileTree files = read_tree(mirror);
  const auto& served = upstream.files();
  std::vector<std::string> zips;
  for (const auto& [path, bytes] : files) {
    if (path == upstream.vendor_index_path()) continue;
    const auto found = served.find(path);
    if (found == served.end()) {
      problems.push_back("unexpected file " + path + " (" + std::to_string(bytes.size()) + " bytes)");
      continue;
    }
    if (bytes != *found->second) problems.push_back(path + " is not byte-identical to upstream");
    if (ends_with(path, ".zip")) zips.push_back(path);
  }
  for (const std::string& zip : zips) check_zip(mirror, zip, problems);

  const std::string vendor_index = upstream.vendor_index_path();
  if (files.count(vendor_index)) {
    try {
      for (const depot::MetadataEntry& entry :
           depot::parse_vendor_index(files.at(vendor_index), vendor_index).entries) {
        const std::string zip = directory_of(vendor_index) + entry.url;
        if (!files.count(zip)) problems.push_back(vendor_index + " lists " + entry.url + ", which is not there");
      }
    } catch (const depot::FormatError& error) {
      problems.push_back(vendor_index + ": " + error.what());
    }
  }
  if (files.count(SampleDepot::index_path()) && !files.count(vendor_index))
    problems.push_back("the depot index is published but the vendor index " + vendor_index + " is not");
  return problems;
}

std::vector<std::string> secret_leaks(const std::string& secret, const std::vector<fs::path>& roots,
                                      const std::map<std::string, std::string>& texts, std::size_t piece) {
  std::vector<std::string> pieces = {secret};
  for (std::size_t at = 0; piece < secret.size() && at + piece <= secret.size(); ++at)
    pieces.push_back(secret.substr(at, piece));
  std::vector<std::string> leaks;
  const auto search = [&](const std::string& where, const std::string& bytes) {
    for (const std::string& p : pieces) {
      const std::size_t at = bytes.find(p);
      if (at != std::string::npos) {
        leaks.push_back(where + ": " + p + " at " + std::to_string(at));
        return;  // one finding per place is enough to name it
      }
    }
  };
  for (const fs::path& root : roots) {
    std::error_code ec;
    if (fs::is_regular_file(root, ec)) {
      search(root.string(), slurp(root));
      continue;
    }
    for (const auto& [rel, bytes] : read_tree(root)) search((root / rel).string(), bytes);
  }
  for (const auto& [name, text] : texts) search(name, text);
  return leaks;
}

std::vector<Hit> hits_of(const SiteServer& server, const std::string& path) {
  std::vector<Hit> out;
  for (const Hit& hit : server.hits())
    if (hit.path == path) out.push_back(hit);
  return out;
}

bool is_vib_request(const Hit& hit) { return ends_with(hit.path, ".vib"); }

}  // namespace esxmirror::testing
