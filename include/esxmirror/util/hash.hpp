#pragma once
// Streaming md5 + sha256 (OpenSSL EVP): feed bytes as they arrive, read hex digests at the end.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace esxmirror::util {

struct Digests {
  std::string md5;     // lowercase hex
  std::string sha256;  // lowercase hex
};

class StreamHasher {
 public:
  enum class Algorithms { md5_and_sha256, sha256, md5 };
  // One digest where only one is needed (files inside a bundle: sha256; a re-check of bytes: md5).
  explicit StreamHasher(Algorithms algorithms = Algorithms::md5_and_sha256);
  ~StreamHasher();
  StreamHasher(StreamHasher&&) noexcept;
  StreamHasher& operator=(StreamHasher&&) noexcept;
  void update(const void* data, std::size_t size);
  // Finishes the digests (a digest not computed is empty); the hasher must not be updated afterwards.
  Digests finish();
  // Restart from empty.
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Lowercase hex sha-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

// Hashes a whole file; throws std::runtime_error naming the file when it cannot be read.
Digests hash_file(const std::filesystem::path& file);

}  // namespace esxmirror::util
