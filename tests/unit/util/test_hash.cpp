#include <catch2/catch.hpp>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "esxmirror/util/hash.hpp"

using namespace esxmirror::util;

namespace {

std::filesystem::path temp_file(const std::string& name, const std::string& content) {
  const auto dir = std::filesystem::temp_directory_path() / ("esxmirror-hash-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

}  // namespace

TEST_CASE("StreamHasher computes md5 and sha256 of known inputs", "[hash]") {
  StreamHasher empty;
  const auto e = empty.finish();
  CHECK(e.md5 == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(e.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  StreamHasher abc;
  abc.update("a", 1);
  abc.update("bc", 2);
  const auto d = abc.finish();
  CHECK(d.md5 == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(d.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("StreamHasher reset starts over and a moved hasher keeps its state", "[hash]") {
  StreamHasher h;
  h.update("garbage", 7);
  h.reset();
  h.update("abc", 3);
  StreamHasher moved(std::move(h));
  CHECK(moved.finish().md5 == "900150983cd24fb0d6963f7d28e17f72");
}

TEST_CASE("hash_file equals streaming the same bytes in pieces", "[hash]") {
  std::string content;
  for (int i = 0; i < (3 << 20) + 12345; ++i) content.push_back(static_cast<char>((i * 7919) & 0xff));
  const auto path = temp_file("big.bin", content);
  StreamHasher h;
  for (std::size_t off = 0; off < content.size(); off += 100000) {
    h.update(content.data() + off, std::min<std::size_t>(100000, content.size() - off));
  }
  const auto expected = h.finish();
  const auto got = hash_file(path);
  CHECK(got.md5 == expected.md5);
  CHECK(got.sha256 == expected.sha256);
  std::filesystem::remove_all(path.parent_path());
}

TEST_CASE("hash_file names the file it cannot read", "[hash]") {
  try {
    (void)hash_file("/nonexistent/esxmirror/nothing.tgz");
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("/nonexistent/esxmirror/nothing.tgz") != std::string::npos);
  }
}
