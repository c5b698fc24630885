// Where depot files land in the mirror, and the references a depot document may not make.
#include <catch2/catch.hpp>

#include "depot_fixtures.hpp"
#include "esxmirror/source/depot.hpp"

using namespace esxmirror::source::depot;
using depot_test::contains;

namespace {

const std::string kToken = "0123456789abcdefSECRET";
const std::string kRoot = "https://dl.broadcom.com/" + kToken + "/PROD/COMP/ESX_HOST/main/";
const std::string kIndex = kRoot + "vmw-depot-index.xml";
const std::string kVendorIndex = kRoot + "esx/vmw/vmw-esx-index.xml";
const std::string kZip = kRoot + "esx/vmw/vmw-ESXi-8.0.3-metadata.zip";
const std::string kShownZip = "main/esx/vmw/vmw-ESXi-8.0.3-metadata.zip";

const DepotLayout& layout() {
  static const DepotLayout instance(kIndex, "main/vmw-depot-index.xml");
  return instance;
}

std::string refusal(const std::string& document_url, const std::string& reference) {
  try {
    layout().place(document_url, reference, kShownZip);
  } catch (const FormatError& error) {
    const std::string text = error.what();
    CHECK(text.rfind(kShownZip + ": ", 0) == 0);  // names the document...
    CHECK_FALSE(contains(text, kToken));          // ...never the URL it came from
    return text;
  }
  FAIL("'" + reference + "' was not refused");
  return "";
}

}  // namespace

TEST_CASE("depot paths: the chain of documents lands at its path relative to the depot index", "[depot][paths]") {
  CHECK(layout().root_url() == kRoot);
  CHECK(layout().index_file() == "vmw-depot-index.xml");

  const Placement vendor_index = layout().place(kIndex, "esx/vmw/vmw-esx-index.xml", "main/vmw-depot-index.xml");
  CHECK(vendor_index.inside);
  CHECK(vendor_index.url == kVendorIndex);
  CHECK(vendor_index.relative_path == "esx/vmw/vmw-esx-index.xml");

  const Placement zip = layout().place(kVendorIndex, "vmw-ESXi-8.0.3-metadata.zip", "main/esx/vmw/vmw-esx-index.xml");
  CHECK(zip.url == kZip);
  CHECK(zip.relative_path == "esx/vmw/vmw-ESXi-8.0.3-metadata.zip");

  const Placement vib =
      layout().place(kZip, "vib20/esx-base/VMware_bootbank_esx-base_8.0.3-0.0.24022510.vib", kShownZip);
  CHECK(vib.inside);
  CHECK(vib.url == kRoot + "esx/vmw/vib20/esx-base/VMware_bootbank_esx-base_8.0.3-0.0.24022510.vib");
  CHECK(vib.relative_path == "esx/vmw/vib20/esx-base/VMware_bootbank_esx-base_8.0.3-0.0.24022510.vib");
}

TEST_CASE("depot paths: dot segments that stay inside are resolved, encoded names decoded", "[depot][paths]") {
  CHECK(layout().place(kZip, "../vmw/vib20/a/b.vib", kShownZip).relative_path == "esx/vmw/vib20/a/b.vib");
  CHECK(layout().place(kZip, "./vib20/a/b.vib", kShownZip).relative_path == "esx/vmw/vib20/a/b.vib");
  CHECK(layout().place(kZip, "../../vib20/a/b.vib", kShownZip).relative_path == "vib20/a/b.vib");
  CHECK(layout().place(kZip, "vib20/a/VMware%20Tools.vib", kShownZip).relative_path ==
        "esx/vmw/vib20/a/VMware Tools.vib");
  const Placement query = layout().place(kZip, "vib20/a/b.vib?download=1", kShownZip);
  CHECK(query.relative_path == "esx/vmw/vib20/a/b.vib");
  CHECK(query.url == kRoot + "esx/vmw/vib20/a/b.vib?download=1");
}

TEST_CASE("depot paths: absolute URLs inside the depot map to their place, others are outside", "[depot][paths]") {
  const Placement inside = layout().place(kZip, kRoot + "esx/vmw/vib20/x/y.vib", kShownZip);
  CHECK(inside.inside);
  CHECK(inside.relative_path == "esx/vmw/vib20/x/y.vib");
  CHECK(layout()
            .place(kZip, "HTTPS://DL.BROADCOM.COM:443/" + kToken + "/PROD/COMP/ESX_HOST/main/a.vib", kShownZip)
            .relative_path == "a.vib");

  for (const std::string& outside : {
           std::string("https://hostupdate.vmware.com/software/VUM/PRODUCTION/main/esx/vmw/vib20/x/y.vib"),
           "https://dl.broadcom.com/" + kToken + "/PROD/COMP/ESX_HOST/addon-main/vib20/x/y.vib",
           "http://dl.broadcom.com/" + kToken + "/PROD/COMP/ESX_HOST/main/esx/vmw/vib20/x/y.vib",  // other scheme
           "https://dl.broadcom.com:8443/" + kToken + "/PROD/COMP/ESX_HOST/main/x.vib",            // other port
           "https://dl.broadcom.com/" + kToken + "/PROD/COMP/ESX_HOST/mainline/x.vib",             // not a dir prefix
       }) {
    const Placement placed = layout().place(kZip, outside, kShownZip);
    CHECK_FALSE(placed.inside);
    CHECK(placed.url == outside);  // reported as written
    CHECK(placed.relative_path.empty());
  }
}

TEST_CASE("depot paths: references that would leave the depot or name no file are refused", "[depot][paths]") {
  CHECK(contains(refusal(kZip, "../../../vib20/x.vib"), "path '../../../vib20/x.vib' leads out of the depot"));
  CHECK(contains(refusal(kZip, "../../../../../../etc/passwd"), "leads out of the depot"));
  CHECK(contains(refusal(kZip, "vib20/%2e%2e/%2e%2e/%2e%2e/x.vib"), "leads out of the depot"));
  CHECK(contains(refusal(kZip, "/etc/passwd"), "path '/etc/passwd' is absolute"));
  CHECK(contains(refusal(kZip, "//evil.example.com/x.vib"), "is absolute"));
  CHECK(contains(refusal(kZip, "vib20\\x\\y.vib"), "holds a backslash"));
  CHECK(contains(refusal(kZip, std::string("vib20/x\0.vib", 12)), "holds a NUL byte"));
  CHECK(contains(refusal(kZip, "vib20//x.vib"), "holds an empty segment"));
  CHECK(contains(refusal(kZip, "vib20/a%2Fb.vib"), "holds an encoded '/'"));
  CHECK(contains(refusal(kZip, "vib20/a%5Cb.vib"), "holds an encoded '/', '\\' or NUL"));
  CHECK(contains(refusal(kZip, "vib20/x/"), "names a directory"));
  CHECK(contains(refusal(kZip, ""), "an empty path"));
  CHECK(contains(refusal(kZip, "   "), "an empty path"));
  CHECK(contains(refusal(kZip, "../.."), "names a directory"));
  CHECK(contains(refusal(kZip, "../../.."), "leads out of the depot"));
  CHECK(contains(refusal(kZip, "../../"), "names a directory"));

  // An absolute URL into the depot with a hostile path is refused too, without quoting the URL.
  const std::string hostile = refusal(kZip, kRoot + "esx/%2e%2e/%2e%2e/x.vib");
  CHECK(contains(hostile, "'esx/%2e%2e/%2e%2e/x.vib' (an absolute URL into the depot)"));
  CHECK(contains(refusal(kZip, kRoot + "esx//x.vib"), "holds an empty segment"));
  CHECK(contains(refusal(kZip, kRoot + "esx/vmw/"), "names a directory"));
}

TEST_CASE("depot layout: the depot index URL must name a file", "[depot][paths]") {
  CHECK(DepotLayout("http://127.0.0.1:8080/depot/index.xml", "x").index_file() == "index.xml");
  CHECK(DepotLayout("http://127.0.0.1:8080/depot/index.xml", "x").root_url() == "http://127.0.0.1:8080/depot/");
  CHECK_THROWS_AS(DepotLayout("http://127.0.0.1:8080/depot/", "x"), FormatError);
  CHECK_THROWS_AS(DepotLayout("depot/index.xml", "x"), FormatError);
  CHECK_THROWS_WITH(DepotLayout("not a url", "source 1"), "source 1: the depot index URL is not an absolute URL");
}

TEST_CASE("depot name: the last directory of the configured depot index URL", "[depot][paths]") {
  const std::string vendor = "https://dl.broadcom.com/{token}/PROD/COMP/ESX_HOST/";
  CHECK(depot_name(vendor + "main/vmw-depot-index.xml", "s") == "main");
  CHECK(depot_name(vendor + "addon-main/vmw-depot-index.xml", "s") == "addon-main");
  CHECK(depot_name(vendor + "iovp-main/index.xml", "s") == "iovp-main");
  CHECK(depot_name("https://hostupdate.vmware.com/software/VUM/PRODUCTION/main/vmw-depot-index.xml", "s") == "main");
  CHECK(depot_name("http://mirror/vmtools%2Dmain/vmw-depot-index.xml?x=1", "s") == "vmtools-main");

  CHECK_THROWS_WITH(depot_name("https://host/vmw-depot-index.xml", "source 2"),
                    "source 2: the depot index URL has no directory to name the mirror after; "
                    "name the mirror in the config");
  CHECK_THROWS_WITH(depot_name("https://dl.broadcom.com/{token}/vmw-depot-index.xml", "s"),
                    Catch::Contains("last directory is {token}"));
  CHECK_THROWS_WITH(depot_name("https://host/a/%2e%2e/vmw-depot-index.xml", "s"), Catch::Contains("cannot name"));
  CHECK_THROWS_WITH(depot_name("https://host/a/.esxmirror/vmw-depot-index.xml", "s"), Catch::Contains("cannot name"));
  CHECK_THROWS_WITH(depot_name("https://host/a/b%2Fc/vmw-depot-index.xml", "s"), Catch::Contains("cannot name"));
  CHECK_THROWS_AS(depot_name("main/vmw-depot-index.xml", "s"), FormatError);
}
