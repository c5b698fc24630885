// Hashing on lane threads: the digests are the bytes' own, in order, whatever the chunking, the number of
// files sharing a lane, a resumed prefix or a restart; and the bytes are on disk before they are hashed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "esxmirror/util/hash.hpp"
#include "net/hash_lanes.hpp"
#include "net/partial_file.hpp"
#include "net/partial_file_writer.hpp"
#include "support/process.hpp"

using namespace esxmirror;
using esxmirror::net::partial_path;
using esxmirror::net::detail::DeferredHasher;
using esxmirror::net::detail::HashLanes;
using esxmirror::net::detail::PartialFileWriter;
using esxmirror::testing::TempDir;
using Algorithms = util::StreamHasher::Algorithms;
namespace fs = std::filesystem;

namespace {

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

util::Digests digests_of(const std::string& data) {
  util::StreamHasher h;
  h.update(data.data(), data.size());
  return h.finish();
}

// Feeds `data` in chunks of varying size, as libcurl's write callback would.
void feed(DeferredHasher& hasher, const std::string& data, unsigned seed) {
  std::mt19937 rng(seed);
  std::size_t at = 0;
  while (at < data.size()) {
    const std::size_t n = std::min<std::size_t>(data.size() - at, 1 + rng() % (300 * 1024));
    hasher.update(data.data() + at, n);
    at += n;
  }
}

}  // namespace

TEST_CASE("a lane hashes several files' bytes, each in its own order, to their own digests", "[hash-lanes]") {
  HashLanes lanes(2);
  std::vector<std::string> bodies;
  for (unsigned i = 0; i < 6; ++i) bodies.push_back(random_bytes((3u << 20) + i * 4099, i));
  std::vector<std::unique_ptr<DeferredHasher>> hashers;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    hashers.push_back(std::make_unique<DeferredHasher>(Algorithms::md5_and_sha256, &lanes.next()));
  }
  // Interleaved like transfers in flight together: a piece of each in turn.
  for (std::size_t i = 0; i < bodies.size(); ++i) feed(*hashers[i], bodies[i], static_cast<unsigned>(i + 100));
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const util::Digests got = hashers[i]->finish();
    const util::Digests want = digests_of(bodies[i]);
    CHECK(got.md5 == want.md5);
    CHECK(got.sha256 == want.sha256);
  }
}

TEST_CASE("reset() forgets what was hashed, also bytes still queued on the lane", "[hash-lanes]") {
  HashLanes lanes(1);
  DeferredHasher hasher(Algorithms::sha256, &lanes.next());
  feed(hasher, random_bytes(2u << 20, 7), 1);
  hasher.reset();
  const std::string body = random_bytes(1u << 20, 8);
  feed(hasher, body, 2);
  CHECK(hasher.finish().sha256 == digests_of(body).sha256);
}

TEST_CASE("a writer on a lane: bytes on disk at once, digests of the whole file, prefix included",
          "[hash-lanes][writer]") {
  HashLanes lanes(2);
  TempDir dir;
  const auto file = dir / "b.tgz";
  const std::string body = random_bytes(5u << 20, 3);
  const std::size_t prefix = (1u << 20) + 17;
  std::ofstream(partial_path(file), std::ios::binary) << body.substr(0, prefix);

  PartialFileWriter w(file, Algorithms::md5_and_sha256, true, &lanes.next());
  REQUIRE(w.resume(prefix).ok());
  const std::size_t half = prefix + (body.size() - prefix) / 2;
  REQUIRE(w.append(body.data() + prefix, half - prefix).ok());
  CHECK(fs::file_size(partial_path(file)) == half);  // a reader following the partial sees them already
  REQUIRE(w.append(body.data() + half, body.size() - half).ok());
  REQUIRE(w.commit().ok());
  CHECK(w.digests().md5 == digests_of(body).md5);
  CHECK(w.digests().sha256 == digests_of(body).sha256);
  CHECK(fs::file_size(file) == body.size());
}

TEST_CASE("a writer dropped mid-body waits for its queued bytes, and the lane goes on for others",
          "[hash-lanes][writer]") {
  HashLanes lanes(1);
  TempDir dir;
  util::SerialWorker& lane = lanes.next();
  {
    PartialFileWriter dropped(dir / "a.tgz", Algorithms::md5_and_sha256, true, &lane);
    REQUIRE(dropped.start("http://h/a.tgz", {}).ok());
    const std::string body = random_bytes(4u << 20, 4);
    REQUIRE(dropped.append(body.data(), body.size()).ok());
  }  // destroyed with chunks perhaps still queued: must not be touched afterwards (ASan would say)
  PartialFileWriter next(dir / "b.tgz", Algorithms::sha256, true, &lane);
  REQUIRE(next.start("http://h/b.tgz", {}).ok());
  const std::string body = random_bytes(1u << 20, 5);
  REQUIRE(next.append(body.data(), body.size()).ok());
  REQUIRE(next.commit().ok());
  CHECK(next.digests().sha256 == digests_of(body).sha256);
}
