// PartialFileWriter on a real directory: start, append, resume with the prefix hashed, commit, discard.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "esxmirror/net/transfer.hpp"
#include "esxmirror/util/hash.hpp"
#include "net/partial_file.hpp"
#include "net/partial_file_writer.hpp"
#include "support/process.hpp"

using namespace esxmirror;
using esxmirror::net::partial_meta_path;
using esxmirror::net::partial_path;
using esxmirror::net::Validators;
using esxmirror::net::detail::PartialFileWriter;
using esxmirror::net::detail::WriterResult;
using esxmirror::testing::TempDir;
using Algorithms = util::StreamHasher::Algorithms;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

util::Digests digests_of(const std::string& data) {
  util::StreamHasher h;
  h.update(data.data(), data.size());
  return h.finish();
}

Validators strong(const std::string& etag) {
  Validators v;
  v.etag = etag;
  return v;
}

const std::string kUrl = "http://h/bundle.tgz?token=***";

}  // namespace

TEST_CASE("a body streams into the partial, visible at once, and commit renames it with its digests", "[writer]") {
  TempDir dir;
  const auto file = dir / "deep/sub/b.tgz";
  PartialFileWriter w(file, Algorithms::md5_and_sha256);
  REQUIRE(w.start(kUrl, strong("\"v1\"")).ok());
  REQUIRE(w.append("hello ", 6).ok());
  CHECK(read_all(partial_path(file)) == "hello ");  // written through: a reader following it sees the bytes
  REQUIRE(w.append("world", 5).ok());
  CHECK(w.size() == 11);
  CHECK_FALSE(fs::exists(file));
  const auto record = net::detail::read_partial_record(file);
  REQUIRE(record);
  CHECK(record->url == kUrl);
  CHECK(record->validators.etag == "\"v1\"");

  REQUIRE(w.commit().ok());
  CHECK(read_all(file) == "hello world");
  CHECK_FALSE(fs::exists(partial_path(file)));
  CHECK_FALSE(fs::exists(partial_meta_path(file)));
  CHECK(w.digests().md5 == digests_of("hello world").md5);
  CHECK(w.digests().sha256 == digests_of("hello world").sha256);
  CHECK_FALSE(w.resumed());
}

TEST_CASE("only the chosen digests are computed", "[writer]") {
  TempDir dir;
  PartialFileWriter w(dir / "v.vib", Algorithms::sha256);
  REQUIRE(w.start(kUrl, {}).ok());
  REQUIRE(w.append("vib", 3).ok());
  REQUIRE(w.commit().ok());
  CHECK(w.digests().sha256 == digests_of("vib").sha256);
  CHECK(w.digests().md5.empty());
}

TEST_CASE("a commit replaces an older file under the final name", "[writer]") {
  TempDir dir;
  const auto file = dir / "b.tgz";
  std::ofstream(file) << "old contents";
  PartialFileWriter w(file, Algorithms::md5_and_sha256);
  REQUIRE(w.start(kUrl, {}).ok());
  REQUIRE(w.append("new", 3).ok());
  REQUIRE(w.commit().ok());
  CHECK(read_all(file) == "new");
}

TEST_CASE("resumable(): only a recorded, validated, shorter partial of the same URL", "[writer][resume]") {
  TempDir dir;
  const auto file = dir / "b.tgz";
  {
    PartialFileWriter w(file, Algorithms::md5_and_sha256);
    REQUIRE(w.start(kUrl, strong("\"v1\"")).ok());
    REQUIRE(w.append("0123456789", 10).ok());
  }  // closed, not committed: stays resumable
  REQUIRE(fs::exists(partial_path(file)));

  SECTION("the same URL") {
    const auto r = PartialFileWriter::resumable(file, kUrl, std::nullopt);
    REQUIRE(r);
    CHECK(r->offset == 10);
    CHECK(r->if_range == "\"v1\"");
  }
  SECTION("another URL: removed") {
    CHECK_FALSE(PartialFileWriter::resumable(file, "http://h/other.tgz", std::nullopt));
    CHECK_FALSE(fs::exists(partial_path(file)));
    CHECK_FALSE(fs::exists(partial_meta_path(file)));
  }
  SECTION("as long as the expected size already: nothing left to ask for, removed") {
    CHECK_FALSE(PartialFileWriter::resumable(file, kUrl, 10));
    CHECK_FALSE(fs::exists(partial_path(file)));
  }
  SECTION("shorter than the expected size") { CHECK(PartialFileWriter::resumable(file, kUrl, 11)); }
  SECTION("without its record: removed") {
    fs::remove(partial_meta_path(file));
    CHECK_FALSE(PartialFileWriter::resumable(file, kUrl, std::nullopt));
    CHECK_FALSE(fs::exists(partial_path(file)));
  }
}

TEST_CASE("a weak ETag alone is not recorded: it cannot be used in If-Range", "[writer][resume]") {
  TempDir dir;
  const auto file = dir / "b.tgz";
  PartialFileWriter w(file, Algorithms::md5_and_sha256);
  REQUIRE(w.start(kUrl, strong("W/\"weak\"")).ok());
  REQUIRE(w.append("abc", 3).ok());
  w.close();
  CHECK_FALSE(fs::exists(partial_meta_path(file)));
  CHECK_FALSE(PartialFileWriter::resumable(file, kUrl, std::nullopt));
}

TEST_CASE("resume hashes the prefix and cuts what lies past it", "[writer][resume]") {
  TempDir dir;
  const auto file = dir / "b.tgz";
  std::ofstream(partial_path(file), std::ios::binary) << "first-part-and-garbage";
  PartialFileWriter w(file, Algorithms::md5_and_sha256);
  REQUIRE(w.resume(10).ok());
  CHECK(w.resumed());
  CHECK(w.size() == 10);
  REQUIRE(w.append("+rest", 5).ok());
  REQUIRE(w.commit().ok());
  CHECK(read_all(file) == "first-part+rest");
  CHECK(w.digests().sha256 == digests_of("first-part+rest").sha256);
}

TEST_CASE("a partial that shrank cannot be resumed: restart", "[writer][resume]") {
  TempDir dir;
  const auto file = dir / "b.tgz";
  std::ofstream(partial_path(file), std::ios::binary) << "short";
  PartialFileWriter w(file, Algorithms::md5_and_sha256);
  const WriterResult r = w.resume(100);
  CHECK(r.kind == WriterResult::Kind::restart);
  CHECK(r.text.find("shrank while resuming") != std::string::npos);
  SECTION("start() begins from zero and drops the old record first") {
    std::ofstream(partial_meta_path(file)) << "esxmirror-partial 1\nurl old\netag \"old\"\n";
    REQUIRE(w.start(kUrl, {}).ok());  // no validator: no record
    CHECK(fs::file_size(partial_path(file)) == 0);
    CHECK_FALSE(fs::exists(partial_meta_path(file)));
  }
}

TEST_CASE("discard removes the partial and its record, and nothing under the final name", "[writer]") {
  TempDir dir;
  const auto file = dir / "b.tgz";
  PartialFileWriter w(file, Algorithms::md5_and_sha256);
  REQUIRE(w.start(kUrl, strong("\"v\"")).ok());
  REQUIRE(w.append("x", 1).ok());
  w.discard();
  CHECK_FALSE(fs::exists(partial_path(file)));
  CHECK_FALSE(fs::exists(partial_meta_path(file)));
  CHECK_FALSE(fs::exists(file));
  CHECK_FALSE(w.is_open());
}

TEST_CASE("I/O errors name the file", "[writer]") {
  TempDir dir;
  SECTION("a parent that is a file") {
    std::ofstream(dir / "plain") << "x";
    PartialFileWriter w(dir / "plain/b.tgz", Algorithms::md5_and_sha256);
    const WriterResult r = w.start(kUrl, {});
    CHECK(r.kind == WriterResult::Kind::io_error);
    CHECK(r.text.find((dir / "plain/b.tgz.part").string()) != std::string::npos);
  }
  SECTION("the disk is full") {
    if (!fs::exists("/dev/full")) return;
    PartialFileWriter w(dir / "b.tgz", Algorithms::md5_and_sha256);
    REQUIRE(w.start(kUrl, {}).ok());
    fs::remove(partial_path(dir / "b.tgz"));
    fs::create_symlink("/dev/full", partial_path(dir / "b.tgz"));
    REQUIRE(w.start(kUrl, {}).ok());  // reopens through the link
    const WriterResult r = w.append("data", 4);
    CHECK(r.kind == WriterResult::Kind::io_error);
    CHECK(r.text.find("No space left on device") != std::string::npos);
  }
  SECTION("commit without an open file") {
    PartialFileWriter w(dir / "b.tgz", Algorithms::md5_and_sha256);
    CHECK(w.commit().kind == WriterResult::Kind::io_error);
    CHECK_FALSE(fs::exists(dir / "b.tgz"));
  }
}
