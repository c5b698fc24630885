// unpack_stream: unpacking while the bytes arrive must accept what unpack_archive accepts and refuse
// what it refuses, whatever the chunking.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "esxmirror/bundle/archive.hpp"
#include "support/archive_builder.hpp"
#include "support/process.hpp"

using namespace esxmirror;
using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

// A source handing out `bytes` in chunks of at most `chunk`, like a download arriving.
bundle::ArchiveSource chunked(const std::string& bytes, std::size_t chunk, std::size_t& offset) {
  return [&bytes, chunk, &offset](void* buffer, std::size_t size) {
    std::size_t n = std::min({size, chunk, bytes.size() - offset});
    std::memcpy(buffer, bytes.data() + offset, n);
    offset += n;
    return n;
  };
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a streamed bundle with a large file unpacks whole, even arriving in small chunks", "[bundle][stream]") {
  TempDir tmp;
  std::vector<ArchiveEntry> entries = bundle_entries("ESX-1", 3u << 20, 7);
  std::string archive = build_archive(entries);
  std::size_t offset = 0;
  bundle::UnpackResult result =
      bundle::unpack_stream(chunked(archive, 4096, offset), "ESX-1.tgz", 0, tmp / "out", bundle::UnpackLimits{});
  for (const ArchiveEntry& e : entries) {
    if (e.type == ArchiveEntry::Type::file) CHECK(slurp(tmp / "out" / e.path) == e.content);
  }
  CHECK(result.files.size() ==
        static_cast<std::size_t>(std::count_if(
            entries.begin(), entries.end(), [](const ArchiveEntry& e) { return e.type == ArchiveEntry::Type::file; })));
  CHECK(result.files.front().sha256.size() == 64);
}

TEST_CASE("a streamed decompression bomb is refused as it unpacks", "[bundle][stream]") {
  TempDir tmp;
  std::string archive =
      build_archive({{"bomb/", ArchiveEntry::Type::directory, "", "", 0755},
                     {"bomb/zeros", ArchiveEntry::Type::file, std::string(64u << 20, '\0'), "", 0644}});
  std::size_t offset = 0;
  bundle::UnpackLimits limits;
  limits.max_ratio = 50;
  CHECK_THROWS_AS(bundle::unpack_stream(chunked(archive, 4096, offset), "bomb.tgz", 0, tmp / "out", limits),
                  bundle::ArchiveError);
  // Disk actually used (an abandoned entry may be extended to its declared size as a sparse hole).
  std::uintmax_t allocated = 0;
  for (const auto& f : fs::recursive_directory_iterator(tmp / "out")) {
    struct stat info {};
    if (f.is_regular_file() && ::stat(f.path().c_str(), &info) == 0)
      allocated += static_cast<std::uintmax_t>(info.st_blocks) * 512;
  }
  CHECK(allocated <= 50 * archive.size() + (1u << 20));
}
