// The checks every archive entry passes before libarchive writes it (DESIGN §6): what its name, links,
// type, mode and declared size may be. Each refusal names the entry.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "bundle/unpack_checks.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror::bundle::detail {

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

std::vector<std::string> split_path(const std::string& name) {
  std::vector<std::string> parts;
  for (std::string& part : util::split(name, '/')) {
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
  }
  return parts;
}

std::string join_path(const std::vector<std::string>& parts, std::size_t count) {
  return util::join({parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(std::min(count, parts.size()))}, "/");
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
      u.refuse(name, "it would be written through the symlink '" + printable(join_path(parts, i + 1)) + "'");
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
  if (target_parts.empty() || u.regular_files.count(join_path(target_parts)) == 0) {
    u.refuse(name, shown + " is not a file extracted before it");
  }
  check_no_symlink_parent(u, name, target_parts);
  struct stat info {};
  const fs::path on_disk = u.target / join_path(target_parts);
  if (::lstat(on_disk.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    u.refuse(name, shown + " is not a file extracted before it");
  }
  return target_parts;
}

void check_type(const Unpack& u, const std::string& name, mode_t type) {
  switch (type) {
    case AE_IFREG:
    case AE_IFDIR:
    case AE_IFLNK:
      return;
    case AE_IFCHR:
      u.refuse(name, "character device");
    case AE_IFBLK:
      u.refuse(name, "block device");
    case AE_IFIFO:
      u.refuse(name, "fifo");
    case AE_IFSOCK:
      u.refuse(name, "socket");
    default:
      u.refuse(name, "unsupported entry type");
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

namespace {

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

std::uint64_t remaining_budget(const Unpack& u) {
  const double ratio_cap = u.limits.max_ratio * static_cast<double>(u.archive_size);
  std::uint64_t cap = u.limits.max_total_bytes;
  if (ratio_cap < static_cast<double>(cap)) cap = static_cast<std::uint64_t>(ratio_cap);
  return cap > u.result.bytes_written ? cap - u.result.bytes_written : 0;
}

std::uint64_t remaining_budget_for_stream(const Unpack& u, std::uint64_t budget_at_entry_start) {
  return std::max(budget_at_entry_start, remaining_budget(u));
}

[[noreturn]] void refuse_size(const Unpack& u, const std::string& name) {
  const double ratio_cap = u.limits.max_ratio * static_cast<double>(u.archive_size);
  if (ratio_cap < static_cast<double>(u.limits.max_total_bytes)) {
    u.refuse(name, "unpacks to more than " + format_number(u.limits.max_ratio) + " times the archive size " + "(" +
                       std::to_string(u.archive_size) + " bytes); a decompression bomb?");
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

}  // namespace esxmirror::bundle::detail
