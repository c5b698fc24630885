// Sample depot documents in VMware's shapes: what esxcli, Lifecycle Manager and esxmirror read.
#include "support/sample_depot_render.hpp"

#include <cstdint>

#include "support/archive_builder.hpp"

namespace esxmirror::testing::depot_render {
namespace {

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string element(const std::string& name, const std::string& value) {
  return "<" + name + ">" + escape(value) + "</" + name + ">";
}

// A stable number from a name, like the numeric suffixes of VMware's member names.
std::uint32_t number_of(const std::string& text) {
  std::uint32_t hash = 2166136261u;  // FNV-1a
  for (const unsigned char c : text) hash = (hash ^ c) * 16777619u;
  return hash % 2000000000u + 100000000u;
}

std::string payload_name(const SampleVib& vib) { return vib.name.substr(0, 15); }

// The descriptor inside the .vib and at the head of vibs/*.xml.
std::string descriptor_body(const SampleVib& vib) {
  const std::string date = vib.release_date + "T00:00:00.000000+00:00";
  return "<vib version=\"5.0\">\n"
         "  <type>" +
         vib.type +
         "</type>\n"
         "  " +
         element("name", vib.name) +
         "\n"
         "  " +
         element("version", vib.version) +
         "\n"
         "  " +
         element("vendor", vib.vendor) +
         "\n"
         "  " +
         element("summary", vib.summary) +
         "\n"
         "  " +
         element("description", vib.summary) +
         "\n"
         "  <release-date>" +
         date +
         "</release-date>\n"
         "  <urls>\n    <url key=\"kb\">https://knowledge.broadcom.com/external/article?legacyId=97427</url>\n"
         "  </urls>\n"
         "  <relationships>\n    <depends>\n      <constraint name=\"vmkapi_2_12_0_0\"/>\n    </depends>\n"
         "    <conflicts/>\n    <replaces/>\n    <provides/>\n    <compatibleWith/>\n  </relationships>\n"
         "  <software-tags/>\n"
         "  <system-requires>\n    <maintenance-mode>true</maintenance-mode>\n  </system-requires>\n"
         "  <file-list>\n    <file>usr/lib/vmware/" +
         vib.name +
         "/README</file>\n  </file-list>\n"
         "  <acceptance-level>certified</acceptance-level>\n"
         "  <live-install-allowed>false</live-install-allowed>\n"
         "  <live-remove-allowed>false</live-remove-allowed>\n"
         "  <cimom-restart>false</cimom-restart>\n"
         "  <stateless-ready>true</stateless-ready>\n"
         "  <overlay>false</overlay>\n";
}

// The payload's own checksums: never the file's (the parser must not take them for it).
std::string payloads(const SampleVib& vib) {
  const std::string fake = std::string(64, 'e');
  return "  <payloads>\n    <payload name=\"" + payload_name(vib) + "\" type=\"vgz\" size=\"" +
         std::to_string(vib.payload_bytes) +
         "\">\n"
         "      <checksum checksum-type=\"sha-256\">" +
         fake +
         "</checksum>\n"
         "      <checksum checksum-type=\"sha-256\" verify-process=\"gunzip\">" +
         std::string(64, 'f') + "</checksum>\n    </payload>\n  </payloads>\n";
}

std::string vib_document(const SampleVib& vib) {
  return descriptor_body(vib) + payloads(vib) + "  " + element("relative-path", vib.relative_path) + "\n" +
         "  <packed-size>" + std::to_string(vib.listed_size) + "</packed-size>\n" +
         "  <checksum checksum-type=\"sha-256\">" + vib.listed_sha256 + "</checksum>\n</vib>\n";
}

std::string platform(const SampleBulletin& bulletin) {
  return "<softwarePlatform locale=\"\" version=\"" + bulletin.platform + "\" productLineID=\"" + bulletin.product +
         "\"/>";
}

std::string bulletin_head(const SampleBulletin& bulletin, const std::string& indent) {
  std::string out;
  const auto line = [&](const std::string& text) { out += indent + text + (indent.empty() ? "" : "\n"); };
  line(element("id", bulletin.id));
  line(element("vendor", "VMware, Inc."));
  line(element("summary", bulletin.summary));
  line(element("severity", bulletin.severity));
  line(element("category", bulletin.category));
  line(element("urgency", bulletin.severity));
  line(element("releaseType", bulletin.release_type));
  line(element("kbUrl", "https://knowledge.broadcom.com/external/article?legacyId=97427"));
  line(element("contact", "https://support.broadcom.com"));
  return out;
}

std::string bulletin_document(const SampleBulletin& bulletin) {
  std::string out = "<bulletin>" + bulletin_head(bulletin, "") +
                    element("releaseDate", bulletin.release_date + "T00:00:00") + "<platforms>" + platform(bulletin) +
                    "</platforms><vibList>";
  for (const std::string& id : bulletin.vib_ids) out += element("vibID", id);
  return out + "</vibList></bulletin>\n";
}

void append_vmware_bulletin(std::string& out, const SampleBulletin& bulletin,
                            const std::vector<const SampleVib*>& vibs) {
  out += "  <bulletin>\n" + bulletin_head(bulletin, "    ");
  out += "    " + element("releaseDate", bulletin.release_date + "T00:00:00.000000+00:00") + "\n";
  out += "    <platforms>\n      " + platform(bulletin) + "\n    </platforms>\n    <vibList>\n";
  for (const SampleVib* vib : vibs) {
    out += "      <vib>\n        <vibVersion>5.0</vibVersion>\n        " + element("vibID", vib->id()) + "\n        " +
           element("name", vib->name) + "\n        " + element("version", vib->version) + "\n        " +
           element("vendor", vib->vendor) + "\n        " + element("vibType", vib->type) + "\n        " +
           element("summary", vib->summary) + "\n        <vibFile>\n          <sourceUrl></sourceUrl>\n          " +
           element("relativePath", vib->relative_path) + "\n          <packedSize>" + std::to_string(vib->listed_size) +
           "</packedSize>\n          <checksum>\n"
           "            <checksumType>sha-256</checksumType>\n            <checksum>" +
           vib->listed_sha256 + "</checksum>\n          </checksum>\n        </vibFile>\n      </vib>\n";
  }
  out += "    </vibList>\n  </bulletin>\n";
}

std::string profile_document(const std::string& name, const std::vector<std::string>& vib_ids,
                             const std::string& release_date) {
  std::string out = "<imageProfile>\n  " + element("name", name) + "\n  <creator>VMware, Inc.</creator>\n" +
                    "  <creationtime>" + release_date + "T00:00:00.000000+00:00</creationtime>\n" +
                    "  <readonly>true</readonly>\n  <acceptancelevel>partner</acceptancelevel>\n  <vibList>\n";
  for (const std::string& id : vib_ids) out += "    <vib>\n      " + element("vibid", id) + "\n    </vib>\n";
  return out + "  </vibList>\n</imageProfile>\n";
}

std::string metadata_entry(const SampleRelease& release) {
  return "  <metadata>\n    " + element("productId", release.product) + "\n    " + element("version", release.version) +
         "\n    <locale></locale>\n    <patchUrl></patchUrl>\n    " + element("url", release.zip_name) +
         "\n    <channelName>default</channelName>\n  </metadata>\n";
}

}  // namespace

std::string depot_index(const VendorInfo& vendor) {
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<vendorList>\n  <vendor>\n    " + element("name", vendor.name) +
         "\n    " + element("code", vendor.code) + "\n    " + element("indexfile", vendor.index_file) +
         "\n    <patchUrl></patchUrl>\n    " + element("relativePath", vendor.relative_path) +
         "\n    <content>\n      <name>VMware ESX</name>\n"
         "      <type>http://www.vmware.com/depotmanagement/esx</type>\n    </content>\n  </vendor>\n</vendorList>\n";
}

std::string vendor_index(const std::vector<SampleRelease>& releases) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<metaList>\n";
  for (const SampleRelease& release : releases) out += metadata_entry(release);
  return out + "</metaList>\n";
}

std::string vib_file(const SampleVib& vib, const std::string& payload) {
  const std::string signature = "-----BEGIN PKCS7-----\n" + std::string(1024, 'S') + "\n-----END PKCS7-----\n";
  const std::string descriptor = descriptor_body(vib) + payloads(vib) + "</vib>\n";
  return build_ar_archive({{"descriptor.xml", ArchiveEntry::Type::file, descriptor, "", 0644},
                           {"sig.pkcs7", ArchiveEntry::Type::file, signature, "", 0644},
                           {payload_name(vib), ArchiveEntry::Type::file, payload, "", 0644}});
}

std::vector<std::pair<std::string, std::string>> metadata_members(const SampleRelease& release,
                                                                  const std::map<std::string, SampleVib>& vibs) {
  std::vector<std::pair<std::string, std::string>> members;
  members.reserve(release.vib_ids.size() + release.bulletins.size() + release.profiles.size() + 2);
  members.emplace_back("vendor-index.xml", "<metaList>\n" + metadata_entry(release) + "</metaList>\n");

  std::string vmware = "<metadataResponse>\n  <version>3.0</version>\n  <timestamp>" + release.release_date +
                       "T00:00:00.000000</timestamp>\n";
  for (const SampleBulletin& bulletin : release.bulletins) {
    std::vector<const SampleVib*> listed;
    listed.reserve(bulletin.vib_ids.size());
    for (const std::string& id : bulletin.vib_ids) listed.push_back(&vibs.at(id));
    append_vmware_bulletin(vmware, bulletin, listed);
  }
  members.emplace_back("vmware.xml", vmware + "</metadataResponse>\n");

  for (const SampleBulletin& bulletin : release.bulletins)
    members.emplace_back("bulletins/" + bulletin.id + ".xml", bulletin_document(bulletin));
  for (const std::string& profile : release.profiles) {
    const bool no_tools = profile.size() > 9 && profile.compare(profile.size() - 9, 9, "-no-tools") == 0;
    std::vector<std::string> ids;
    for (const std::string& id : release.vib_ids)
      if (!no_tools || vibs.at(id).name != "tools-light") ids.push_back(id);
    members.emplace_back("profiles/" + profile + "-" + release.build + ".xml",
                         profile_document(profile, ids, release.release_date));
  }
  for (const std::string& id : release.vib_ids) {
    const SampleVib& vib = vibs.at(id);
    members.emplace_back("vibs/" + vib.name + "-" + std::to_string(number_of(id)) + ".xml", vib_document(vib));
  }
  return members;
}

}  // namespace esxmirror::testing::depot_render
