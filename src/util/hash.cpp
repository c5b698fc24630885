// Streaming md5 + sha256 over OpenSSL EVP, one pass over the bytes.
#include "esxmirror/util/hash.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace esxmirror::util {

namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

MdCtx make_ctx(const EVP_MD* md) {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL: cannot initialise a message digest");
  }
  return ctx;
}

std::string to_hex(const unsigned char* data, unsigned int size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2u);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0x0f]);
  }
  return out;
}

std::string finish_ctx(EVP_MD_CTX* ctx) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx, digest, &size) != 1) {
    throw std::runtime_error("OpenSSL: cannot finish a message digest");
  }
  return to_hex(digest, size);
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

struct StreamHasher::Impl {
  explicit Impl(Algorithms a = Algorithms::md5_and_sha256)
      : algorithms(a),
        md5(a != Algorithms::sha256 ? make_ctx(EVP_md5()) : nullptr),
        sha256(a != Algorithms::md5 ? make_ctx(EVP_sha256()) : nullptr) {}
  Algorithms algorithms;
  MdCtx md5;     // null when not wanted
  MdCtx sha256;  // null when not wanted
};

StreamHasher::StreamHasher(Algorithms algorithms) : impl_(std::make_unique<Impl>(algorithms)) {}
StreamHasher::~StreamHasher() = default;
StreamHasher::StreamHasher(StreamHasher&&) noexcept = default;
StreamHasher& StreamHasher::operator=(StreamHasher&&) noexcept = default;

void StreamHasher::update(const void* data, std::size_t size) {
  if (size == 0) return;
  if (!impl_) impl_ = std::make_unique<Impl>();  // a moved-from hasher starts over
  if ((impl_->md5 && EVP_DigestUpdate(impl_->md5.get(), data, size) != 1) ||
      (impl_->sha256 && EVP_DigestUpdate(impl_->sha256.get(), data, size) != 1)) {
    throw std::runtime_error("OpenSSL: message digest update failed");
  }
}

Digests StreamHasher::finish() {
  if (!impl_) impl_ = std::make_unique<Impl>();
  Digests d;
  if (impl_->md5) d.md5 = finish_ctx(impl_->md5.get());
  if (impl_->sha256) d.sha256 = finish_ctx(impl_->sha256.get());
  return d;
}

void StreamHasher::reset() { impl_ = std::make_unique<Impl>(impl_ ? impl_->algorithms : Algorithms::md5_and_sha256); }

std::string sha256_hex(std::string_view bytes) {
  StreamHasher hasher(StreamHasher::Algorithms::sha256);
  hasher.update(bytes.data(), bytes.size());
  return hasher.finish().sha256;
}

Digests hash_file(const std::filesystem::path& file) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(file.c_str(), "rb"));
  if (!f) {
    throw std::runtime_error("cannot read " + file.string() + ": " + std::strerror(errno));
  }
  constexpr std::size_t chunk = 1u << 20;
  std::vector<unsigned char> buffer(chunk);
  StreamHasher hasher;
  for (;;) {
    const std::size_t n = std::fread(buffer.data(), 1, chunk, f.get());
    if (n > 0) hasher.update(buffer.data(), n);
    if (n < chunk) {
      if (std::ferror(f.get())) {
        throw std::runtime_error("cannot read " + file.string() + ": " + std::strerror(errno));
      }
      break;
    }
  }
  return hasher.finish();
}

}  // namespace esxmirror::util
