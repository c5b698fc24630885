#pragma once
// A generated VMware online depot (DESIGN §8, issue 8), like SampleSite is for the legacy pages: the
// depot index, the vendor index, one real metadata zip per release (vmware.xml, vendor-index.xml,
// bulletins/, vibs/, profiles/) and every VIB as a real ar archive (descriptor.xml, sig.pkcs7, a
// payload). Pure data, laid out exactly like the vendor's depot; SiteServer serves it.
//
//   vmw-depot-index.xml
//   esx/vmw/vmw-esx-index.xml
//   esx/vmw/vmw-ESXi-8.0.3-metadata.zip                 one per release (vmw-ESXio-... for esxio)
//   esx/vmw/vib20/<name>/<Vendor>_<type>_<name>_<version>.vib
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace esxmirror::testing {

struct SampleVib {
  std::string vendor;   // "VMware"
  std::string type;     // "bootbank", "locker"
  std::string name;     // "esx-base"
  std::string version;  // "8.0.3-0.0.24022510"
  std::string summary;
  std::string release_date;       // ISO date of the release that introduced it
  std::size_t payload_bytes = 0;  // the .vib is this plus its descriptor, signature and ar headers
  // What the metadata says about the file (real values unless a test changed them on purpose).
  std::uint64_t listed_size = 0;
  std::string listed_sha256;
  std::string relative_path;  // as the metadata writes it: "vib20/<name>/<file>", or an absolute URL

  std::string id() const { return vendor + "_" + type + "_" + name + "_" + version; }
  std::string file_name() const { return id() + ".vib"; }
};

struct SampleBulletin {
  std::string id;  // "ESXi_8.0.3-0.0.24022510"
  std::string summary;
  std::string severity;      // "critical", "important", "moderate"
  std::string category;      // "security", "bugfix", "enhancement"
  std::string release_type;  // "patch", "extension"
  std::string release_date;  // ISO date
  std::string platform;      // softwarePlatform version: "8.0.3" or "8.0.*"
  std::string product;       // softwarePlatform productLineID: "embeddedEsx", "esxio"
  std::vector<std::string> vib_ids;
};

struct SampleRelease {
  std::string line;                       // "8.0"
  std::string version;                    // "8.0.3"
  std::string product;                    // "embeddedEsx" or "esxio"
  std::string build;                      // "24022510"
  std::string release_date;               // ISO date
  std::string zip_name;                   // "vmw-ESXi-8.0.3-metadata.zip"
  std::vector<std::string> vib_ids;       // every VIB the metadata zip references (the release's image)
  std::vector<std::string> new_vib_ids;   // those no earlier release of the depot referenced
  std::vector<SampleBulletin> bulletins;  // for every VIB of the image (older ones keep their dates)
  std::vector<std::string> profiles;      // image profile names
};

struct SampleDepotOptions {
  std::size_t min_vib_bytes = 4 * 1024;  // VIB payload sizes spread between these, per VIB
  std::size_t max_vib_bytes = 1024 * 1024;
  bool esxio = true;  // an esxio 8.0.3 entry and zip beside the embeddedEsx ones
  // One 8.0.3 VIB written as an absolute URL into the depot (base_url() + its path), and one written as
  // an absolute URL outside it (beside the depot: "<base_url>../outside/..."). See set_base_url().
  bool absolute_url_inside = false;
  bool absolute_url_outside = false;
};

class SampleDepot {
 public:
  // "main": ESXi 7.0 (7.0.2, 7.0.3) and 8.0 (8.0.1, 8.0.2, 8.0.3) with VIBs shared between releases,
  // bulletins of several severities and categories, standard and no-tools profiles, and (by default)
  // an esxio 8.0.3 entry.
  static SampleDepot standard(const SampleDepotOptions& options = {});
  // "addon-main": an OEM vendor (Dell) with addon zips for 7.0.3 and 8.0.3, so two sources can be tested.
  static SampleDepot addon(const SampleDepotOptions& options = {});
  // "main" with one 8.0.3 release of `vib_count` VIBs of about `vib_bytes` each (benchmark); builds
  // 20,000 VIBs in seconds.
  static SampleDepot generated(std::size_t vib_count, std::size_t vib_bytes);

  const std::string& name() const { return name_; }  // the depot's directory name: "main", "addon-main"
  static std::string index_path() { return "vmw-depot-index.xml"; }
  std::string vendor_index_path() const { return relative_path_ + index_file_; }  // "esx/vmw/vmw-esx-index.xml"
  std::string zip_path(const std::string& version, const std::string& product = "embeddedEsx") const;
  std::string vib_path(const std::string& vib_id) const;  // "esx/vmw/vib20/<name>/<file>"

  const std::vector<SampleRelease>& releases() const { return releases_; }
  // Throws std::out_of_range for an unknown release or VIB.
  const SampleRelease& release(const std::string& version, const std::string& product = "embeddedEsx") const;
  const SampleVib& vib(const std::string& id) const;
  // The VIB ids a mirror of this depot must hold for these --esx-version values and products (the
  // selection rules of issue 8 §2), sorted. Outside-the-depot VIBs are not included.
  std::vector<std::string> vibs_for(const std::vector<std::string>& versions,
                                    const std::vector<std::string>& products = {"embeddedEsx"}) const;
  // Files of the depot (paths relative to its root) that a mirror of that selection holds, sorted.
  std::vector<std::string> paths_for(const std::vector<std::string>& versions,
                                     const std::vector<std::string>& products = {"embeddedEsx"}) const;

  // A new update release in `line` ("8.0") named `version` ("8.0.4"): esx-base, esx-update, vsan and
  // tools get new VIBs, every other VIB is shared with the line's latest release. Regenerates the vendor
  // index; earlier zips and VIBs keep their bytes. Returns the release (new_vib_ids: what must be fetched).
  const SampleRelease& add_update_release(const std::string& line, const std::string& version);
  // Serve `bytes` as the VIB's file; the metadata keeps listing the old size and sha-256 (a bad download).
  void set_vib_bytes(const std::string& vib_id, std::string bytes);
  // A re-released VIB: new bytes, and every zip listing it lists their size and sha-256.
  void replace_vib(const std::string& vib_id, std::string bytes);
  // The metadata lists this sha-256 for the VIB (every zip listing it is regenerated); the file is unchanged.
  void set_listed_sha256(const std::string& vib_id, const std::string& sha256);
  void remove_file(const std::string& path);
  void set_file(const std::string& path, std::string bytes);  // replace or add any file
  // Where the depot is served (the URL of its directory, ending in '/'): absolute VIB URLs are written
  // with it. SiteServer calls this when it mounts the depot. Regenerates the zips that hold such URLs.
  void set_base_url(const std::string& depot_url);
  const std::string& base_url() const { return base_url_; }
  bool has_absolute_urls() const { return options_.absolute_url_inside || options_.absolute_url_outside; }

  // Every served file: path relative to the depot root -> bytes (shared: copies of a depot are cheap).
  const std::map<std::string, std::shared_ptr<const std::string>>& files() const { return files_; }
  // One file's bytes; throws std::out_of_range when the depot has no such file.
  const std::string& file(const std::string& path) const { return *files_.at(path); }

 private:
  // What a release ships one VIB of; the VIB's version and size follow from the release.
  struct Component {
    std::string vendor, type, name, summary;
    std::string bulletin;  // bulletin id prefix ("ESXi"); components sharing it in a release share a bulletin
    std::string severity, category, release_type;
    std::string driver;    // "0.9.0-2vmw": a driver's version scheme; "tools": VMware Tools'; "": the release's
    double weight = 0.05;  // where its size falls between the option's min and max
    std::size_t payload_bytes = 0;  // exact payload size instead of weight (generated depots)
  };
  SampleDepot() = default;
  void add_release(const std::string& line, const std::string& version, const std::string& product,
                   const std::string& build, const std::string& date, bool security,
                   const std::vector<Component>& updated);
  void set_relative_path(SampleVib& vib) const;
  void render_vib(const std::string& id);
  void render_release(const SampleRelease& release);
  void render_indexes();
  void render_releases_listing(const std::string& vib_id);

  std::string name_, vendor_name_, vendor_code_, relative_path_, index_file_, zip_prefix_;
  SampleDepotOptions options_;
  std::string base_url_ = "http://depot.invalid/";
  std::string inside_vib_, outside_vib_;  // ids written as absolute URLs (when the options ask)
  std::vector<SampleRelease> releases_;
  std::map<std::string, Component> components_;      // by VIB name: what a new release updates from
  std::map<std::string, SampleBulletin> bulletins_;  // by id
  std::map<std::string, std::string> bulletin_of_;   // VIB id -> the bulletin that introduced it
  std::map<std::string, SampleVib> vibs_;
  std::map<std::string, std::shared_ptr<const std::string>> files_;
};

}  // namespace esxmirror::testing
