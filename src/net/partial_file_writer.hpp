#pragma once
// The one owner of a file request's body on disk: "<file>.part" and its resume record
// ("<file>.part.meta", see partial_file.hpp), from opening or resuming it to the rename to `file`.
// Bytes go to the file as they arrive (a reader following the partial sees them at once), hashed on the
// way (on a hash lane when given one); only commit() makes `file` appear, complete and fsynced.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "esxmirror/net/transfer.hpp"
#include "esxmirror/util/unique_fd.hpp"
#include "net/hash_lanes.hpp"

namespace esxmirror::net::detail {

struct WriterResult {
  enum class Kind {
    ok,
    io_error,  // the disk refused (text: "cannot write PATH: reason")
    restart    // the partial cannot be continued: start from zero (text: why)
  } kind = Kind::ok;
  std::string text;
  bool ok() const { return kind == Kind::ok; }
};

class PartialFileWriter {
 public:
  // durable = false: commit() skips the fsync (the caller syncs the file system before it relies on the file).
  // hash_lane: where the bytes are hashed (null: on the writing thread).
  PartialFileWriter(std::filesystem::path file, util::StreamHasher::Algorithms digests, bool durable = true,
                    util::SerialWorker* hash_lane = nullptr);
  ~PartialFileWriter();  // close(): the partial and its record stay resumable
  PartialFileWriter(const PartialFileWriter&) = delete;
  PartialFileWriter& operator=(const PartialFileWriter&) = delete;

  struct Resume {
    std::uint64_t offset = 0;  // bytes of the partial to continue after
    std::string if_range;      // the validator to send in If-Range
  };
  // The partial of `file` can be continued when its record names `masked_url` with a validator usable in
  // If-Range, and it is shorter than `expected_size` when that is known. Otherwise nullopt, and any
  // partial and record of `file` are removed (without a validator it could be another file: never glued).
  static std::optional<Resume> resumable(const std::filesystem::path& file, const std::string& masked_url,
                                         std::optional<std::uint64_t> expected_size);

  // Continues the partial after its first `offset` bytes, which are hashed here (so the digests cover the
  // whole file); anything past them is cut. restart when the partial is shorter than that now.
  WriterResult resume(std::uint64_t offset);
  // Starts from zero: drops the old record first, truncates, then records `validators` (and the masked
  // URL) when they allow a later resume, so a crash in between never pairs old bytes with a new record.
  // Creates the parent directory when missing.
  WriterResult start(const std::string& masked_url, const Validators& validators);
  // Appends the bytes (written through at once) and hashes them.
  WriterResult append(const char* data, std::size_t size);

  bool is_open() const { return fd_.valid(); }
  bool resumed() const { return resumed_; }
  std::uint64_t size() const { return size_; }  // bytes in the partial, prefix included

  // fsync (when durable), close, rename to the final name (replacing an older file), remove the record; then digests()
  // holds the whole file's. On io_error the partial stays. Safe to call on another thread than the one
  // that wrote (one thread at a time).
  WriterResult commit();
  const util::Digests& digests() const { return digests_; }

  void close() noexcept;    // keeps the partial and its record (a later attempt or run resumes it)
  void discard() noexcept;  // closes and removes the partial and its record

 private:
  WriterResult open_partial(int flags);
  WriterResult io_error(const std::string& what) const;

  std::filesystem::path file_;
  std::filesystem::path part_;
  DeferredHasher hasher_;
  util::Digests digests_;
  util::UniqueFd fd_;
  bool durable_ = true;
  std::uint64_t size_ = 0;
  bool resumed_ = false;
};

}  // namespace esxmirror::net::detail
