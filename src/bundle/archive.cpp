// Safe unpacking of bundle archives with libarchive (DESIGN §6: never write outside <dest>).
//
// Two layers of defence. libarchive's archive_write_disk runs with SECURE_SYMLINKS and SECURE_NODOTDOT;
// before it sees a header, our own checks refuse the entry by name (absolute paths, `..`, links leading
// out, writes through a symlink, devices, fifos, sockets) instead of letting it be skipped silently.
//
// archive_write_disk writes relative to the working directory, and changing it is not thread safe, so
// every entry is rewritten to the absolute path target_dir/entry, with target_dir canonical (no
// symlinks, no `..`). That is why SECURE_NOABSOLUTEPATHS is not set: it would refuse our own rewritten
// paths. Absolute entry names are refused by check_entry_path before the rewrite.
#include "esxmirror/bundle/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "bundle/unpack_checks.hpp"
#include "esxmirror/bundle/archive_error.hpp"
#include "esxmirror/util/fs.hpp"
#include "esxmirror/util/hash.hpp"
#include "esxmirror/util/storage_error.hpp"

namespace esxmirror::bundle {
namespace fs = std::filesystem;

namespace {

using namespace detail;

struct ReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using ArchiveReader = std::unique_ptr<struct archive, ReadDeleter>;
using ArchiveWriter = std::unique_ptr<struct archive, WriteDeleter>;

constexpr int kExtractFlags =
    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM;
constexpr std::size_t kReadBlockSize = 64 * 1024;

std::string error_text(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? printable(message) : std::string("unknown error");
}

// libarchive status codes: OK (or a byte count) and WARN go on; RETRY, FAILED and FATAL do not.
bool failed(la_ssize_t status) { return status < ARCHIVE_OK && status != ARCHIVE_WARN; }

bool is_disk_failure(int err) { return err == ENOSPC || err == EDQUOT || err == EROFS || err == EIO; }

// A failed archive_write_* call: the disk's fault (storage error) or the entry's (refused).
[[noreturn]] void write_failed(const Unpack& u, struct archive* writer, const std::string& entry) {
  const int err = archive_errno(writer);
  if (is_disk_failure(err)) u.storage(err);
  u.refuse(entry, error_text(writer));
}

// The status of archive_write_header / archive_write_finish_entry. A WARN there is about metadata
// (times, permissions) and becomes a note, unless the disk itself failed.
void check_write_status(Unpack& u, struct archive* writer, const std::string& entry, la_ssize_t status) {
  if (failed(status) || (status == ARCHIVE_WARN && is_disk_failure(archive_errno(writer)))) {
    write_failed(u, writer, entry);
  }
  if (status == ARCHIVE_WARN) u.result.notes.push_back(printable(entry) + ": " + error_text(writer));
}

// Feeds `count` zero bytes (a sparse file's hole) to the hasher.
void hash_zeros(util::StreamHasher& hasher, std::uint64_t count) {
  static const char zeros[64 * 1024] = {};
  while (count > 0) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(count, sizeof zeros));
    hasher.update(zeros, n);
    count -= n;
  }
}

// Streams one entry's data from reader to writer, counting what is written against the limits and
// hashing it (so recording the bundle's files needs no second read). Holes of sparse files count as
// written: they are bytes a reader of the file will see.
UnpackedFile copy_data(Unpack& u, const std::string& name, struct archive* reader, struct archive* writer,
                       struct archive_entry* entry) {
  const std::uint64_t budget = remaining_budget(u);
  std::uint64_t extent = 0;  // bytes of this entry so far: the end of the last block written
  util::StreamHasher hasher(util::StreamHasher::Algorithms::sha256);
  for (;;) {
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    const int r = archive_read_data_block(reader, &block, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (failed(r)) u.damaged(error_text(reader));
    const std::uint64_t start = static_cast<std::uint64_t>(offset < 0 ? 0 : offset);
    const std::uint64_t end = start + size;
    if (end > remaining_budget_for_stream(u, budget)) refuse_size(u, name);
    if (start > extent) hash_zeros(hasher, start - extent);
    hasher.update(block, size);
    if (end > extent) extent = end;
    // Any status below OK is a failure here: a failed write(2) (disk full...) comes back as a WARN.
    if (archive_write_data_block(writer, block, size, offset) < ARCHIVE_OK) write_failed(u, writer, name);
  }
  const std::uint64_t size = std::max(extent, declared_size(entry));
  if (size > extent) hash_zeros(hasher, size - extent);
  u.result.bytes_written += size;
  return {"", size, hasher.finish().sha256};
}

// Checks one header, rewrites it under the target directory and writes it (with its data).
void extract_entry(Unpack& u, struct archive* reader, struct archive* writer, struct archive_entry* entry) {
  const char* raw_name = archive_entry_pathname(entry);
  if (raw_name == nullptr) u.refuse("?", "its name cannot be read");
  const std::string name = raw_name;

  if (++u.result.entries > u.limits.max_entries) {
    u.refuse(name, "the archive has more than " + std::to_string(u.limits.max_entries) + " entries");
  }
  const auto parts = check_entry_path(u, name);
  const char* hardlink = archive_entry_hardlink(entry);
  const mode_t type = archive_entry_filetype(entry);
  if (hardlink == nullptr) check_type(u, name, type);
  if (parts.empty()) {
    if (type == AE_IFDIR) return;  // "./": the bundle directory itself
    u.refuse(name, "empty name");
  }
  check_no_symlink_parent(u, name, parts);

  const std::string relative = join_path(parts);
  const fs::path destination = u.target / relative;
  // archive_write_disk chdir()s into paths this long, which would break unpacks on other threads.
  if (destination.native().size() >= PATH_MAX) u.refuse(name, "path is too long");
  std::string hardlink_relative;
  if (hardlink != nullptr) {
    const auto target_parts = check_hardlink(u, name, hardlink);
    hardlink_relative = join_path(target_parts);
    archive_entry_set_hardlink(entry, (u.target / hardlink_relative).c_str());
  } else if (type == AE_IFLNK) {
    const char* link_target = archive_entry_symlink(entry);
    check_symlink(u, name, parts, link_target != nullptr ? link_target : "");
  }
  sanitize_mode(u, relative, entry, type);
  archive_entry_set_pathname(entry, destination.c_str());

  check_declared_size(u, name, entry);

  check_write_status(u, writer, name, archive_write_header(writer, entry));
  UnpackedFile file = copy_data(u, name, reader, writer, entry);
  check_write_status(u, writer, name, archive_write_finish_entry(writer));

  if (hardlink != nullptr) {
    file = u.regular_files.at(hardlink_relative);  // same inode: same bytes
  } else if (type != AE_IFREG) {
    u.regular_files.erase(relative);  // a later entry of another type replaced a file
    return;
  }
  file.relpath = relative;
  u.regular_files[relative] = std::move(file);
}

ArchiveReader new_reader() {
  ArchiveReader reader(archive_read_new());
  if (!reader) throw std::bad_alloc();
  archive_read_support_filter_all(reader.get());
  archive_read_support_format_all(reader.get());
  return reader;
}

// Bytes streamed from an ArchiveSource into libarchive; the archive size seen by the ratio limit grows
// as they arrive. A source that throws ends the unpack with its exception.
struct StreamState {
  const ArchiveSource* source = nullptr;
  Unpack* unpack = nullptr;
  std::uint64_t expected_size = 0;
  std::uint64_t consumed = 0;
  std::vector<char> buffer = std::vector<char>(256 * 1024);
  std::exception_ptr error;
};

la_ssize_t read_stream(struct archive* a, void* data, const void** out) {
  auto* state = static_cast<StreamState*>(data);
  try {
    std::size_t n = (*state->source)(state->buffer.data(), state->buffer.size());
    state->consumed += n;
    state->unpack->archive_size = std::max(state->consumed, state->expected_size);
    *out = state->buffer.data();
    return static_cast<la_ssize_t>(n);
  } catch (...) {
    state->error = std::current_exception();
    archive_set_error(a, EIO, "the download was abandoned");
    return ARCHIVE_FATAL;
  }
}

ArchiveWriter open_writer() {
  // archive_write_disk_new reads the umask by setting and restoring it, which races with itself.
  static std::mutex umask_mutex;
  std::lock_guard lock(umask_mutex);
  ArchiveWriter writer(archive_write_disk_new());
  if (!writer) throw std::bad_alloc();
  archive_write_disk_set_options(writer.get(), kExtractFlags);
  return writer;
}

// Creates the (new) target directory and returns its canonical path.
fs::path create_target(const Unpack& u, const fs::path& target_dir) {
  std::error_code ec;
  if (target_dir.has_parent_path()) fs::create_directories(target_dir.parent_path(), ec);
  if (!ec && !fs::create_directory(target_dir, ec) && !ec) ec = std::make_error_code(std::errc::file_exists);
  if (!ec) {
    fs::path canonical = fs::canonical(target_dir, ec);
    if (!ec) return canonical;
  }
  throw util::StorageError("cannot unpack " + u.archive_name() + " into " + target_dir.string() + ": " + ec.message());
}

// Walks every entry of an opened reader into target_dir.
UnpackResult unpack_entries(Unpack& u, struct archive* reader, const fs::path& target_dir) {
  u.target = create_target(u, target_dir);
  ArchiveWriter writer = open_writer();
  for (;;) {
    struct archive_entry* entry = nullptr;
    const int r = archive_read_next_header(reader, &entry);
    if (r == ARCHIVE_EOF) break;
    if (failed(r)) u.damaged(error_text(reader));
    extract_entry(u, reader, writer.get(), entry);
  }
  if (u.result.entries == 0) u.damaged("it holds no entries");
  // Closing applies the deferred directory permissions and times.
  if (failed(archive_write_close(writer.get()))) {
    if (is_disk_failure(archive_errno(writer.get()))) u.storage(archive_errno(writer.get()));
    throw ArchiveError("archive " + u.archive_name() + ": cannot finish unpacking: " + error_text(writer.get()));
  }
  for (auto& [path, file] : u.regular_files) u.result.files.push_back(std::move(file));
  return std::move(u.result);
}

}  // namespace

UnpackResult unpack_archive(const fs::path& archive_file, const fs::path& target_dir, const UnpackLimits& limits) {
  Unpack u;
  u.name = archive_file.filename().string();
  u.limits = limits;

  std::error_code ec;
  u.archive_size = fs::file_size(archive_file, ec);
  if (ec) throw ArchiveError("archive " + u.archive_name() + " cannot be read: " + ec.message());
  if (u.archive_size == 0) u.damaged("the file is empty");

  ArchiveReader reader = new_reader();
  if (archive_read_open_filename(reader.get(), archive_file.c_str(), kReadBlockSize) != ARCHIVE_OK) {
    u.damaged(error_text(reader.get()));
  }
  return unpack_entries(u, reader.get(), target_dir);
}

UnpackResult unpack_stream(const ArchiveSource& source, const std::string& name, std::uint64_t expected_size,
                           const fs::path& target_dir, const UnpackLimits& limits) {
  Unpack u;
  u.name = name;
  u.limits = limits;
  u.archive_size = expected_size;
  u.streaming = true;
  StreamState state;
  state.source = &source;
  state.unpack = &u;
  state.expected_size = expected_size;
  ArchiveReader reader = new_reader();
  try {
    if (archive_read_open(reader.get(), &state, nullptr, read_stream, nullptr) != ARCHIVE_OK) {
      if (state.consumed == 0 && !state.error) u.damaged("the file is empty");
      u.damaged(error_text(reader.get()));
    }
    return unpack_entries(u, reader.get(), target_dir);
  } catch (const ArchiveError&) {
    if (state.error) std::rethrow_exception(state.error);  // the source's reason, not libarchive's echo
    throw;
  }
}

}  // namespace esxmirror::bundle
