// The metadata zip read from a file with libarchive: real zips built here, damaged ones, hostile ones.
#include <catch2/catch.hpp>

#include <fstream>

#include "depot_fixtures.hpp"
#include "esxmirror/source/depot.hpp"
#include "support/archive_builder.hpp"
#include "support/process.hpp"

using namespace esxmirror::source::depot;
using depot_test::contains;
using depot_test::metadata_members;
using esxmirror::testing::ArchiveEntry;
using esxmirror::testing::ArchiveFormat;
using esxmirror::testing::build_archive;
using esxmirror::testing::TempDir;

namespace {

const std::string kZip = "main/esx/vmw/vmw-ESXi-8.0.3-metadata.zip";

std::vector<ArchiveEntry> entries_of(const std::vector<std::pair<std::string, std::string>>& members) {
  std::vector<ArchiveEntry> out;
  for (const auto& [name, bytes] : members) out.push_back({name, ArchiveEntry::Type::file, bytes, "", 0644});
  return out;
}

std::filesystem::path write(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string refusal(const std::filesystem::path& zip, const ZipLimits& limits = {}) {
  try {
    read_metadata_zip(zip, kZip, limits);
  } catch (const FormatError& error) {
    const std::string text = error.what();
    CHECK(text.rfind(kZip + ": ", 0) == 0);
    return text;
  }
  FAIL("the zip was not refused");
  return "";
}

}  // namespace

TEST_CASE("metadata zip: read from a real zip, as from its members", "[depot][zip]") {
  TempDir dir;
  auto members = metadata_members();
  const std::vector<ArchiveEntry> entries = [&] {
    auto out = entries_of(members);
    out.insert(out.begin(), {"bulletins/", ArchiveEntry::Type::directory, "", "", 0755});
    out.push_back({"baseimages/ESXi-8.0.3-24022510.xml", ArchiveEntry::Type::file, "<baseImage/>", "", 0644});
    return out;
  }();
  const auto zip = write(dir, "vmw-ESXi-8.0.3-metadata.zip", build_archive(entries, ArchiveFormat::zip));
  const Metadata from_zip = read_metadata_zip(zip, kZip);
  const Metadata from_members = parse_metadata_members(members, kZip);
  CHECK(from_zip.vibs == from_members.vibs);
  CHECK(from_zip.bulletins == from_members.bulletins);
  CHECK(from_zip.profiles == from_members.profiles);
  CHECK(from_zip.vibs.size() == 6);
}

TEST_CASE("metadata zip: a big member it does not read is skipped, not held", "[depot][zip]") {
  TempDir dir;
  auto entries = entries_of(metadata_members());
  // 40 MiB of an addon's notes: streamed past, never a reason to refuse (nor to fill memory).
  entries.push_back({"notes/huge.txt", ArchiveEntry::Type::file, std::string(40u << 20, 'n'), "", 0644});
  const auto zip = write(dir, "big.zip", build_archive(entries, ArchiveFormat::zip));
  CHECK(read_metadata_zip(zip, kZip).vibs.size() == 6);
}

TEST_CASE("metadata zip: a member past its cap is refused, naming it", "[depot][zip]") {
  TempDir dir;
  const auto members = metadata_members();
  const auto zip = write(dir, "m.zip", build_archive(entries_of(members), ArchiveFormat::zip));
  // A cap that every bulletin and profile fits and no VIB document does: the first VIB document is named.
  std::size_t largest_other = 0, smallest_vib = SIZE_MAX;
  for (const auto& [name, bytes] : members) {
    if (name.rfind("vibs/", 0) == 0)
      smallest_vib = std::min(smallest_vib, bytes.size());
    else if (name != "vmware.xml")
      largest_other = std::max(largest_other, bytes.size());
  }
  REQUIRE(largest_other < smallest_vib);
  ZipLimits small;
  small.max_document_bytes = largest_other;
  CHECK(contains(refusal(zip, small), "member vibs/esx-base-1927377485.xml declares "));
  ZipLimits tiny_vmware;
  tiny_vmware.max_vmware_xml_bytes = 4096;
  CHECK(contains(refusal(zip, tiny_vmware), "member vmware.xml declares 9529 bytes, more than the 4096 allowed"));
  ZipLimits few;
  few.max_members = 3;
  CHECK(contains(refusal(zip, few), "holds more than 3 members"));
}

TEST_CASE("metadata zip: damaged, truncated or not a zip at all", "[depot][zip]") {
  TempDir dir;
  const std::string good = build_archive(entries_of(metadata_members()), ArchiveFormat::zip);

  SECTION("a captive portal's HTML page saved under the zip's name") {
    const auto zip = write(dir, "portal.zip", "<html><body>Please log in</body></html>\n");
    CHECK(contains(refusal(zip), "damaged or not a zip: Unrecognized archive format"));
  }
  SECTION("a tar.gz is not a metadata zip") {
    const auto zip = write(dir, "m.zip", build_archive(entries_of(metadata_members())));
    CHECK(contains(refusal(zip), "damaged or not a zip: Unrecognized archive format"));
  }
  SECTION("cut in the middle") {
    const auto zip = write(dir, "cut.zip", good.substr(0, good.size() / 2));
    CHECK_THROWS_AS(read_metadata_zip(zip, kZip), FormatError);
  }
  SECTION("a flipped byte inside a compressed member") {
    std::string damaged = good;
    const std::size_t at = damaged.find("vmware.xml");  // local header name; the data follows
    REQUIRE(at != std::string::npos);
    for (std::size_t i = at + 200; i < at + 260; ++i) damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    const auto zip = write(dir, "flipped.zip", damaged);
    CHECK(contains(refusal(zip), "vmware.xml"));
  }
  SECTION("missing file") { CHECK(contains(refusal(dir / "absent.zip"), "cannot read the zip: ")); }
  SECTION("empty file") { CHECK_THROWS_AS(read_metadata_zip(write(dir, "empty.zip", ""), kZip), FormatError); }
}

TEST_CASE("metadata zip: hostile member names are only names: nothing is written", "[depot][zip]") {
  TempDir dir;
  auto entries = entries_of(metadata_members());
  entries.push_back({"../../etc/vmware.xml", ArchiveEntry::Type::file, "<metadataResponse/>", "", 0644});
  entries.push_back({"/vibs/abs.xml", ArchiveEntry::Type::file, "<<<", "", 0644});
  entries.push_back({"vibs/link.xml", ArchiveEntry::Type::symlink, "", "/etc/passwd", 0777});
  const auto zip = write(dir, "hostile.zip", build_archive(entries, ArchiveFormat::zip));
  CHECK(read_metadata_zip(zip, kZip).vibs.size() == 6);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);  // only the zip itself
}
