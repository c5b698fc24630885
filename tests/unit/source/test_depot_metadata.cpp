// What a metadata zip's members say: VIBs (vibs/*.xml first, vmware.xml as the fallback), bulletins,
// image profiles, and the inconsistencies that are refused. Members in memory; the zip file itself is
// read in test_depot_metadata_zip.cpp.
#include <catch2/catch.hpp>

#include "depot_fixtures.hpp"
#include "esxmirror/source/depot.hpp"

using namespace esxmirror::source::depot;
using depot_test::contains;
using depot_test::metadata_members;

namespace {

using Members = std::vector<std::pair<std::string, std::string>>;

const std::string kZip = "main/esx/vmw/vmw-ESXi-8.0.3-metadata.zip";
const std::string kEsxBase = "VMware_bootbank_esx-base_8.0.3-0.0.24022510";
const std::string kNe1000 = "VMW_bootbank_ne1000_0.9.0-2vmw.800.1.0.20613240";
const std::string kTools = "VMware_locker_tools-light_12.4.0.23259341-23980727";

std::string& member(Members& members, const std::string& name) {
  for (auto& [key, bytes] : members)
    if (key == name) return bytes;
  FAIL("no member " + name);
  static std::string none;
  return none;
}

void replace(std::string& text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
}

std::string refusal(const Members& members) {
  try {
    parse_metadata_members(members, kZip);
  } catch (const FormatError& error) {
    const std::string text = error.what();
    CHECK(text.rfind(kZip + ": ", 0) == 0);
    CHECK(text.find('\n') == std::string::npos);
    return text;
  }
  FAIL("the members were not refused");
  return "";
}

}  // namespace

TEST_CASE("metadata: every VIB with the file's path, size and sha-256, not a payload's", "[depot][metadata]") {
  const Metadata metadata = parse_metadata_members(metadata_members(), kZip);
  REQUIRE(metadata.vibs.size() == 6);
  CHECK(std::is_sorted(metadata.vibs.begin(), metadata.vibs.end(),
                       [](const Vib& a, const Vib& b) { return a.id < b.id; }));

  const Vib* base = metadata.find_vib(kEsxBase);
  REQUIRE(base);
  CHECK(base->name == "esx-base");
  CHECK(base->version == "8.0.3-0.0.24022510");
  CHECK(base->vendor == "VMware");
  CHECK(base->type == "bootbank");
  CHECK(base->relative_path == "vib20/esx-base/VMware_bootbank_esx-base_8.0.3-0.0.24022510.vib");
  CHECK(base->packed_size == 198314752);
  // sha256("vib " + id): the VIB-level checksum; the payload's checksums are sha256("payload " + id) etc.
  CHECK(base->sha256 == "7ebfe235744a0c0682499fbc40345349bfa8b19dae61e3087be19ed2df934505");
  CHECK(base->described_by == "vibs/esx-base-1927377485.xml");

  SECTION("a VIB no vibs/*.xml describes comes from vmware.xml's <vibFile>") {
    const Vib* ne1000 = metadata.find_vib(kNe1000);
    REQUIRE(ne1000);
    CHECK(ne1000->described_by == "vmware.xml");
    CHECK(ne1000->relative_path == "vib20/ne1000/" + kNe1000 + ".vib");
    CHECK(ne1000->packed_size == 206848);
    CHECK(ne1000->sha256.size() == 64);
    CHECK(ne1000->vendor == "VMW");
    CHECK(ne1000->type == "bootbank");
  }
  CHECK(metadata.find_vib("VMware_bootbank_esx-base_8.0.2-0.0.22380479") == nullptr);
  CHECK(metadata.warnings.empty());
}

TEST_CASE("metadata: bulletins with dates, severities and platforms, and vmware.xml fills the gaps",
          "[depot][metadata]") {
  const Metadata metadata = parse_metadata_members(metadata_members(), kZip);
  REQUIRE(metadata.bulletins.size() == 5);
  std::vector<std::string> ids;
  for (const auto& bulletin : metadata.bulletins) ids.push_back(bulletin.id);
  CHECK(ids == std::vector<std::string>{"ESXi_8.0.3-0.0.24022510", "Intel-ne1000_0.9.0-2vmw.800.1.0.20613240",
                                        "VMware-VM-Tools_12.4.0.23259341-23980727", "VMware-vSAN_8.0.3-0.0.24022510",
                                        "esx-update_8.0.3-0.0.24022510"});
  const Bulletin& esxi = metadata.bulletins[0];
  CHECK(esxi.vendor == "VMware, Inc.");
  CHECK(esxi.summary == "ESXi Component - core ESXi VIBs");
  CHECK(esxi.severity == "important");
  CHECK(esxi.category == "enhancement");
  CHECK(esxi.release_type == "patch");
  CHECK(esxi.release_date == "2024-06-25");
  CHECK(esxi.platforms == std::vector<Platform>{{"8.0.3", "embeddedEsx", ""}});
  CHECK(esxi.vib_ids == std::vector<std::string>{kEsxBase, "VMware_bootbank_nvme-pcie_1.2.4.11-1vmw.803.0.0.24022510"});
  CHECK(esxi.described_by == "bulletins/ESXi_8.0.3-0.0.24022510.xml");

  const Bulletin& ne1000 = metadata.bulletins[1];  // only vmware.xml has it
  CHECK(ne1000.described_by == "vmware.xml");
  CHECK(ne1000.release_date == "2022-12-08");
  CHECK(ne1000.category == "bugfix");
  CHECK(ne1000.vib_ids == std::vector<std::string>{kNe1000});
  CHECK(metadata.bulletins[2].release_date == "2024-06-25");  // "2024-06-25T12:30:01+00:00"
  CHECK(metadata.bulletins[2].platforms[0].version == "8.0.*");
}

TEST_CASE("metadata: image profiles list their VIBs", "[depot][metadata]") {
  const Metadata metadata = parse_metadata_members(metadata_members(), kZip);
  REQUIRE(metadata.profiles.size() == 2);
  CHECK(metadata.profiles[0].name == "ESXi-8.0U3-24022510-no-tools");
  CHECK(metadata.profiles[1].name == "ESXi-8.0U3-24022510-standard");
  CHECK(metadata.profiles[1].vib_ids.size() == 6);
  CHECK(metadata.profiles[0].vib_ids.size() == 5);
  CHECK(std::find(metadata.profiles[0].vib_ids.begin(), metadata.profiles[0].vib_ids.end(), kTools) ==
        metadata.profiles[0].vib_ids.end());
  CHECK(metadata.profiles[1].described_by == "profiles/ESXi-8.0U3-24022510-standard-1719303164.xml");
}

TEST_CASE("metadata: members it does not read are tolerated", "[depot][metadata]") {
  Members members = metadata_members();
  members.emplace_back("baseimages/ESXi-8.0.3-24022510.xml", "<baseImage>not read</baseImage>");
  members.emplace_back("addons/HPE-803.0.0.11.7.0.xml", "<<< not even XML");
  members.emplace_back("notes/README.txt", "hello");
  members.emplace_back("vibs/", "");
  members.emplace_back("vibs/sub/deeper.xml", "<<< not read either");
  CHECK(parse_metadata_members(members, kZip).vibs.size() == 6);
}

TEST_CASE("metadata: an unreadable release date is a warning, not a refusal", "[depot][metadata]") {
  Members members = metadata_members();
  replace(member(members, "bulletins/esx-update_8.0.3-0.0.24022510.xml"), "2024-06-25T00:00:00", "June 2024");
  const Metadata metadata = parse_metadata_members(members, kZip);
  const Bulletin& update = metadata.bulletins.back();
  CHECK(update.release_date.empty());
  REQUIRE(metadata.warnings.size() == 1);
  CHECK(metadata.warnings[0] == kZip +
                                    ": bulletins/esx-update_8.0.3-0.0.24022510.xml: bulletin "
                                    "esx-update_8.0.3-0.0.24022510 has an unreadable <releaseDate> 'June 2024'");
}

TEST_CASE("metadata: inconsistent or dangling descriptions are refused, naming the VIB", "[depot][metadata]") {
  Members members = metadata_members();
  const std::string base_doc = "vibs/esx-base-1927377485.xml";

  SECTION("vmware.xml and vibs/ disagree on the checksum") {
    replace(member(members, "vmware.xml"), "7ebfe235744a0c0682499fbc40345349bfa8b19dae61e3087be19ed2df934505",
            std::string(64, 'a'));
    const std::string error = refusal(members);
    CHECK(contains(error, "VIB " + kEsxBase + " is described twice, differently: " + base_doc +
                              " and vmware.xml disagree on sha-256"));
  }
  SECTION("two vibs/ documents describe one VIB with different sizes") {
    std::string copy = member(members, base_doc);
    replace(copy, "<packed-size>198314752</packed-size>", "<packed-size>198314753</packed-size>");
    members.emplace_back("vibs/esx-base-9999999990.xml", copy);
    CHECK(contains(refusal(members), "VIB " + kEsxBase + " is described twice, differently: " + base_doc +
                                         " and vibs/esx-base-9999999990.xml disagree on size ('198314752' vs "
                                         "'198314753')"));
  }
  SECTION("an identical second description is fine") {
    members.emplace_back("vibs/esx-base-9999999990.xml", member(members, base_doc));
    CHECK(parse_metadata_members(members, kZip).vibs.size() == 6);
  }
  SECTION("a bulletin names a VIB nobody describes") {
    replace(member(members, "bulletins/VMware-vSAN_8.0.3-0.0.24022510.xml"), "</vibList>",
            "<vibID>VMware_bootbank_vsanhealth_8.0.3-0.0.24022510</vibID></vibList>");
    CHECK(contains(refusal(members),
                   "bulletin VMware-vSAN_8.0.3-0.0.24022510 "
                   "(bulletins/VMware-vSAN_8.0.3-0.0.24022510.xml) names VIB "
                   "VMware_bootbank_vsanhealth_8.0.3-0.0.24022510, which no member"));
  }
  SECTION("an image profile names a VIB nobody describes") {
    replace(member(members, "profiles/ESXi-8.0U3-24022510-no-tools-1719303164.xml"), "</vibList>",
            "<vib><vibid>VMware_bootbank_gone_1.0</vibid></vib></vibList>");
    CHECK(contains(refusal(members), "image profile ESXi-8.0U3-24022510-no-tools"));
  }
  SECTION("a VIB only vmware.xml lists, without its <vibFile>") {
    std::string& vmware = member(members, "vmware.xml");
    const std::size_t file = vmware.find("<relativePath>vib20/ne1000/");
    REQUIRE(file != std::string::npos);
    vmware.replace(file, std::string("<relativePath>").size(), "<notThePath>");
    replace(vmware, "</relativePath>\n            <packedSize>206848", "</notThePath>\n            <packedSize>206848");
    CHECK(contains(refusal(members), "vmware.xml: bulletin Intel-ne1000_0.9.0-2vmw.800.1.0.20613240 lists VIB " +
                                         kNe1000 + " without <vibFile><relativePath>"));
  }
}

TEST_CASE("metadata: a malformed member is refused, naming it and what is wrong", "[depot][metadata]") {
  Members members = metadata_members();
  const std::string doc = "vibs/nvme-pcie-598734102.xml";
  std::string& vib = member(members, doc);
  const std::string where = kZip + ": " + doc + ": ";

  SECTION("invalid XML") {
    vib.resize(vib.size() / 2);
    CHECK(contains(refusal(members), where + "invalid XML: "));
  }
  SECTION("no VIB-level sha-256 (the payload's do not count)") {
    const std::size_t last = vib.rfind("<checksum checksum-type=\"sha-256\">");
    REQUIRE(last != std::string::npos);
    vib.replace(last, std::string("<checksum checksum-type=\"sha-256\">").size(), "<checksum checksum-type=\"sha-1\">");
    CHECK(refusal(members) == where +
                                  "VIB VMware_bootbank_nvme-pcie_1.2.4.11-1vmw.803.0.0.24022510 has no "
                                  "<checksum checksum-type=\"sha-256\">");
  }
  SECTION("a size that is not a number") {
    replace(vib, "<packed-size>143360</packed-size>", "<packed-size>140 KiB</packed-size>");
    CHECK(contains(refusal(members), where + "VIB VMware_bootbank_nvme-pcie_1.2.4.11-1vmw.803.0.0.24022510: size "
                                             "'140 KiB' is not a number of bytes"));
  }
  SECTION("a size too large to be one") {
    replace(vib, "<packed-size>143360</packed-size>", "<packed-size>99999999999999999999</packed-size>");
    CHECK(contains(refusal(members), "size '99999999999999999999' is not a number of bytes"));
  }
  SECTION("a checksum that is not 64 hex digits") {
    const std::string vib_level = "</packed-size>\n  <checksum checksum-type=\"sha-256\">";
    replace(vib, vib_level, vib_level + "zz");
    CHECK(contains(refusal(members), "is not 64 hex digits"));
  }
  SECTION("no relative path") {
    replace(vib, "<relative-path>", "<relative-pathx>");
    replace(vib, "</relative-path>", "</relative-pathx>");
    CHECK(contains(refusal(members), where + "VIB VMware_bootbank_nvme-pcie_1.2.4.11-1vmw.803.0.0.24022510 has no "
                                             "<relative-path>"));
  }
  SECTION("no name") {
    replace(vib, "<name>nvme-pcie</name>", "");
    CHECK(refusal(members) == where + "the VIB has no <name>");
  }
  SECTION("a bulletin without an id") {
    replace(member(members, "bulletins/VMware-vSAN_8.0.3-0.0.24022510.xml"), "<id>VMware-vSAN_8.0.3-0.0.24022510</id>",
            "");
    CHECK(contains(refusal(members), "bulletins/VMware-vSAN_8.0.3-0.0.24022510.xml: a bulletin has no <id>"));
  }
  SECTION("vmware.xml with another root") {
    member(members, "vmware.xml") = "<html><body>Sorry</body></html>";
    CHECK(contains(refusal(members), kZip + ": vmware.xml: not a depot document: expected <metadataResponse>"));
  }
}

TEST_CASE("metadata: a zip with no depot metadata at all is refused", "[depot][metadata]") {
  CHECK(contains(refusal({{"README.txt", "hello"}, {"vendor-index.xml", "<metaList/>"}}),
                 "holds no vmware.xml, vibs/ or bulletins/: not a depot metadata zip"));
  CHECK(contains(refusal({}), "not a depot metadata zip"));
}

TEST_CASE("depot dates: ISO dates with or without a time, nothing else", "[depot][metadata]") {
  CHECK(iso_date("2024-06-25T00:00:00") == "2024-06-25");
  CHECK(iso_date("2024-06-25T00:00:00.000000+00:00") == "2024-06-25");
  CHECK(iso_date(" 2017-06-30T18:47:36.688572+00:00 ") == "2017-06-30");
  CHECK(iso_date("2024-02-29") == "2024-02-29");
  CHECK(iso_date("2024-06-25 12:00") == "2024-06-25");
  CHECK_FALSE(iso_date("2023-02-29"));
  CHECK_FALSE(iso_date("2024-13-01"));
  CHECK_FALSE(iso_date("2024-06-00"));
  CHECK_FALSE(iso_date("25/06/2024"));
  CHECK_FALSE(iso_date("2024-06-25x"));
  CHECK_FALSE(iso_date(""));
}
