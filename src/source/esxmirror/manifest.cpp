// An upstream esxmirror's manifest.json, read into bundles with their files and KB notes.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "esxmirror/source/mirror_manifest.hpp"
#include "esxmirror/util/url.hpp"
#include "esxmirror/util/url_parts.hpp"

namespace esxmirror::source::mirror {

namespace {

using nlohmann::json;

// The first manifest_version that lists each bundle directory's files.
constexpr int kFileListsSince = 2;

[[noreturn]] void fail(const std::string& document, const std::string& problem) {
  throw FormatError(document + ": " + problem);
}

// One path component as a directory name of the mirror: what bundle::is_safe_component accepts.
bool safe_component(const std::string& name) {
  return !name.empty() && name[0] != '.' && name.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
}

// A relative path inside a bundle directory: no empty, "." or ".." component, not absolute, no NUL.
bool safe_relpath(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string::npos) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = std::min(path.find('/', start), path.size());
    std::string part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

bool is_sha256(const std::string& text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Typed reads of one entry's fields; a missing or mistyped field is named with the entry.
class Fields {
 public:
  Fields(const json& value, std::string document, std::string where)
      : value_(value), document_(std::move(document)), where_(std::move(where)) {
    if (!value_.is_object()) problem("is not an object");
  }
  [[noreturn]] void problem(const std::string& what) const { fail(document_, where_ + " " + what); }

  std::string text(const char* key) const {
    auto it = value_.find(key);
    if (it == value_.end() || !it->is_string()) problem(std::string("has no text \"") + key + "\"");
    return it->get<std::string>();
  }
  std::optional<std::string> optional_text(const char* key) const {
    auto it = value_.find(key);
    if (it == value_.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) problem(std::string("has a \"") + key + "\" that is not text");
    return it->get<std::string>();
  }
  std::int64_t count(const char* key) const {
    auto it = value_.find(key);
    if (it == value_.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) {
      problem(std::string("has no size \"") + key + "\"");
    }
    return it->get<std::int64_t>();
  }
  std::vector<std::string> texts(const char* key) const {
    std::vector<std::string> out;
    auto it = value_.find(key);
    if (it == value_.end()) return out;
    if (!it->is_array()) problem(std::string("has a \"") + key + "\" that is not a list");
    for (const json& item : *it) {
      if (!item.is_string()) problem(std::string("has a \"") + key + "\" entry that is not text");
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  const json* list(const char* key) const {
    auto it = value_.find(key);
    if (it == value_.end()) return nullptr;
    if (!it->is_array()) problem(std::string("has a \"") + key + "\" that is not a list");
    return &*it;
  }

 private:
  const json& value_;
  std::string document_, where_;
};

std::string resolve(const std::string& base, const std::string& path, const std::string& document) {
  auto url = util::resolve_url(base, util::percent_encode_path(path));
  if (!url) fail(document, "cannot resolve " + path + " against " + util::mask_url(base));
  return *url;
}

std::vector<UpstreamFile> read_files(const json& list, const std::string& dir_url, const std::string& document,
                                     const std::string& id) {
  std::vector<UpstreamFile> files;
  std::set<std::string> seen;
  for (const json& item : list) {
    Fields file(item, document, "bundle " + id + ": a file");
    std::string relpath = file.text("path");
    if (!safe_relpath(relpath)) file.problem("has the unsafe path \"" + relpath + "\"");
    if (!seen.insert(relpath).second) file.problem("is listed twice: " + relpath);
    std::string sha256 = file.text("sha256");
    if (!is_sha256(sha256)) file.problem(relpath + " has no sha-256 (64 lower-case hex digits)");
    files.push_back(
        {relpath, static_cast<std::uint64_t>(file.count("size")), sha256, resolve(dir_url, relpath, document)});
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.relpath < b.relpath; });
  return files;
}

struct Listing {
  std::string version;
  std::string path;
  std::optional<std::string> link_to;
};

// A bundle as its entries list it under each version: one directory (link_to null), links to it.
class BundleReader {
 public:
  BundleReader(const std::string& manifest_url, const std::string& document)
      : manifest_url_(manifest_url), document_(document) {}

  void add(const std::string& version, const json& item) {
    if (!safe_component(version)) fail(document_, "the version \"" + version + "\" is not a safe directory name");
    Fields entry(item, document_, "a bundle under " + version);
    std::string id = entry.text("id");
    if (!safe_component(id)) entry.problem("has the unsafe id \"" + id + "\"");
    auto [it, fresh] = index_.emplace(id, bundles_.size());
    if (fresh) {
      bundles_.emplace_back();
      bundles_.back().patch.id = id;
      listings_.emplace_back();
    }
    UpstreamBundle& bundle = bundles_[it->second];
    Listing listing{version, entry.text("path"), entry.optional_text("link_to")};
    listings_[it->second].push_back(listing);
    if (listing.link_to) return;
    if (!bundle.primary_version.empty()) entry.problem("lists a second directory for " + id);

    std::string prefix = version + "/";
    std::string dir_name = listing.path.substr(std::min(prefix.size(), listing.path.size()));
    if (listing.path.rfind(prefix, 0) != 0 || !safe_component(dir_name)) {
      entry.problem("has the path \"" + listing.path + "\", not <version>/<directory>");
    }
    const json* files = entry.list("files");
    if (!files) {
      fail(document_, "bundle " + id +
                          " has no file list: the upstream esxmirror is older than this one; "
                          "upgrade it (its next sync publishes the lists)");
    }
    bundle.primary_version = version;
    bundle.dir_name = dir_name;
    bundle.md5 = entry.text("md5");
    bundle.sha256 = entry.text("sha256");
    bundle.size = entry.count("size");
    PatchRecord& patch = bundle.patch;
    patch.release_date = entry.optional_text("release_date");
    patch.classification = entry.text("classification");
    patch.supersedes = entry.texts("supersedes");
    patch.set_bundle(resolve(manifest_url_, listing.path + "/", document_), entry.text("filename"),
                     bundle.md5.empty() ? std::nullopt : std::optional<std::string>(bundle.md5));
    patch.bundle().size = static_cast<std::uint64_t>(bundle.size);
    patch.page_url = manifest_url_;
    bundle.files = read_files(*files, patch.bundle().url, document_, id);
  }

  // Every bundle with its versions: the directory's first, then the links' in manifest order.
  std::vector<UpstreamBundle> finish() {
    for (std::size_t i = 0; i < bundles_.size(); ++i) {
      UpstreamBundle& bundle = bundles_[i];
      if (bundle.primary_version.empty()) {
        fail(document_, "bundle " + bundle.patch.id + " is listed only as links, with no directory");
      }
      const std::string primary_path = bundle.primary_version + "/" + bundle.dir_name;
      bundle.patch.versions = {bundle.primary_version};
      for (const Listing& listing : listings_[i]) {
        if (!listing.link_to) continue;
        if (*listing.link_to != primary_path || listing.path != listing.version + "/" + bundle.dir_name) {
          fail(document_, "bundle " + bundle.patch.id + " under " + listing.version + " links \"" + listing.path +
                              "\" to \"" + *listing.link_to + "\", not to its directory " + primary_path);
        }
        bundle.patch.versions.push_back(listing.version);
      }
    }
    return std::move(bundles_);
  }

 private:
  const std::string& manifest_url_;
  const std::string& document_;
  std::map<std::string, std::size_t> index_;
  std::vector<UpstreamBundle> bundles_;
  std::vector<std::vector<Listing>> listings_;
};

bool generated_by_esxmirror(const json& value) {
  if (!value.is_object()) return false;
  auto generator = value.find("generator");
  return generator != value.end() && generator->is_string() && generator->get<std::string>() == "esxmirror";
}

std::vector<PatchRecord> read_notes(const json& manifest, const std::string& document) {
  std::vector<PatchRecord> notes;
  auto all = manifest.find("notes");
  if (all == manifest.end()) return notes;
  if (!all->is_object()) fail(document, "\"notes\" is not an object of versions");
  std::map<std::string, std::size_t> index;
  for (const auto& [version, list] : all->items()) {
    if (!list.is_array()) fail(document, "the notes of " + version + " are not a list");
    for (const json& item : list) {
      Fields entry(item, document, "a note under " + version);
      std::string id = entry.text("id");
      if (id.empty()) entry.problem("has an empty id");
      auto [it, fresh] = index.emplace(id, notes.size());
      if (fresh) {
        PatchRecord note;
        note.id = id;
        note.release_date = entry.optional_text("release_date");
        note.classification = entry.text("classification");
        note.page_url = entry.text("page");
        notes.push_back(std::move(note));
      }
      notes[it->second].versions.push_back(version);
    }
  }
  return notes;
}

}  // namespace

bool is_manifest(std::string_view body) { return generated_by_esxmirror(json::parse(body, nullptr, false)); }

bool is_index_page(std::string_view body) {
  // publish::render_index_html writes this exact tag near the top; a page is not searched past its head.
  constexpr std::string_view kMark = "<meta name=\"generator\" content=\"esxmirror\">";
  return body.substr(0, 4096).find(kMark) != std::string_view::npos;
}

std::optional<std::string> manifest_url(const std::string& url) {
  const std::string path = url.substr(0, url.find_first_of("?#"));
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) return url;
  return util::resolve_url(url, "manifest.json");
}

Manifest parse_manifest(std::string_view body, const std::string& manifest_url, const std::string& document) {
  json manifest = json::parse(body, nullptr, false);
  if (manifest.is_discarded()) fail(document, "is not valid JSON");
  if (!generated_by_esxmirror(manifest))
    fail(document, "is not an esxmirror manifest (no \"generator\": \"esxmirror\")");
  auto version = manifest.find("manifest_version");
  if (version == manifest.end() || !version->is_number_integer() || version->get<int>() < kFileListsSince) {
    fail(document,
         "has no file lists: the upstream esxmirror is older than this one; upgrade it (its next sync "
         "publishes them)");
  }
  auto versions = manifest.find("versions");
  if (versions == manifest.end() || !versions->is_object()) fail(document, "has no \"versions\" object");

  BundleReader reader(manifest_url, document);
  for (const auto& [name, list] : versions->items()) {
    if (!list.is_array()) fail(document, "the bundles of " + name + " are not a list");
    for (const json& item : list) reader.add(name, item);
  }
  return {reader.finish(), read_notes(manifest, document)};
}

}  // namespace esxmirror::source::mirror
