// The gzip trailer check libarchive leaves out: a .tgz with a damaged CRC-32 or length, or cut short,
// is refused naming the archive; what is not gzip is left alone.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "esxmirror/bundle/gzip_check.hpp"
#include "support/archive_builder.hpp"
#include "support/process.hpp"

using namespace esxmirror;
using esxmirror::testing::ArchiveEntry;
using esxmirror::testing::ArchiveFormat;
using esxmirror::testing::build_archive;
using esxmirror::testing::TempDir;

namespace {

ArchiveEntry file_entry(const std::string& path, const std::string& content) {
  ArchiveEntry entry;
  entry.path = path;
  entry.content = content;
  return entry;
}

std::string sample_tgz() {
  return build_archive({file_entry("ESX-1000039/contents.xml", std::string(50000, 'x') + "<contents/>")});
}

std::filesystem::path write(const TempDir& tmp, const std::string& name, const std::string& bytes) {
  const std::filesystem::path file = tmp / name;
  std::ofstream(file, std::ios::binary) << bytes;
  return file;
}

}  // namespace

TEST_CASE("gzip check: a whole .tgz passes, with several members or trailing bytes too", "[gzip]") {
  TempDir tmp;
  const std::string tgz = sample_tgz();
  CHECK_NOTHROW(bundle::verify_gzip(write(tmp, "one.tgz", tgz), "ESX-1000039.tgz"));
  CHECK_NOTHROW(bundle::verify_gzip(write(tmp, "two.tgz", tgz + tgz), "ESX-1000039.tgz"));
  CHECK_NOTHROW(bundle::verify_gzip(write(tmp, "tail.tgz", tgz + std::string(100, '\0')), "ESX-1000039.tgz"));
}

TEST_CASE("gzip check: a damaged CRC-32 or length, or a member cut short, is refused naming the archive", "[gzip]") {
  TempDir tmp;
  const std::string tgz = sample_tgz();
  REQUIRE(tgz.size() > 8);
  std::string bad_crc = tgz;
  bad_crc[bad_crc.size() - 8] ^= 0x01;  // the trailer: CRC-32, then the length, little-endian
  std::string bad_length = tgz;
  bad_length[bad_length.size() - 1] ^= 0x01;
  const std::string cut = tgz.substr(0, tgz.size() - 4);
  const std::string second_cut = tgz + tgz.substr(0, tgz.size() / 2);
  for (const auto& [name, bytes] :
       {std::pair{"crc", bad_crc}, {"length", bad_length}, {"cut", cut}, {"second member cut", second_cut}}) {
    INFO(name);
    CHECK_THROWS_WITH(bundle::verify_gzip(write(tmp, "bad.tgz", bytes), "ESX-1000039.tgz"),
                      Catch::StartsWith("archive ESX-1000039.tgz is damaged"));
    CHECK_THROWS_AS(bundle::verify_gzip(write(tmp, "bad.tgz", bytes), "ESX-1000039.tgz"), bundle::ArchiveError);
  }
}

TEST_CASE("gzip check: a zip or plain tar is not gzip and is left to the unpack", "[gzip]") {
  TempDir tmp;
  const std::vector<ArchiveEntry> entries = {file_entry("ESX-1000039/contents.xml", "<contents/>")};
  CHECK_NOTHROW(bundle::verify_gzip(write(tmp, "b.zip", build_archive(entries, ArchiveFormat::zip)), "b.zip"));
  CHECK_NOTHROW(bundle::verify_gzip(write(tmp, "b.tar", build_archive(entries, ArchiveFormat::tar)), "b.tar"));
}
