// Version and product selection of vendor-index entries, exactly as issue 8 §2 states it.
#include <catch2/catch.hpp>

#include "depot_fixtures.hpp"
#include "esxmirror/source/depot.hpp"

using namespace esxmirror::source::depot;
using depot_test::fixture;

namespace {

std::vector<std::string> selected_urls(const std::vector<std::string>& versions,
                                       const std::vector<std::string>& products = {"embeddedEsx"}) {
  const VendorIndex index = parse_vendor_index(fixture("vmw-esx-index.xml"), "vmw-esx-index.xml");
  std::vector<std::string> out;
  for (const auto& entry : select_metadata(index, Selection{versions, products})) out.push_back(entry.url);
  return out;
}

}  // namespace

TEST_CASE("version selection: a version selects itself and the versions below it at a dot", "[depot][selection]") {
  CHECK(version_selects("8.0", "8.0.0"));
  CHECK(version_selects("8.0", "8.0.2"));
  CHECK(version_selects("8.0", "8.0.3"));
  CHECK(version_selects("8.0", "8.0"));
  CHECK(version_selects("8", "8.0.3"));
  CHECK(version_selects("8.0.3", "8.0.3"));
  CHECK(version_selects("8.0.3", "8.0.3.1"));
  CHECK(version_selects(" 8.0 ", "\n8.0.2\t"));

  CHECK_FALSE(version_selects("8.0.3", "8.0.2"));
  CHECK_FALSE(version_selects("8.0.3", "8.0"));  // a more precise selection never selects its line
  CHECK_FALSE(version_selects("8.0", "8.00"));   // a prefix only counts at a dot
  CHECK_FALSE(version_selects("8.0", "8.01.0"));
  CHECK_FALSE(version_selects("8.0", "7.0.3"));
  CHECK_FALSE(version_selects("7.0", "7.0u3"));
  CHECK_FALSE(version_selects("", "8.0.3"));
  CHECK_FALSE(version_selects("8.0", ""));
}

TEST_CASE("version selection: patterns are selected by a version or a line they match", "[depot][selection]") {
  CHECK(version_selects("8.0.3", "8.0.*"));
  CHECK(version_selects("8.0", "8.0.*"));
  CHECK(version_selects("8.0", "8.*"));
  CHECK(version_selects("8.0.3", "8.*"));
  CHECK(version_selects("8", "8.0.*"));  // some 8.x version is an 8.0.x one
  CHECK(version_selects("8.0.3", "8.0.3*"));
  CHECK(version_selects("7.0.3", "*"));

  CHECK_FALSE(version_selects("8.0", "7.0.*"));
  CHECK_FALSE(version_selects("8.0.3", "8.1.*"));
  CHECK_FALSE(version_selects("8.1", "8.0.*"));
  CHECK_FALSE(version_selects("8", "80.*"));
}

TEST_CASE("metadata selection: by version and product, document order, each entry once", "[depot][selection]") {
  using Urls = std::vector<std::string>;
  CHECK(selected_urls({"8.0"}) == Urls{"vmw-ESXi-8.0.0-metadata.zip", "vmw-ESXi-8.0.2-metadata.zip",
                                       "vmw-ESXi-8.0.3-metadata.zip", "vmw-ESXi-8.0-tools-metadata.zip"});
  CHECK(selected_urls({"8.0.3"}) == Urls{"vmw-ESXi-8.0.3-metadata.zip", "vmw-ESXi-8.0-tools-metadata.zip"});
  CHECK(selected_urls({"7.0"}) == Urls{"vmw-ESXi-7.0.2-metadata.zip", "vmw-ESXi-7.0.3-metadata.zip"});
  CHECK(selected_urls({"7.0.3", "8.0.3", "8.0"}) == Urls{"vmw-ESXi-7.0.3-metadata.zip", "vmw-ESXi-8.0.0-metadata.zip",
                                                         "vmw-ESXi-8.0.2-metadata.zip", "vmw-ESXi-8.0.3-metadata.zip",
                                                         "vmw-ESXi-8.0-tools-metadata.zip"});
  CHECK(selected_urls({"6.7"}).empty());
  CHECK(selected_urls({}).empty());

  SECTION("embeddedEsx only by default; other products when configured") {
    CHECK(selected_urls({"4.1"}).empty());  // productId esx
    CHECK(selected_urls({"4.1"}, {"esx"}) == Urls{"vmw-ESX-4.1.0-metadata.zip"});
    CHECK(selected_urls({"8.0.3"}, {"embeddedEsx", "esxio"}) ==
          Urls{"vmw-ESXi-8.0.3-metadata.zip", "vmw-ESXio-8.0.3-metadata.zip", "vmw-ESXi-8.0-tools-metadata.zip"});
    CHECK(selected_urls({"8.0.3"}, {"esxio"}) == Urls{"vmw-ESXio-8.0.3-metadata.zip"});
    CHECK(selected_urls({"8.0.3"}, {"EmbeddedEsx"}).empty());  // product ids are compared exactly
  }
}
