#pragma once
// Unpacking a bundle while it downloads: a worker thread follows the growing partial file and feeds
// libarchive, so transfer, hashing and unpacking overlap (one pass over the bytes). The result counts
// only if the bytes it consumed are exactly the bytes the download verified (same md5); otherwise the
// caller unpacks the complete file again. Verification still happens before placing.
#include <atomic>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "esxmirror/bundle/archive.hpp"
#include "esxmirror/util/unique_fd.hpp"

namespace esxmirror {

class StreamingUnpack {
 public:
  // Starts following `download` (the engine writes net::partial_path(download) and renames it to
  // `download` when complete), unpacking into `target_dir`.
  StreamingUnpack(std::filesystem::path download, std::filesystem::path target_dir, std::string name,
                  bundle::UnpackLimits limits);
  // Abandons the worker if still running and waits for it.
  ~StreamingUnpack();
  StreamingUnpack(const StreamingUnpack&) = delete;
  StreamingUnpack& operator=(const StreamingUnpack&) = delete;

  // The engine has reported the download complete (under its final name): the worker reads to its end
  // and finishes on its own, while the caller goes on. Does not wait.
  void mark_complete();
  // The download is complete and verified with `md5`: waits for the worker. Returns the unpack result
  // when the worker consumed exactly those bytes; rethrows the unpack's PatchError / Error when it did
  // (the archive itself is bad); nullopt when its view of the file was not the final bytes (a restart
  // mid-stream): the caller then unpacks the complete file.
  std::optional<bundle::UnpackResult> finish(const std::string& md5);
  // The download failed or was aborted: stop and wait for the worker.
  void abandon();

 private:
  void follow();
  std::size_t read_some(void* buffer, std::size_t size);

  enum State { downloading, complete, abandoned };
  std::filesystem::path download_;
  std::filesystem::path target_dir_;
  std::string name_;
  bundle::UnpackLimits limits_;
  std::atomic<int> state_{downloading};
  util::UniqueFd fd_;
  std::uint64_t offset_ = 0;
  std::string consumed_md5_;
  std::optional<bundle::UnpackResult> result_;
  std::exception_ptr error_;
  std::thread worker_;
};

}  // namespace esxmirror
