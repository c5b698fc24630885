#include "esxmirror/bundle/gzip_check.hpp"

#include <zlib.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "esxmirror/bundle/archive_error.hpp"

namespace esxmirror::bundle {

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

// An inflate stream for gzip members only (windowBits 15 + 16), ended when it goes.
class Inflater {
 public:
  Inflater() : ok_(inflateInit2(&z_, 15 + 16) == Z_OK) {}
  ~Inflater() {
    if (ok_) inflateEnd(&z_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool ok() const { return ok_; }
  z_stream& z() { return z_; }

 private:
  z_stream z_{};
  bool ok_;
};

}  // namespace

void verify_gzip(const std::filesystem::path& file, const std::string& name) {
  auto damaged = [&](const std::string& why) -> ArchiveError {
    return ArchiveError("archive " + name + " is damaged: " + why);
  };
  std::unique_ptr<std::FILE, FileCloser> in(std::fopen(file.c_str(), "rb"));
  if (!in) throw ArchiveError("archive " + name + " cannot be read: " + file.string());
  unsigned char magic[2] = {};
  if (std::fread(magic, 1, 2, in.get()) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) return;
  std::rewind(in.get());

  Inflater inflater;
  if (!inflater.ok()) throw std::bad_alloc();
  z_stream& z = inflater.z();
  std::vector<unsigned char> input(256 * 1024), output(256 * 1024);
  bool in_member = true;  // inside a member whose trailer has not been checked yet
  bool done = false;      // trailing bytes that are not another member: ignored
  while (!done) {
    const std::size_t got = std::fread(input.data(), 1, input.size(), in.get());
    if (got == 0) break;
    z.next_in = input.data();
    z.avail_in = static_cast<uInt>(got);
    while (z.avail_in > 0 && !done) {
      if (!in_member) {
        // Another member follows only when the next bytes are the gzip magic.
        if (z.next_in[0] != 0x1f || (z.avail_in > 1 && z.next_in[1] != 0x8b)) {
          done = true;
          break;
        }
        if (inflateReset(&z) != Z_OK) throw damaged("cannot restart the gzip decoder");
        in_member = true;
      }
      z.next_out = output.data();
      z.avail_out = static_cast<uInt>(output.size());
      const int rc = inflate(&z, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        in_member = false;  // zlib has checked this member's CRC-32 and length
      } else if (rc == Z_DATA_ERROR) {
        throw damaged(std::string("gzip data error (") + (z.msg ? z.msg : "corrupt data") + ")");
      } else if (rc == Z_MEM_ERROR) {
        throw std::bad_alloc();
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw damaged("gzip decoder error " + std::to_string(rc));
      }
    }
  }
  if (std::ferror(in.get())) throw ArchiveError("archive " + name + " cannot be read: " + file.string());
  if (in_member) throw damaged("the gzip stream is truncated (its last member has no end)");
}

}  // namespace esxmirror::bundle
