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
#include <memory>
#include <mutex>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "esxmirror/core/error.hpp"
#include "esxmirror/util/fs.hpp"
#include "esxmirror/util/hash.hpp"

namespace esxmirror::bundle {
namespace fs = std::filesystem;

namespace {

struct ReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using ArchiveReader = std::unique_ptr<struct archive, ReadDeleter>;
using ArchiveWriter = std::unique_ptr<struct archive, WriteDeleter>;

constexpr int kExtractFlags = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                              ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM;
constexpr std::size_t kReadBlockSize = 64 * 1024;

// An entry name as it may appear in a one-line message: control bytes escaped.
std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

std::string error_text(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? printable(message) : std::string("unknown error");
}

// Everything one unpack needs to know while it walks the entries.
struct Unpack {
  std::string name;  // of the archive, for messages
  fs::path target;   // canonical
  UnpackLimits limits;
  std::uint64_t archive_size = 0;  // streamed: max(bytes read so far, expected size)
  bool streaming = false;          // archive_size still grows: only bytes written can be held to the ratio
  UnpackResult result;
  std::map<std::string, UnpackedFile> regular_files;  // regular files written so far, by relative path

  const std::string& archive_name() const { return name; }

  [[noreturn]] void refuse(const std::string& entry, const std::string& why) const {
    throw PatchError("archive " + archive_name() + ": refused entry '" + printable(entry) + "': " + why);
  }
  [[noreturn]] void damaged(const std::string& why) const {
    throw PatchError("archive " + archive_name() + " is damaged: " + why);
  }
  // A local disk failure, not the archive's fault: a run-level storage error.
  [[noreturn]] void storage(int err) const {
    throw Error(ExitCode::storage,
                "cannot unpack " + archive_name() + " into " + target.string() + ": " + util::describe_errno(err));
  }
};

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

// Splits an entry name into components, dropping empty and "." ones.
std::vector<std::string> split_path(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    std::string part = name.substr(start, end - start);
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = end + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t count = std::string::npos) {
  std::string out;
  for (std::size_t i = 0; i < count && i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out;
}

// Refuses a name that is empty, absolute or has a `..` component; returns its components.
std::vector<std::string> check_entry_path(const Unpack& u, const std::string& name) {
  if (name.empty()) u.refuse(name, "empty name");
  if (name.front() == '/') u.refuse(name, "absolute path");
  auto parts = split_path(name);
  int depth = 0;
  for (const auto& part : parts) {
    if (part != "..") {
      ++depth;
    } else if (--depth < 0) {
      u.refuse(name, "path leaves the bundle directory");
    }
  }
  for (const auto& part : parts) {
    if (part == "..") u.refuse(name, "path has a '..' component");
  }
  return parts;
}

// Refuses writing `parts` through a symlink already extracted (checks every parent directory).
void check_no_symlink_parent(const Unpack& u, const std::string& name, const std::vector<std::string>& parts) {
  fs::path current = u.target;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    current /= parts[i];
    struct stat info {};
    if (::lstat(current.c_str(), &info) != 0) return;  // not there yet: nothing below it exists either
    if (S_ISLNK(info.st_mode)) {
      u.refuse(name, "it would be written through the symlink '" + printable(join(parts, i + 1)) + "'");
    }
  }
}

// A symlink target must be relative and stay inside the bundle. `..` may only lead the target (and
// climb no higher than the link's own directory): a `..` after a name could climb out of a directory
// reached through another symlink, which a lexical check cannot see.
void check_symlink(const Unpack& u, const std::string& name, const std::vector<std::string>& parts,
                   const std::string& link_target) {
  if (link_target.empty()) u.refuse(name, "symlink with an empty target");
  if (link_target.front() == '/') u.refuse(name, "symlink target '" + printable(link_target) + "' is absolute");
  const auto target_parts = split_path(link_target);
  const std::size_t link_depth = parts.size() - 1;  // directories between the bundle root and the link
  std::size_t ups = 0;
  bool seen_name = false;
  for (const auto& part : target_parts) {
    if (part != "..") {
      seen_name = true;
    } else if (seen_name) {
      u.refuse(name, "symlink target '" + printable(link_target) + "' has '..' after a name");
    } else if (++ups > link_depth) {
      u.refuse(name, "symlink target '" + printable(link_target) + "' leaves the bundle directory");
    }
  }
}

// A hardlink must name a regular file extracted earlier from this archive, by a plain relative path.
std::vector<std::string> check_hardlink(const Unpack& u, const std::string& name, const std::string& link_target) {
  const std::string shown = "hardlink target '" + printable(link_target) + "'";
  if (link_target.empty()) u.refuse(name, "hardlink with an empty target");
  if (link_target.front() == '/') u.refuse(name, shown + " is absolute");
  auto target_parts = split_path(link_target);
  for (const auto& part : target_parts) {
    if (part == "..") u.refuse(name, shown + " leaves the bundle directory");
  }
  if (target_parts.empty() || u.regular_files.count(join(target_parts)) == 0) {
    u.refuse(name, shown + " is not a file extracted before it");
  }
  check_no_symlink_parent(u, name, target_parts);
  struct stat info {};
  const fs::path on_disk = u.target / join(target_parts);
  if (::lstat(on_disk.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    u.refuse(name, shown + " is not a file extracted before it");
  }
  return target_parts;
}

void check_type(const Unpack& u, const std::string& name, mode_t type) {
  switch (type) {
    case AE_IFREG:
    case AE_IFDIR:
    case AE_IFLNK: return;
    case AE_IFCHR: u.refuse(name, "character device");
    case AE_IFBLK: u.refuse(name, "block device");
    case AE_IFIFO: u.refuse(name, "fifo");
    case AE_IFSOCK: u.refuse(name, "socket");
    default: u.refuse(name, "unsupported entry type");
  }
}

// Strips setuid, setgid and sticky bits (noted), and keeps what we write readable and removable by us:
// files at least u+rw, directories u+rwx.
void sanitize_mode(Unpack& u, const std::string& relative, struct archive_entry* entry, mode_t type) {
  const mode_t perm = archive_entry_perm(entry);
  std::vector<std::string> stripped;
  if (perm & S_ISUID) stripped.emplace_back("setuid");
  if (perm & S_ISGID) stripped.emplace_back("setgid");
  if (perm & S_ISVTX) stripped.emplace_back("sticky");
  if (!stripped.empty()) {
    std::string note = "stripped " + stripped[0];
    for (std::size_t i = 1; i < stripped.size(); ++i) note += (i + 1 == stripped.size() ? " and " : ", ") + stripped[i];
    note += (stripped.size() == 1 ? " bit from " : " bits from ") + printable(relative);
    u.result.notes.push_back(std::move(note));
  }
  const mode_t owner = type == AE_IFDIR ? S_IRWXU : (S_IRUSR | S_IWUSR);
  if (type != AE_IFLNK) archive_entry_set_perm(entry, (perm & 0777) | owner);
}

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

std::uint64_t remaining_budget(const Unpack& u);

// While streaming, the archive's size grows as bytes arrive: the ratio budget is taken afresh per block.
std::uint64_t remaining_budget_for_stream(const Unpack& u, std::uint64_t budget_at_entry_start) {
  return std::max(budget_at_entry_start, remaining_budget(u));
}

std::uint64_t remaining_budget(const Unpack& u) {
  const double ratio_cap = u.limits.max_ratio * static_cast<double>(u.archive_size);
  std::uint64_t cap = u.limits.max_total_bytes;
  if (ratio_cap < static_cast<double>(cap)) cap = static_cast<std::uint64_t>(ratio_cap);
  return cap > u.result.bytes_written ? cap - u.result.bytes_written : 0;
}

[[noreturn]] void refuse_size(const Unpack& u, const std::string& name) {
  const double ratio_cap = u.limits.max_ratio * static_cast<double>(u.archive_size);
  if (ratio_cap < static_cast<double>(u.limits.max_total_bytes)) {
    u.refuse(name, "unpacks to more than " + format_number(u.limits.max_ratio) + " times the archive size " +
                       "(" + std::to_string(u.archive_size) + " bytes); a decompression bomb?");
  }
  u.refuse(name, "unpacks to more than the limit of " + std::to_string(u.limits.max_total_bytes) + " bytes");
}

std::uint64_t declared_size(struct archive_entry* entry) {
  if (!archive_entry_size_is_set(entry) || archive_entry_size(entry) <= 0) return 0;
  return static_cast<std::uint64_t>(archive_entry_size(entry));
}

// archive_write_disk extends a file to the size its header declares (restoring trailing holes), even
// when the entry is abandoned halfway: refuse a declared size past the limits before the header is
// written. The data itself is counted again as it is written (copy_data).
void check_declared_size(const Unpack& u, const std::string& name, struct archive_entry* entry) {
  std::uint64_t budget = remaining_budget(u);
  if (u.streaming && u.result.bytes_written < u.limits.max_total_bytes) {
    budget = u.limits.max_total_bytes - u.result.bytes_written;  // the ratio is checked per block as bytes arrive
  }
  if (declared_size(entry) > budget) refuse_size(u, name);
}

// Streams one entry's data from reader to writer, counting what is written against the limits. Holes
// of sparse files count as written: they are bytes a reader of the file will see.
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

  const std::string relative = join(parts);
  const fs::path destination = u.target / relative;
  // archive_write_disk chdir()s into paths this long, which would break unpacks on other threads.
  if (destination.native().size() >= PATH_MAX) u.refuse(name, "path is too long");
  std::string hardlink_relative;
  if (hardlink != nullptr) {
    const auto target_parts = check_hardlink(u, name, hardlink);
    hardlink_relative = join(target_parts);
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
  throw Error(ExitCode::storage, "cannot unpack " + u.archive_name() + " into " + target_dir.string() + ": " +
                                     ec.message());
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
    throw PatchError("archive " + u.archive_name() + ": cannot finish unpacking: " + error_text(writer.get()));
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
  if (ec) throw PatchError("archive " + u.archive_name() + " cannot be read: " + ec.message());
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
  } catch (const PatchError&) {
    if (state.error) std::rethrow_exception(state.error);  // the source's reason, not libarchive's echo
    throw;
  }
}

}  // namespace esxmirror::bundle
