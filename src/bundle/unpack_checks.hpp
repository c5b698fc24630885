#pragma once
// What one unpack knows while it walks an archive's entries, and the checks every entry passes before
// libarchive writes it (entry_checks.cpp): its name, links, type, mode and size. Private to bundle/.
#include <archive_entry.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "esxmirror/bundle/archive.hpp"
#include "esxmirror/bundle/archive_error.hpp"
#include "esxmirror/util/fs.hpp"
#include "esxmirror/util/storage_error.hpp"

namespace esxmirror::bundle::detail {

namespace fs = std::filesystem;

// An entry name as it may appear in a one-line message: control bytes escaped.
std::string printable(const std::string& text);

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
    throw ArchiveError("archive " + archive_name() + ": refused entry '" + printable(entry) + "': " + why);
  }
  [[noreturn]] void damaged(const std::string& why) const {
    throw ArchiveError("archive " + archive_name() + " is damaged: " + why);
  }
  // A local disk failure, not the archive's fault: a run-level storage error.
  [[noreturn]] void storage(int err) const {
    throw util::StorageError("cannot unpack " + archive_name() + " into " + target.string() + ": " +
                             util::describe_errno(err));
  }
};

// An entry name's components, without empty and "." ones; `..` is kept (the checks refuse it).
std::vector<std::string> split_path(const std::string& name);
// The first `count` components joined with '/'.
std::string join_path(const std::vector<std::string>& parts, std::size_t count = std::string::npos);

// Refuses a name that is empty, absolute or has a `..` component; returns its components.
std::vector<std::string> check_entry_path(const Unpack& u, const std::string& name);
// Refuses writing `parts` through a symlink already extracted (checks every parent directory).
void check_no_symlink_parent(const Unpack& u, const std::string& name, const std::vector<std::string>& parts);
// Refuses a symlink whose target is absolute or leads out of the bundle.
void check_symlink(const Unpack& u, const std::string& name, const std::vector<std::string>& parts,
                   const std::string& link_target);
// Refuses a hardlink that does not name a regular file extracted earlier; returns the target's components.
std::vector<std::string> check_hardlink(const Unpack& u, const std::string& name, const std::string& link_target);
// Refuses devices, fifos, sockets and unknown types.
void check_type(const Unpack& u, const std::string& name, mode_t type);
// Strips setuid, setgid and sticky bits (noted) and keeps what is written readable and removable by us.
void sanitize_mode(Unpack& u, const std::string& relative, struct archive_entry* entry, mode_t type);

// Bytes the unpack may still write: the total limit, or the ratio to the archive's size if smaller.
std::uint64_t remaining_budget(const Unpack& u);
// While streaming, the archive's size grows as bytes arrive: the ratio budget is taken afresh per block.
std::uint64_t remaining_budget_for_stream(const Unpack& u, std::uint64_t budget_at_entry_start);
// Refuses `name` for going past the limit that binds (ratio or total).
[[noreturn]] void refuse_size(const Unpack& u, const std::string& name);
// The size an entry's header declares (0 when unset).
std::uint64_t declared_size(struct archive_entry* entry);
// Refuses an entry whose declared size is past the limits, before its header is written.
void check_declared_size(const Unpack& u, const std::string& name, struct archive_entry* entry);

}  // namespace esxmirror::bundle::detail
