#include "esxmirror/core/streaming_unpack.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "esxmirror/core/error.hpp"
#include "esxmirror/net/transfer.hpp"
#include "esxmirror/util/hash.hpp"

namespace esxmirror {

namespace {

// Thrown inside the worker when the download is abandoned; never leaves the worker.
struct Abandoned {};
// Thrown inside the worker for a zip: read as a stream, libarchive sees only the local headers (no file
// modes, symlinks as plain files, names the central directory may contradict). A zip is unpacked from
// the complete file instead, through its central directory, like any reader of the mirror would see it.
struct NotStreamable {};

constexpr auto kPollInterval = std::chrono::milliseconds(2);

}  // namespace

StreamingUnpack::StreamingUnpack(std::filesystem::path download, std::filesystem::path target_dir, std::string name,
                                 bundle::UnpackLimits limits)
    : download_(std::move(download)), target_dir_(std::move(target_dir)), name_(std::move(name)), limits_(limits) {
  worker_ = std::thread([this] { follow(); });
}

StreamingUnpack::~StreamingUnpack() { abandon(); }

void StreamingUnpack::abandon() {
  if (!worker_.joinable()) return;
  int expected = downloading;
  state_.compare_exchange_strong(expected, abandoned);
  worker_.join();
}

void StreamingUnpack::mark_complete() {
  int expected = downloading;
  state_.compare_exchange_strong(expected, complete);
}

std::optional<bundle::UnpackResult> StreamingUnpack::finish(const std::string& md5) {
  mark_complete();
  if (worker_.joinable()) worker_.join();
  if (consumed_md5_ != md5) return std::nullopt;  // it saw other bytes than the verified ones
  if (error_) std::rethrow_exception(error_);
  return std::move(result_);
}

// Next bytes of the growing file, waiting at its end while the download goes on. While downloading the
// body is the ".part" file; once complete the engine has renamed it to the final name.
std::size_t StreamingUnpack::read_some(void* buffer, std::size_t size) {
  for (;;) {
    int state = state_.load();
    if (state == abandoned) throw Abandoned{};
    if (!fd_.valid()) {
      const std::filesystem::path& path = state == complete ? download_ : net::partial_path(download_);
      fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd_.valid()) {
        if (state == complete)
          throw PatchError("cannot read the download " + path.string() + ": " + std::strerror(errno));
        std::this_thread::sleep_for(kPollInterval);
        continue;
      }
    }
    ssize_t n = ::pread(fd_.get(), buffer, size, static_cast<off_t>(offset_));
    if (n < 0) throw PatchError("cannot read the download: " + std::string(std::strerror(errno)));
    if (n > 0) {
      offset_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
    if (state == complete) return 0;  // complete was set after the last byte landed: this is the end
    std::this_thread::sleep_for(kPollInterval);
  }
}

void StreamingUnpack::follow() {
  util::StreamHasher hasher(util::StreamHasher::Algorithms::md5);  // only compared with the download's md5
  bool first = true;
  auto source = [&](void* buffer, std::size_t size) {
    std::size_t n = read_some(buffer, size);
    if (first && n > 0) {
      first = false;
      if (static_cast<const char*>(buffer)[0] == 'P') throw NotStreamable{};  // "PK\3\4" (or a rare tar)
    }
    hasher.update(buffer, n);
    return n;
  };
  try {
    try {
      result_ = bundle::unpack_stream(source, name_, 0, target_dir_, limits_);
    } catch (const Abandoned&) {
      throw;
    } catch (const NotStreamable&) {
      throw;
    } catch (...) {
      error_ = std::current_exception();
    }
    // Hash what libarchive left unread (end-of-archive padding) so the md5 covers the whole file.
    char rest[64 * 1024];
    while (source(rest, sizeof rest) > 0) {
    }
    consumed_md5_ = hasher.finish().md5;
  } catch (const Abandoned&) {
    consumed_md5_.clear();
  } catch (const NotStreamable&) {
    consumed_md5_.clear();  // finish() falls back to unpacking the complete file
  } catch (...) {
    consumed_md5_.clear();  // could not even read the file: fall back to unpacking it whole
  }
  fd_.reset();
}

}  // namespace esxmirror
