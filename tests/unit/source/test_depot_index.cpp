// The depot index and the vendor index: what they list, the errors for what they do not, and the
// vendor index rewrite that a mirror of a mirror depends on.
#include <catch2/catch.hpp>

#include "depot_fixtures.hpp"
#include "esxmirror/source/depot.hpp"

using namespace esxmirror::source::depot;
using depot_test::contains;
using depot_test::fixture;

namespace {

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const FormatError& error) {
    return error.what();
  }
  FAIL("no FormatError thrown");
  return "";
}

std::vector<std::string> urls_of(const VendorIndex& index) {
  std::vector<std::string> out;
  for (const auto& entry : index.entries) out.push_back(entry.url);
  return out;
}

}  // namespace

TEST_CASE("depot index: VMware's vendor with its index file, path and content type", "[depot][index]") {
  const DepotIndex index = parse_depot_index(fixture("vmw-depot-index.xml"), "main/vmw-depot-index.xml");
  REQUIRE(index.vendors.size() == 1);
  const Vendor& vmw = index.vendors[0];
  CHECK(vmw.name == "VMware, Inc.");
  CHECK(vmw.code == "vmw");
  CHECK(vmw.index_file == "vmw-esx-index.xml");
  CHECK(vmw.relative_path == "esx/vmw/");
  CHECK(vmw.patch_url.empty());
  CHECK(vmw.content == std::vector<VendorContent>{{"VMware ESX", "http://www.vmware.com/depotmanagement/esx"}});
  CHECK(vmw.index_reference() == "esx/vmw/vmw-esx-index.xml");
}

TEST_CASE("depot index: index.xml with several vendors, empty and slash-less relative paths", "[depot][index]") {
  const DepotIndex index = parse_depot_index(fixture("index.xml"), "addon/index.xml");
  REQUIRE(index.vendors.size() == 2);
  CHECK(index.vendors[0].code == "DEL");
  CHECK(index.vendors[0].index_reference() == "vendor-index.xml");
  CHECK(index.vendors[1].index_reference() == "hpe/hpe-esx-index.xml");
  CHECK(index.vendors[1].content.size() == 2);
  CHECK(index.vendors[1].content[1].type == "http://www.vmware.com/depotmanagement/vpx");
}

TEST_CASE("depot index: told apart from HTML and other XML", "[depot][index]") {
  CHECK(is_depot_index(fixture("vmw-depot-index.xml")));
  CHECK(is_depot_index(fixture("index.xml")));
  CHECK_FALSE(is_depot_index(fixture("vmw-esx-index.xml")));
  CHECK_FALSE(is_depot_index("<html><head><title>VI3 patches</title></head><body><a href=x>x</a></body></html>"));
  CHECK_FALSE(is_depot_index("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\">\n<HTML><BODY><P>hi</BODY>"));
  CHECK_FALSE(is_depot_index(""));
  CHECK_FALSE(is_depot_index("<vendorList><vendor>"));  // cut off: not well-formed
}

TEST_CASE("depot index: errors name the document and say what is wrong", "[depot][index]") {
  const std::string doc = "https://dl.example.com/***/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml";
  const std::string cut = fixture("vmw-depot-index.xml").substr(0, 200);
  const std::string invalid = error_of([&] { parse_depot_index(cut, doc); });
  CHECK(invalid.rfind(doc + ": invalid XML: ", 0) == 0);
  CHECK(contains(invalid, "at line "));
  CHECK(invalid.find('\n') == std::string::npos);

  CHECK(error_of([&] { parse_depot_index(fixture("vmw-esx-index.xml"), doc); }) ==
        doc + ": not a depot document: expected <vendorList>, found <metaList>");
  CHECK(error_of([&] { parse_depot_index("<vendorList></vendorList>", doc); }) ==
        doc + ": the depot index lists no <vendor>");
  CHECK(error_of([&] {
          parse_depot_index("<vendorList><vendor><name>VMware, Inc.</name><code>vmw</code></vendor></vendorList>", doc);
        }) == doc + ": vendor 'VMware, Inc.' has no <indexfile>");
}

TEST_CASE("vendor index: every metadata entry, trimmed, in document order", "[depot][index]") {
  const VendorIndex index = parse_vendor_index(fixture("vmw-esx-index.xml"), "vmw-esx-index.xml");
  CHECK(index.root == "metaList");
  REQUIRE(index.entries.size() == 9);
  const MetadataEntry& u3 = index.entries[5];
  CHECK(u3.product_id == "embeddedEsx");
  CHECK(u3.version == "8.0.3");  // written across two lines with blanks
  CHECK(u3.url == "vmw-ESXi-8.0.3-metadata.zip");
  CHECK(u3.channel_name == "default");
  CHECK(u3.locale.empty());
  CHECK(u3.patch_url.empty());
  CHECK(index.entries[6].product_id == "esxio");
  CHECK(index.entries[7].version == "8.0.*");
}

TEST_CASE("vendor index: the UMDS <metadataList> form reads the same way", "[depot][index]") {
  const VendorIndex index = parse_vendor_index(fixture("umds-vendor-index.xml"), "umds/vendor-index.xml");
  CHECK(index.root == "metadataList");
  CHECK(urls_of(index) == std::vector<std::string>{"hostupdate/vmw/vmw-ESXi-7.0.3-metadata.zip",
                                                   "hostupdate/vmw/vmw-ESXi-8.0.3-metadata.zip"});
}

TEST_CASE("vendor index: errors name the document and the entry", "[depot][index]") {
  const std::string doc = "esx/vmw/vmw-esx-index.xml";
  CHECK(error_of([&] {
          parse_vendor_index(
              "<metaList><metadata><productId>embeddedEsx</productId>"
              "<version>8.0.3</version></metadata></metaList>",
              doc);
        }) == doc + ": <metadata> entry 1 has no <url>");
  CHECK(error_of([&] { parse_vendor_index("<metaList><metadata><url>a.zip</url></metadata></metaList>", doc); }) ==
        doc + ": <metadata> entry 1 (a.zip) has no <productId>");
  CHECK(error_of([&] { parse_vendor_index(fixture("vmw-depot-index.xml"), doc); }) ==
        doc + ": not a depot document: expected <metaList> or <metadataList>, found <vendorList>");
  CHECK(
      contains(error_of([&] { parse_vendor_index("<metaList><metadata></metaList>", doc); }), doc + ": invalid XML: "));
}

TEST_CASE("vendor index rewrite: keeps only the chosen entries, as upstream wrote them", "[depot][index]") {
  const std::string upstream = fixture("vmw-esx-index.xml");
  const VendorIndex index = parse_vendor_index(upstream, "vmw-esx-index.xml");
  const std::vector<MetadataEntry> keep = {index.entries[7], index.entries[5]};  // order of `keep` is irrelevant
  const std::string rewritten = rewrite_vendor_index(upstream, "vmw-esx-index.xml", keep);

  const VendorIndex again = parse_vendor_index(rewritten, "rewritten");
  CHECK(again.root == "metaList");
  CHECK(again.entries == std::vector<MetadataEntry>{index.entries[5], index.entries[7]});
  CHECK(contains(rewritten, "<patchUrl></patchUrl>"));  // every child kept, empty ones written out in full
  CHECK_FALSE(contains(rewritten, "4.1.0"));
  CHECK_FALSE(contains(rewritten, "<!--"));
  CHECK(rewritten.rfind("<?xml version=\"1.0\"?>\n<metaList>\n", 0) == 0);

  SECTION("deterministic and idempotent: a mirror of the mirror is byte-identical") {
    CHECK(rewrite_vendor_index(upstream, "vmw-esx-index.xml", keep) == rewritten);
    CHECK(rewrite_vendor_index(rewritten, "mirror/vmw-esx-index.xml", keep) == rewritten);
    CHECK(rewrite_vendor_index(rewritten, "mirror/vmw-esx-index.xml", again.entries) == rewritten);
  }
  SECTION("the UMDS form keeps its root and is idempotent too") {
    const std::string umds = fixture("umds-vendor-index.xml");
    const auto entries = parse_vendor_index(umds, "umds").entries;
    const std::string once = rewrite_vendor_index(umds, "umds", {entries[1]});
    CHECK(parse_vendor_index(once, "once").root == "metadataList");
    CHECK(urls_of(parse_vendor_index(once, "once")) ==
          std::vector<std::string>{"hostupdate/vmw/vmw-ESXi-8.0.3-metadata.zip"});
    CHECK(rewrite_vendor_index(once, "once", {entries[1]}) == once);
  }
  SECTION("nothing kept: an empty list, still a vendor index") {
    const std::string empty = rewrite_vendor_index(upstream, "vmw-esx-index.xml", {});
    CHECK(parse_vendor_index(empty, "empty").entries.empty());
    CHECK(rewrite_vendor_index(empty, "empty", {}) == empty);
  }
  SECTION("an entry of `keep` that differs in any field is not the upstream entry") {
    MetadataEntry other = index.entries[5];
    other.channel_name = "beta";
    CHECK(parse_vendor_index(rewrite_vendor_index(upstream, "x", {other}), "x").entries.empty());
  }
}
