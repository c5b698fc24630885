// The generated online depot: releases made of components, VIBs shared between releases, every file
// rendered by sample_depot_render.cpp. Same inputs, same bytes.
#include "support/sample_depot.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "esxmirror/util/hash.hpp"
#include "support/archive_builder.hpp"
#include "support/sample_depot_render.hpp"

namespace esxmirror::testing {
namespace {

std::uint64_t seed_of(const std::string& text) {
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a 64
  for (const unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

std::string sha256_hex(const std::string& bytes) {
  util::StreamHasher hasher(util::StreamHasher::Algorithms::sha256);
  hasher.update(bytes.data(), bytes.size());
  return hasher.finish().sha256;
}

// "8.0.3" -> "80", "3".
std::string line_digits(const std::string& line) {
  std::string out;
  for (const char c : line)
    if (c != '.') out += c;
  return out;
}

std::string update_of(const std::string& version) { return version.substr(version.rfind('.') + 1); }

std::string days_after(const std::string& iso, int days) {
  int y = 0;
  unsigned m = 0, d = 0;
  std::sscanf(iso.c_str(), "%d-%u-%u", &y, &m, &d);
  const auto date = std::chrono::year_month_day(std::chrono::sys_days(std::chrono::year_month_day(
                                                    std::chrono::year(y), std::chrono::month(m), std::chrono::day(d))) +
                                                std::chrono::days(days));
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()));
  return text;
}

bool selects(const std::string& selected, const std::string& version) {
  return version == selected || version.rfind(selected + ".", 0) == 0;
}

}  // namespace

SampleDepot SampleDepot::standard(const SampleDepotOptions& options) {
  SampleDepot depot;
  depot.name_ = "main";
  depot.vendor_name_ = "VMware, Inc.";
  depot.vendor_code_ = "vmw";
  depot.relative_path_ = "esx/vmw/";
  depot.index_file_ = "vmw-esx-index.xml";
  depot.zip_prefix_ = "vmw-";
  depot.options_ = options;

  const Component base{
      "VMware", "bootbank", "esx-base", "ESXi base system", "ESXi", "important", "enhancement", "patch", "", 1.0, 0};
  const Component update{"VMware",
                         "bootbank",
                         "esx-update",
                         "ESXi Install/Upgrade Tools",
                         "esx-update",
                         "important",
                         "enhancement",
                         "patch",
                         "",
                         0.15,
                         0};
  const Component vsan{
      "VMware", "bootbank", "vsan", "vSAN for ESXi", "VMware-vSAN", "important", "enhancement", "patch", "", 0.6, 0};
  const Component health{"VMware",
                         "bootbank",
                         "vsanhealth",
                         "vSAN health service",
                         "VMware-vsanhealth",
                         "moderate",
                         "enhancement",
                         "patch",
                         "",
                         0.3,
                         0};
  const Component xserver{
      "VMware", "bootbank", "esx-xserver", "X server for ESXi", "VMware-esx-xserver", "low", "bugfix", "patch", "",
      0.01,     0};
  const Component ne1000{"VMW",          "bootbank", "ne1000", "Network driver for Intel(R) PRO/1000 Family Adapters",
                         "Intel-ne1000", "moderate", "bugfix", "patch",
                         "0.9.0-2vmw",   0.008,      0};
  const Component vmkusb{"VMware",        "bootbank", "vmkusb", "USB Native Driver for VMware",
                         "VMware-vmkusb", "moderate", "bugfix", "patch",
                         "0.1-8vmw",      0.02,       0};
  const Component nvme{"VMware",
                       "bootbank",
                       "nvme-pcie",
                       "Non-Volatile memory controller driver",
                       "VMware-NVMe-PCIe",
                       "important",
                       "bugfix",
                       "patch",
                       "1.2.4.11-1vmw",
                       0.004,
                       0};
  const Component lsi{"Broadcom",         "bootbank", "lsi-mr3", "Broadcom MegaRAID SAS driver",
                      "Broadcom-lsi-mr3", "moderate", "bugfix",  "patch",
                      "7.726.02.00-1OEM", 0.03,       0};
  const Component tools{"VMware",
                        "locker",
                        "tools-light",
                        "VMware Tools for ESXi",
                        "VMware-VM-Tools",
                        "moderate",
                        "enhancement",
                        "extension",
                        "tools",
                        0.5,
                        0};
  const Component esxio_base{
      "VMware", "bootbank", "esxio-base", "ESXio base system", "ESXio", "important", "enhancement", "patch", "",
      0.7,      0};
  const Component esxio_combiner{
      "VMware", "bootbank", "esxio-combiner", "ESXio combiner", "ESXio", "important", "enhancement", "patch", "",
      0.003,    0};

  depot.add_release("7.0", "7.0.2", "embeddedEsx", "17630552", "2021-03-09", false,
                    {base, update, vsan, ne1000, vmkusb, nvme, lsi, tools});
  depot.add_release("7.0", "7.0.3", "embeddedEsx", "18644231", "2021-10-05", true, {base, update, vsan, vmkusb, tools});
  depot.add_release("8.0", "8.0.1", "embeddedEsx", "21495797", "2023-04-18", false,
                    {base, update, vsan, health, xserver, ne1000, vmkusb, nvme, lsi, tools});
  depot.add_release("8.0", "8.0.2", "embeddedEsx", "22380479", "2023-09-21", true,
                    {base, update, vsan, health, vmkusb, tools});
  depot.add_release("8.0", "8.0.3", "embeddedEsx", "24022510", "2024-06-25", false,
                    {base, update, vsan, health, xserver, nvme, tools});
  if (options.esxio)
    depot.add_release("8.0", "8.0.3", "esxio", "24022510", "2024-06-25", false, {esxio_base, esxio_combiner});

  const SampleRelease& u3 = depot.release("8.0.3");
  const auto id_of = [&](const std::string& name) {
    return *std::find_if(u3.vib_ids.begin(), u3.vib_ids.end(),
                         [&](const auto& id) { return depot.vib(id).name == name; });
  };
  if (options.absolute_url_inside) depot.inside_vib_ = id_of("tools-light");
  if (options.absolute_url_outside) depot.outside_vib_ = id_of("nvme-pcie");
  depot.set_base_url(depot.base_url_);  // writes those two as absolute URLs and renders everything
  return depot;
}

SampleDepot SampleDepot::addon(const SampleDepotOptions& options) {
  SampleDepot depot;
  depot.name_ = "addon-main";
  depot.vendor_name_ = "Dell Inc.";
  depot.vendor_code_ = "DEL";
  depot.relative_path_ = "dell/";
  depot.index_file_ = "dell-esx-index.xml";
  depot.zip_prefix_ = "DEL-";
  depot.options_ = options;
  depot.options_.absolute_url_inside = depot.options_.absolute_url_outside = false;
  const Component idrac{"DEL",
                        "bootbank",
                        "dellemc-osname-idrac",
                        "Dell EMC iDRAC OS name",
                        "DEL-idrac",
                        "moderate",
                        "enhancement",
                        "extension",
                        "3.0.0-1OEM",
                        0.02,
                        0};
  const Component ism{"DEL",
                      "bootbank",
                      "dcism",
                      "Dell iDRAC Service Module",
                      "DEL-dcism",
                      "moderate",
                      "enhancement",
                      "extension",
                      "5.2.0.0-3204",
                      0.4,
                      0};
  const Component qedentv{"QLC",
                          "bootbank",
                          "qedentv",
                          "QLogic FastLinQ 10/25/40/50/100 GbE driver",
                          "QLC-qedentv",
                          "important",
                          "bugfix",
                          "extension",
                          "3.40.26.0-1OEM",
                          0.2,
                          0};
  depot.add_release("7.0", "7.0.3", "embeddedEsx", "18644231", "2021-11-30", false, {idrac, ism, qedentv});
  depot.add_release("8.0", "8.0.3", "embeddedEsx", "24022510", "2024-07-30", false, {ism, qedentv});
  // The 8.0.3 addon ships the 7.0.3 idrac VIB too: one VIB shared between the lines.
  SampleRelease& u3 = depot.releases_.back();
  const std::string shared = depot.releases_.front().vib_ids.front();
  u3.vib_ids.insert(u3.vib_ids.begin(), shared);
  u3.bulletins.insert(u3.bulletins.begin(), depot.bulletins_.at(depot.bulletin_of_.at(shared)));
  depot.set_base_url(depot.base_url_);
  return depot;
}

SampleDepot SampleDepot::generated(std::size_t vib_count, std::size_t vib_bytes) {
  SampleDepot depot;
  depot.name_ = "main";
  depot.vendor_name_ = "VMware, Inc.";
  depot.vendor_code_ = "vmw";
  depot.relative_path_ = "esx/vmw/";
  depot.index_file_ = "vmw-esx-index.xml";
  depot.zip_prefix_ = "vmw-";
  depot.options_.esxio = false;
  std::vector<Component> components;
  components.reserve(vib_count);
  constexpr std::size_t kPerBulletin = 50;
  // The descriptor, signature and ar headers add about 3 KiB; the payload makes up the rest.
  const std::size_t payload = vib_bytes > 4096 ? vib_bytes - 3072 : std::max<std::size_t>(vib_bytes, 1);
  char name[32], bulletin[32];
  for (std::size_t i = 0; i < vib_count; ++i) {
    std::snprintf(name, sizeof name, "gen-driver-%05zu", i);
    std::snprintf(bulletin, sizeof bulletin, "VMware-gen-%04zu", i / kPerBulletin);
    components.push_back({"VMware", "bootbank", name, "Generated driver", bulletin, "moderate", "bugfix", "patch",
                          "1.0." + std::to_string(i) + "-1vmw", 0, payload});
  }
  depot.add_release("8.0", "8.0.3", "embeddedEsx", "24022510", "2024-06-25", false, components);
  depot.set_base_url(depot.base_url_);
  return depot;
}

void SampleDepot::add_release(const std::string& line, const std::string& version, const std::string& product,
                              const std::string& build, const std::string& date, bool security,
                              const std::vector<Component>& updated) {
  SampleRelease release;
  release.line = line;
  release.version = version;
  release.product = product;
  release.build = build;
  release.release_date = date;
  const std::string kind = product == "esxio" ? "ESXio" : "ESXi";
  release.zip_name = zip_prefix_ + kind + "-" + version + (zip_prefix_ == "vmw-" ? "" : "-addon") + "-metadata.zip";

  // The image: the line's latest release of this product, with the updated components replaced.
  std::map<std::string, std::string> image;  // VIB name -> id
  for (auto at = releases_.rbegin(); at != releases_.rend(); ++at) {
    if (at->line != line || at->product != product) continue;
    for (const std::string& id : at->vib_ids) image[vibs_.at(id).name] = id;
    break;
  }
  const std::string u = update_of(version);
  for (const Component& component : updated) {
    SampleVib vib;
    vib.vendor = component.vendor;
    vib.type = component.type;
    vib.name = component.name;
    vib.summary = component.summary;
    vib.release_date = date;
    if (component.driver.empty())
      vib.version = version + "-0.0." + build;
    else if (component.driver == "tools")
      vib.version = "12." + u + ".0." + std::to_string(std::stoul(build) - 1000) + "-" + build;
    else
      vib.version = component.driver + "." + line_digits(line) + u + ".0.0." + build;
    const double spread = 0.6 + 0.4 * static_cast<double>(seed_of(vib.id()) % 1000) / 1000.0;
    vib.payload_bytes =
        component.payload_bytes != 0
            ? component.payload_bytes
            : options_.min_vib_bytes +
                  static_cast<std::size_t>(static_cast<double>(options_.max_vib_bytes - options_.min_vib_bytes) *
                                           component.weight * spread);
    const std::string id = vib.id();
    components_[vib.name] = component;
    image[vib.name] = id;
    if (vibs_.emplace(id, vib).second) release.new_vib_ids.push_back(id);

    // Components that share a bulletin prefix in this release share one bulletin.
    const std::string bulletin_id =
        component.bulletin + "_" + (component.driver.empty() ? vib.version : version + "-0.0." + build);
    SampleBulletin& bulletin = bulletins_[bulletin_id];
    if (bulletin.id.empty()) {
      const bool base = component.bulletin == "ESXi";
      bulletin = {bulletin_id,
                  component.summary,
                  security && base ? "critical" : component.severity,
                  security && base ? "security" : component.category,
                  component.release_type,
                  date,
                  component.type == "locker" ? line + ".*" : version,
                  product,
                  {}};
    }
    bulletin.vib_ids.push_back(id);
    bulletin_of_[id] = bulletin_id;
  }

  std::set<std::string> seen_bulletins;
  for (const auto& [name, id] : image) {
    release.vib_ids.push_back(id);
    const std::string& bulletin = bulletin_of_.at(id);
    if (seen_bulletins.insert(bulletin).second) release.bulletins.push_back(bulletins_.at(bulletin));
  }
  // A bulletin lists only what this zip describes (a group may have been partly updated since).
  for (SampleBulletin& bulletin : release.bulletins)
    bulletin.vib_ids.erase(std::remove_if(bulletin.vib_ids.begin(), bulletin.vib_ids.end(),
                                          [&](const std::string& id) { return image.at(vibs_.at(id).name) != id; }),
                           bulletin.vib_ids.end());
  if (zip_prefix_ == "vmw-") {
    const std::string u_name = kind + "-" + line + (u == "0" ? ".0" : "U" + u) + "-" + build;
    release.profiles = {u_name + "-standard"};
    if (image.count("tools-light")) release.profiles.push_back(u_name + "-no-tools");
  }
  releases_.push_back(std::move(release));
}

std::string SampleDepot::zip_path(const std::string& version, const std::string& product) const {
  return relative_path_ + release(version, product).zip_name;
}

std::string SampleDepot::vib_path(const std::string& vib_id) const {
  const SampleVib& found = vib(vib_id);
  return relative_path_ + "vib20/" + found.name + "/" + found.file_name();
}

const SampleRelease& SampleDepot::release(const std::string& version, const std::string& product) const {
  for (const SampleRelease& release : releases_)
    if (release.version == version && release.product == product) return release;
  throw std::out_of_range("sample depot " + name_ + " has no " + product + " release " + version);
}

const SampleVib& SampleDepot::vib(const std::string& id) const {
  const auto found = vibs_.find(id);
  if (found == vibs_.end()) throw std::out_of_range("sample depot " + name_ + " has no VIB " + id);
  return found->second;
}

std::vector<std::string> SampleDepot::vibs_for(const std::vector<std::string>& versions,
                                               const std::vector<std::string>& products) const {
  std::set<std::string> ids;
  for (const SampleRelease& release : releases_) {
    if (std::find(products.begin(), products.end(), release.product) == products.end()) continue;
    if (std::none_of(versions.begin(), versions.end(), [&](const auto& v) { return selects(v, release.version); }))
      continue;
    for (const std::string& id : release.vib_ids)
      if (id != outside_vib_) ids.insert(id);
  }
  return {ids.begin(), ids.end()};
}

std::vector<std::string> SampleDepot::paths_for(const std::vector<std::string>& versions,
                                                const std::vector<std::string>& products) const {
  std::set<std::string> paths = {index_path(), vendor_index_path()};
  for (const SampleRelease& release : releases_) {
    const bool product = std::find(products.begin(), products.end(), release.product) != products.end();
    const auto selected = [&](const std::string& v) { return selects(v, release.version); };
    if (product && std::any_of(versions.begin(), versions.end(), selected))
      paths.insert(relative_path_ + release.zip_name);
  }
  for (const std::string& id : vibs_for(versions, products)) paths.insert(vib_path(id));
  return {paths.begin(), paths.end()};
}

const SampleRelease& SampleDepot::add_update_release(const std::string& line, const std::string& version) {
  const auto latest = std::find_if(releases_.rbegin(), releases_.rend(), [&](const SampleRelease& release) {
    return release.line == line && release.product == "embeddedEsx";
  });
  if (latest == releases_.rend()) throw std::out_of_range("sample depot " + name_ + " has no " + line + " line");
  const std::string build = std::to_string(std::stoul(latest->build) + 1111111);
  const std::string date = days_after(latest->release_date, 97);
  std::vector<Component> updated;
  for (const std::string& id : latest->vib_ids) {
    const std::string& vib_name = vibs_.at(id).name;
    if (vib_name == "esx-base" || vib_name == "esx-update" || vib_name == "vsan" || vib_name == "tools-light")
      updated.push_back(components_.at(vib_name));
  }
  add_release(line, version, "embeddedEsx", build, date, false, updated);
  const SampleRelease& added = releases_.back();
  for (const std::string& id : added.new_vib_ids) {
    set_relative_path(vibs_.at(id));
    render_vib(id);
  }
  render_release(added);
  render_indexes();
  return added;
}

void SampleDepot::set_vib_bytes(const std::string& vib_id, std::string bytes) {
  files_[vib_path(vib_id)] = std::make_shared<const std::string>(std::move(bytes));
}

void SampleDepot::replace_vib(const std::string& vib_id, std::string bytes) {
  SampleVib& changed = vibs_.at(vib_id);
  changed.listed_size = bytes.size();
  changed.listed_sha256 = sha256_hex(bytes);
  set_vib_bytes(vib_id, std::move(bytes));
  render_releases_listing(vib_id);
}

void SampleDepot::set_listed_sha256(const std::string& vib_id, const std::string& sha256) {
  vibs_.at(vib_id).listed_sha256 = sha256;
  render_releases_listing(vib_id);
}

void SampleDepot::remove_file(const std::string& path) { files_.erase(path); }

void SampleDepot::set_file(const std::string& path, std::string bytes) {
  files_[path] = std::make_shared<const std::string>(std::move(bytes));
}

void SampleDepot::set_base_url(const std::string& depot_url) {
  const bool first = files_.empty();
  base_url_ = depot_url;
  if (first) {  // the factories' last step: render everything once
    for (auto& [id, vib] : vibs_) {
      set_relative_path(vib);
      render_vib(id);
    }
    for (const SampleRelease& release : releases_) render_release(release);
    render_indexes();
    return;
  }
  for (const std::string& id : {inside_vib_, outside_vib_}) {
    if (id.empty()) continue;
    set_relative_path(vibs_.at(id));
    render_releases_listing(id);
  }
}

void SampleDepot::set_relative_path(SampleVib& vib) const {
  const std::string relative = "vib20/" + vib.name + "/" + vib.file_name();
  if (vib.id() == inside_vib_) {
    vib.relative_path = base_url_ + relative_path_ + relative;
  } else if (vib.id() == outside_vib_) {
    // Beside the depot's directory: ".../ESX_HOST/main/" -> ".../ESX_HOST/outside/".
    const std::size_t parent = base_url_.rfind('/', base_url_.size() - 2);
    vib.relative_path = base_url_.substr(0, parent + 1) + "outside/" + relative;
  } else {
    vib.relative_path = relative;
  }
}

void SampleDepot::render_vib(const std::string& id) {
  SampleVib& vib = vibs_.at(id);
  std::string bytes = depot_render::vib_file(vib, pseudo_random_bytes(vib.payload_bytes, seed_of(id)));
  vib.listed_size = bytes.size();
  vib.listed_sha256 = sha256_hex(bytes);
  if (id != outside_vib_) set_file(vib_path(id), std::move(bytes));  // it lives elsewhere
}

void SampleDepot::render_release(const SampleRelease& release) {
  std::vector<ArchiveEntry> entries;
  for (auto& [name, bytes] : depot_render::metadata_members(release, vibs_))
    entries.push_back({name, ArchiveEntry::Type::file, std::move(bytes), "", 0644});
  set_file(relative_path_ + release.zip_name, build_archive(entries, ArchiveFormat::zip));
}

void SampleDepot::render_indexes() {
  set_file(index_path(), depot_render::depot_index({vendor_name_, vendor_code_, relative_path_, index_file_}));
  set_file(vendor_index_path(), depot_render::vendor_index(releases_));
}

void SampleDepot::render_releases_listing(const std::string& vib_id) {
  for (const SampleRelease& release : releases_)
    if (std::find(release.vib_ids.begin(), release.vib_ids.end(), vib_id) != release.vib_ids.end())
      render_release(release);
}

}  // namespace esxmirror::testing
