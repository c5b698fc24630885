// The generated vendor site: renders the index and the detail pages the way VMware's vi3 pages looked
// (DESIGN §7, both dialects and their real-world quirks) and builds a real .tgz for every bundle.
#include "support/sample_site.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <stdexcept>

namespace esxmirror::testing {
namespace {

// Bundles are reproducible from the patch alone, so bundle_contents() need not keep the RPM bytes.
unsigned bundle_seed(const SamplePatch& patch) {
  std::uint32_t hash = 2166136261u;  // FNV-1a
  for (const unsigned char c : patch.id) hash = (hash ^ c) * 16777619u;
  return hash ^ static_cast<unsigned>(patch.bundle_bytes);
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// Writes tags in the patch's style: case of tag names, quote character, line ends.
class Html {
 public:
  Html(bool upper, bool single_quotes) : upper_(upper), quote_(single_quotes ? '\'' : '"') {}
  std::string open(const std::string& tag, const std::string& attributes = "") const {
    return "<" + name(tag) + attributes + ">";
  }
  std::string close(const std::string& tag) const { return "</" + name(tag) + ">"; }
  std::string wrap(const std::string& tag, const std::string& inner) const { return open(tag) + inner + close(tag); }
  std::string attr(const std::string& key, const std::string& value) const {
    return " " + name(key) + "=" + quote_ + value + quote_;
  }
  std::string link(const std::string& href, const std::string& text) const {
    return open("a", attr("href", href)) + text + close("a");
  }

 private:
  std::string name(std::string tag) const {
    if (upper_) std::transform(tag.begin(), tag.end(), tag.begin(), [](unsigned char c) { return std::toupper(c); });
    return tag;
  }
  bool upper_;
  char quote_;
};

std::string page_head(const Html& h, const std::string& title) {
  return "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">\n" + h.open("html") + "\n" +
         h.open("head") + "\n" + h.wrap("title", title) + "\n" +
         h.open("link", h.attr("rel", "stylesheet") + h.attr("href", "/css/vmware.css")) + "\n" + h.close("head") +
         "\n" + h.open("body") + "\n" + h.open("a", h.attr("name", "top")) + h.close("a") + "\n" +
         h.open("div", h.attr("id", "nav")) + h.link("/", "Home") + " | " + h.link("/download/", "Downloads") + " | " +
         h.link("vi3_patches.html", "VI3 Patches") + " | " + h.link("/support/", "Support") + h.close("div") + "\n";
}

std::string page_foot(const Html& h) {
  return h.open("div", h.attr("id", "footer")) + h.link("#top", "Back to top") +
         " &middot; Copyright &copy; 1998-2008 VMware, Inc. All rights reserved." + h.close("div") + "\n" +
         h.close("body") + "\n" + h.close("html") + "\n";
}

std::string download_href(const SamplePatch& patch, const std::string& bundle_path) {
  std::string href;
  if (patch.absolute_link)
    href = SampleSite::base_token + bundle_path;
  else if (patch.dialect == 1)
    href = "../../" + bundle_path;  // pages live in download/vi/, dialect-1 bundles in software/vi/
  else
    href = patch.id + ".tgz";  // dialect-2 bundles sit next to their page
  if (patch.entity_in_link) {
    // What old page generators did: an encoded dot and an encoded '&' in a tracking query.
    replace_all(href, ".tgz", "&#46;tgz");
    href += "?src=vi3&amp;lang=en";
  }
  return href;
}

std::string dialect1_body(const Html& h, const SamplePatch& patch, const std::string& md5, const std::string& href) {
  std::string body;
  for (const auto& version : patch.versions)
    body += h.wrap("h2", "Download Patch " + patch.id + " for VMware ESX Server " + version) + "\n";
  body += h.wrap("p", h.wrap("b", "Released " + patch.date_text)) + "\n";
  body += h.wrap("p",
                 "This patch fixes issues in the service console and the VMkernel. Read the release "
                 "notes before installing it.") +
          "\n";
  body += h.wrap("p", h.wrap("b", "Classification:") + " " + patch.classification) + "\n";
  if (!patch.supersedes.empty()) body += h.wrap("p", "Supersedes: " + join(patch.supersedes, ", ")) + "\n";
  if (patch.kb_note) {
    body += h.wrap("p", "No download is required: follow the steps in the knowledge base article.") + "\n";
    return body;
  }
  if (patch.md5_on_page) body += h.wrap("p", "md5sum: " + md5) + "\n";
  body += h.wrap("p", h.link(href, "Download Now")) + "\n";
  return body;
}

std::string row(const Html& h, const std::string& label, const std::string& value) {
  return h.wrap("tr", h.wrap("td", label) + h.wrap("td", value)) + "\n";
}

std::string dialect2_body(const Html& h, const SamplePatch& patch, const std::string& md5, const std::string& href) {
  std::vector<std::string> products;
  for (const auto& version : patch.versions) products.push_back("ESX Server " + version);

  std::string body = h.wrap("h3", "VMware ESX Server Patch " + patch.id) + "\n";
  body += h.open("table", h.attr("border", "0") + h.attr("cellpadding", "2")) + "\n";
  body += row(h, h.wrap("b", "Release Date:"), patch.date_text);
  body += row(h, "Download Filename:", patch.kb_note ? "" : patch.id + ".tgz");
  if (patch.md5_on_page && !patch.kb_note) body += row(h, "md5sum:", md5);
  body += row(h, "Product Versions:", join(products, ", "));
  body += row(h, "Patch Classification:", patch.classification);
  if (!patch.supersedes.empty()) body += row(h, "Supersedes:", join(patch.supersedes, ", "));
  body += row(h, "Host Reboot Required:", "Yes");
  body += h.close("table") + "\n";
  if (patch.kb_note)
    body += h.wrap("p", "This is a knowledge base note; there is nothing to download.") + "\n";
  else
    body += h.wrap("p", h.link(href, "Download Now")) + "\n";
  return body;
}

std::string render_page(const SamplePatch& patch, const std::string& md5, const std::string& bundle_path) {
  const Html h(patch.upper_case_tags, patch.single_quotes);
  const std::string href = patch.kb_note ? "" : download_href(patch, bundle_path);
  std::string page = page_head(h, "VMware Patch Download: " + patch.id);
  page += patch.dialect == 1 ? dialect1_body(h, patch, md5, href) : dialect2_body(h, patch, md5, href);
  page += page_foot(h);
  if (patch.crlf) replace_all(page, "\n", "\r\n");
  return page;
}

// The three date forms the pages use, from an ISO date.
std::string date_text(const std::string& iso, int form) {
  static const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                        "July",    "August",   "September", "October", "November", "December"};
  const int year = std::stoi(iso.substr(0, 4));
  const int month = std::stoi(iso.substr(5, 2));
  const int day = std::stoi(iso.substr(8, 2));
  switch (form % 3) {
    case 0:
      return std::to_string(month) + "/" + std::to_string(day) + "/" + iso.substr(2, 2);
    case 1:
      return std::string(kMonths[month - 1]) + " " + std::to_string(day) + ", " + std::to_string(year);
    default:
      return iso;
  }
}

}  // namespace

std::string md5_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_md5(), nullptr) != 1)
    throw std::runtime_error("md5_hex: OpenSSL EVP_Digest failed");
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string SampleSite::with_base(std::string text, const std::string& base_url) {
  replace_all(text, base_token, base_url);
  return text;
}

SampleSite SampleSite::standard() {
  SampleSite site;
  auto add = [&site](SamplePatch patch, std::size_t kib) {
    patch.bundle_bytes = kib * 1024;
    site.add_patch(patch);
  };
  SamplePatch p;

  // 3.0.1, dialect 1, the plain form.
  p = {};
  p.id = "ESX-1000039", p.kb = "1000039", p.versions = {"3.0.1"}, p.date_text = "3/29/07";
  p.iso_date = "2007-03-29", p.classification = "Critical";
  add(p, 40);

  // 3.0.1, dialect 2 in lower case with double quotes, entities in the link.
  p = {};
  p.id = "ESX-1000050", p.kb = "1000050", p.versions = {"3.0.1"}, p.date_text = "4/3/07";
  p.iso_date = "2007-04-03", p.dialect = 2, p.entity_in_link = true;
  add(p, 36);

  // 3.0.1, dialect 1 shouting: upper-case tags, single quotes, absolute link.
  p = {};
  p.id = "ESX-1000070", p.kb = "1000070", p.versions = {"3.0.1"}, p.date_text = "April 12, 2007";
  p.iso_date = "2007-04-12", p.classification = "Security";
  p.upper_case_tags = true, p.single_quotes = true, p.absolute_link = true;
  add(p, 48);

  // 3.0.10 and 3.0.1a: must not be taken for 3.0.1.
  p = {};
  p.id = "ESX-1000100", p.kb = "1000100", p.versions = {"3.0.10"}, p.date_text = "5/2/07";
  p.iso_date = "2007-05-02";
  add(p, 32);
  p = {};
  p.id = "ESX-1000101", p.kb = "1000101", p.versions = {"3.0.1a"}, p.date_text = "2007-05-03";
  p.iso_date = "2007-05-03", p.dialect = 2, p.upper_case_tags = true, p.single_quotes = true;
  add(p, 32);

  // Shared by 3.0.1 and 3.0.2, dialect 2 ("Product Versions: ESX Server 3.0.1, ESX Server 3.0.2"), CRLF.
  p = {};
  p.id = "ESX-1001724", p.kb = "1001724", p.versions = {"3.0.1", "3.0.2"}, p.date_text = "2007-08-14";
  p.iso_date = "2007-08-14", p.dialect = 2, p.crlf = true, p.upper_case_tags = true;
  add(p, 56);

  // Shared by 3.0.1 and 3.0.2, dialect 1 (two h2 lines), CRLF, entities in the link.
  p = {};
  p.id = "ESX-1002082", p.kb = "1002082", p.versions = {"3.0.1", "3.0.2"}, p.date_text = "September 5, 2007";
  p.iso_date = "2007-09-05", p.classification = "Critical", p.crlf = true, p.entity_in_link = true;
  add(p, 44);

  // 3.0.2, exactly the DESIGN §7 dialect-2 sample, superseding ESX-1001724.
  p = {};
  p.id = "ESX-1002087", p.kb = "1002087", p.versions = {"3.0.2"}, p.date_text = "10/8/07";
  p.iso_date = "2007-10-08", p.dialect = 2, p.supersedes = {"ESX-1001724"};
  p.upper_case_tags = true, p.single_quotes = true;
  add(p, 64);

  // 3.0.2, dialect 2 without an md5 on the page, absolute link.
  p = {};
  p.id = "ESX-1002424", p.kb = "1002424", p.versions = {"3.0.2"}, p.date_text = "November 20, 2007";
  p.iso_date = "2007-11-20", p.dialect = 2, p.md5_on_page = false, p.absolute_link = true;
  p.classification = "Security";
  add(p, 52);

  // 3.0.2, dialect 1, undated ("TBD"); its KB number differs from the bundle number.
  p = {};
  p.id = "ESX-1002425", p.kb = "1003090", p.versions = {"3.0.2"}, p.date_text = "TBD";
  p.iso_date = "";
  add(p, 34);

  // 3.0.2, a KB note: empty download filename, no link, no bundle.
  p = {};
  p.id = "ESX-1003176", p.kb = "1003176", p.versions = {"3.0.2"}, p.date_text = "12/20/07";
  p.iso_date = "2007-12-20", p.dialect = 2, p.kb_note = true, p.md5_on_page = false;
  add(p, 0);

  return site;
}

SampleSite SampleSite::generated(std::size_t count, std::size_t bundle_bytes, const std::string& version) {
  SampleSite site;
  for (std::size_t i = 0; i < count; ++i) {
    SamplePatch p;
    p.kb = std::to_string(2000001 + i);
    p.id = "ESX-" + p.kb;
    p.versions = {version};
    // Spread release dates over the years, one every ~3 days, in the three printed forms.
    const std::size_t days = i * 3;
    const std::size_t year = 2008 + days / 336, month = 1 + days % 336 / 28, day = 1 + days % 28;
    p.iso_date = std::to_string(year) + (month < 10 ? "-0" : "-") + std::to_string(month) + (day < 10 ? "-0" : "-") +
                 std::to_string(day);
    p.date_text = date_text(p.iso_date, static_cast<int>(i));
    p.dialect = i % 2 == 0 ? 1 : 2;
    p.bundle_bytes = bundle_bytes;
    site.add_patch(p);
  }
  return site;
}

void SampleSite::add_patch(const SamplePatch& patch) {
  if (patch.id.empty() || patch.kb.empty())
    throw std::invalid_argument("SampleSite::add_patch: id and kb are required");
  // Replace an existing patch in place (keeps index order), dropping its old page and bundle.
  auto existing = std::find_if(patches_.begin(), patches_.end(), [&](const auto& p) { return p.id == patch.id; });
  if (existing != patches_.end()) {
    files_.erase(page_path(patch.id));
    if (const auto old_bundle = bundle_path(patch.id); !old_bundle.empty()) files_.erase(old_bundle);
    *existing = patch;
  } else {
    patches_.push_back(patch);
  }

  std::string md5;
  if (!patch.kb_note) {
    // Level 0: the RPM bytes are random, so compressing them only costs time (bench bundles are big).
    std::string bundle =
        build_archive(bundle_entries(patch.id, patch.bundle_bytes, bundle_seed(patch)), ArchiveFormat::tar_gz, 0);
    md5 = md5_hex(bundle);
    files_[bundle_path(patch.id)] = std::move(bundle);
  }
  files_[page_path(patch.id)] = render_page(patch, md5, bundle_path(patch.id));
  render_index();
}

void SampleSite::remove_patch(const std::string& id) {
  auto found = std::find_if(patches_.begin(), patches_.end(), [&](const auto& p) { return p.id == id; });
  if (found == patches_.end()) throw std::out_of_range("SampleSite: no patch " + id);
  files_.erase(page_path(id));
  if (const auto bundle = bundle_path(id); !bundle.empty()) files_.erase(bundle);
  patches_.erase(found);
  render_index();
}

const SamplePatch& SampleSite::patch(const std::string& id) const {
  auto found = std::find_if(patches_.begin(), patches_.end(), [&](const auto& p) { return p.id == id; });
  if (found == patches_.end()) throw std::out_of_range("SampleSite: no patch " + id);
  return *found;
}

std::string SampleSite::page_path(const std::string& id) const { return "download/vi/" + patch(id).kb + "-patch.html"; }

std::string SampleSite::bundle_path(const std::string& id) const {
  const SamplePatch& p = patch(id);
  if (p.kb_note) return "";
  return (p.dialect == 1 ? "software/vi/" : "download/vi/") + id + ".tgz";
}

void SampleSite::set_file(const std::string& path, std::string content) { files_[path] = std::move(content); }

std::string SampleSite::md5_of(const std::string& id) const {
  const std::string path = bundle_path(id);
  if (path.empty()) throw std::invalid_argument("SampleSite::md5_of: " + id + " is a KB note without a bundle");
  return md5_hex(files_.at(path));
}

std::vector<ArchiveEntry> SampleSite::bundle_contents(const std::string& id) const {
  const SamplePatch& p = patch(id);
  if (p.kb_note) return {};
  return bundle_entries(p.id, p.bundle_bytes, bundle_seed(p));
}

std::vector<ArchiveEntry> SampleSite::placed_contents(const std::string& id) const {
  std::vector<ArchiveEntry> placed;
  const std::string top = id + "/";
  for (ArchiveEntry entry : bundle_contents(id)) {
    if (entry.path.rfind(top, 0) != 0 || entry.path == top) continue;  // the top directory is the bundle directory
    entry.path.erase(0, top.size());
    placed.push_back(std::move(entry));
  }
  return placed;
}

void SampleSite::render_index() {
  const Html h(false, false);
  std::string page = page_head(h, "VMware Infrastructure 3 Patches");
  page += h.wrap("h1", "VMware Infrastructure 3: ESX Server 3.0.x Patches") + "\n";
  page += h.wrap("p", "See also " + h.link("vc_patches.html", "VirtualCenter patches") + ", " +
                          h.link("/download/ws/ws_patches.html", "Workstation updates") + " and the " +
                          h.link("/pdf/vi3_patch_guide.pdf", "patch management guide (PDF)") + ".") +
          "\n";
  if (!patches_.empty())  // the same page linked twice: discovery must de-duplicate
    page += h.wrap("p", "Latest: " + h.link(patches_.back().kb + "-patch.html", patches_.back().id)) + "\n";

  page += h.open("table", h.attr("border", "1")) + "\n";
  page += h.wrap("tr", h.wrap("th", "Patch") + h.wrap("th", "Released") + h.wrap("th", "Versions")) + "\n";
  for (std::size_t i = 0; i < patches_.size(); ++i) {
    const SamplePatch& p = patches_[i];
    // Mix the link forms real index pages used: relative, root-relative and absolute.
    const std::string page_file = p.kb + "-patch.html";
    const std::string href = i % 3 == 0   ? page_file
                             : i % 3 == 1 ? std::string(base_token) + "download/vi/" + page_file
                                          : "/download/vi/" + page_file;
    page += h.wrap("tr", h.wrap("td", h.link(href, p.id)) + h.wrap("td", p.date_text) +
                             h.wrap("td", "ESX Server " + join(p.versions, ", "))) +
            "\n";
  }
  page += h.close("table") + "\n";
  page += h.wrap("p", "Questions? " + h.link("mailto:vi3-patches@vmware.com", "Contact support") + " or visit the " +
                          h.link("http://www.vmware.com/support/kb/", "knowledge base") + ".") +
          "\n";
  page += page_foot(h);
  files_[index_path()] = std::move(page);
}

}  // namespace esxmirror::testing
