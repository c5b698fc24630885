// Archives built in memory with libarchive's write side. Paths and link targets are stored exactly as
// given so tests can build the hostile archives the unpacker must refuse.
#include "support/archive_builder.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <sys/stat.h>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace esxmirror::testing {
namespace {

using WriterPtr = std::unique_ptr<archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

// A fixed timestamp keeps the output byte-for-byte reproducible.
constexpr la_int64_t kEntryMtime = 1175126400;  // 2007-03-29

[[noreturn]] void fail(archive* writer, const std::string& what) {
  const char* reason = archive_error_string(writer);
  throw std::runtime_error("build_archive: " + what + ": " + (reason ? reason : "unknown libarchive error"));
}

la_ssize_t append_to_string(archive*, void* out, const void* data, std::size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

void choose_format(archive* writer, ArchiveFormat format, int gzip_level) {
  int rc = ARCHIVE_OK;
  switch (format) {
    case ArchiveFormat::tar_gz: {
      rc = archive_write_set_format_pax_restricted(writer);
      if (rc == ARCHIVE_OK) rc = archive_write_add_filter_gzip(writer);
      // No gzip timestamp, so the same entries always give the same bytes.
      const std::string options =
          "gzip:compression-level=" + std::to_string(std::clamp(gzip_level, 0, 9)) + ",gzip:!timestamp";
      if (rc == ARCHIVE_OK) rc = archive_write_set_options(writer, options.c_str());
      // Like gzip(1): no zero padding after the gzip stream.
      if (rc == ARCHIVE_OK) rc = archive_write_set_bytes_in_last_block(writer, 1);
      break;
    }
    case ArchiveFormat::tar:
      rc = archive_write_set_format_pax_restricted(writer);
      if (rc == ARCHIVE_OK) rc = archive_write_add_filter_none(writer);
      break;
    case ArchiveFormat::zip:
      rc = archive_write_set_format_zip(writer);
      if (rc == ARCHIVE_OK) rc = archive_write_add_filter_none(writer);
      // A zip ends where its central directory ends, without libarchive's block padding.
      if (rc == ARCHIVE_OK) rc = archive_write_set_bytes_in_last_block(writer, 1);
      break;
  }
  if (rc != ARCHIVE_OK) fail(writer, "cannot set up the archive format");
}

void describe(archive_entry* out, const ArchiveEntry& in) {
  archive_entry_copy_pathname(out, in.path.c_str());
  archive_entry_set_perm(out, static_cast<mode_t>(in.mode));
  archive_entry_set_mtime(out, kEntryMtime, 0);
  archive_entry_set_uid(out, 0);
  archive_entry_set_gid(out, 0);
  archive_entry_set_size(out, 0);
  switch (in.type) {
    case ArchiveEntry::Type::file:
      archive_entry_set_filetype(out, AE_IFREG);
      archive_entry_set_size(out, static_cast<la_int64_t>(in.content.size()));
      break;
    case ArchiveEntry::Type::directory:
      archive_entry_set_filetype(out, AE_IFDIR);
      break;
    case ArchiveEntry::Type::symlink:
      archive_entry_set_filetype(out, AE_IFLNK);
      archive_entry_copy_symlink(out, in.link_target.c_str());
      break;
    case ArchiveEntry::Type::hardlink:
      archive_entry_set_filetype(out, AE_IFREG);
      archive_entry_copy_hardlink(out, in.link_target.c_str());
      break;
    case ArchiveEntry::Type::char_device:
      archive_entry_set_filetype(out, AE_IFCHR);
      archive_entry_set_rdevmajor(out, 1);  // /dev/null's numbers: harmless if ever created
      archive_entry_set_rdevminor(out, 3);
      break;
    case ArchiveEntry::Type::fifo:
      archive_entry_set_filetype(out, AE_IFIFO);
      break;
  }
}

// xorshift64*: fast enough to fill a gigabyte in well under a second, and incompressible for gzip.
class FastRandom {
 public:
  explicit FastRandom(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL) {
    if (state_ == 0) state_ = 1;
  }
  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  std::string bytes(std::size_t size) {
    std::string out(size, '\0');
    std::size_t at = 0;
    for (; at + 8 <= size; at += 8) {
      const std::uint64_t word = next();
      std::memcpy(out.data() + at, &word, 8);
    }
    const std::uint64_t tail = next();
    std::memcpy(out.data() + at, &tail, size - at);
    return out;
  }

 private:
  std::uint64_t state_;
};

// Writes `entries` with a writer whose format is already chosen.
std::string write_entries(archive* writer_handle, const std::vector<ArchiveEntry>& entries) {
  WriterPtr writer(writer_handle, &archive_write_free);
  std::string out;
  std::size_t payload = 0;
  for (const auto& entry : entries) payload += entry.content.size() + 1024;
  // One allocation even for gigabyte bundles: room for headers, tar padding and deflate's worst-case
  // growth on incompressible data (stored blocks add 5 bytes per 64 KiB).
  out.reserve(payload + payload / 512 + 64 * 1024);

  if (archive_write_open2(writer.get(), &out, nullptr, &append_to_string, nullptr, nullptr) != ARCHIVE_OK)
    fail(writer.get(), "cannot open the in-memory archive");

  for (const auto& entry : entries) {
    EntryPtr header(archive_entry_new(), &archive_entry_free);
    describe(header.get(), entry);
    if (archive_write_header(writer.get(), header.get()) < ARCHIVE_WARN) fail(writer.get(), "entry " + entry.path);
    if (entry.type == ArchiveEntry::Type::file && !entry.content.empty()) {
      // libarchive may take a large buffer in several calls.
      std::size_t done = 0;
      while (done < entry.content.size()) {
        const la_ssize_t wrote =
            archive_write_data(writer.get(), entry.content.data() + done, entry.content.size() - done);
        if (wrote <= 0) fail(writer.get(), "data of " + entry.path);
        done += static_cast<std::size_t>(wrote);
      }
    }
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK) fail(writer.get(), "cannot finish the archive");
  return out;
}

}  // namespace

std::string build_archive(const std::vector<ArchiveEntry>& entries, ArchiveFormat format, int gzip_level) {
  archive* writer = archive_write_new();
  if (!writer) throw std::runtime_error("build_archive: out of memory");
  try {
    choose_format(writer, format, gzip_level);
  } catch (...) {
    archive_write_free(writer);
    throw;
  }
  return write_entries(writer, entries);
}

std::string build_ar_archive(const std::vector<ArchiveEntry>& entries) {
  archive* writer = archive_write_new();
  if (!writer) throw std::runtime_error("build_archive: out of memory");
  int rc = archive_write_set_format_ar_svr4(writer);
  if (rc == ARCHIVE_OK) rc = archive_write_add_filter_none(writer);
  // An ar archive ends with its last member: libarchive's block padding would read as a bad header.
  if (rc == ARCHIVE_OK) rc = archive_write_set_bytes_in_last_block(writer, 1);
  if (rc != ARCHIVE_OK) {
    const std::string reason = archive_error_string(writer) ? archive_error_string(writer) : "unknown";
    archive_write_free(writer);
    throw std::runtime_error("build_archive: cannot set up the ar format: " + reason);
  }
  return write_entries(writer, entries);
}

std::string pseudo_random_bytes(std::size_t size, std::uint64_t seed) { return FastRandom(seed).bytes(size); }

std::vector<ArchiveEntry> bundle_entries(const std::string& bundle, std::size_t approx_bytes, unsigned seed) {
  static const char* const kPackages[] = {"VMware-esx-apps", "VMware-esx-vmx", "VMware-esx-drivers-scsi",
                                          "VMware-esx-tools"};
  FastRandom random(seed);
  const std::size_t rpm_count = 2 + random.next() % 3;

  // Split the payload by pseudo-random weights so RPM sizes differ but add up to approx_bytes.
  std::uint64_t weights[4] = {};
  std::uint64_t weight_sum = 0;
  for (std::size_t i = 0; i < rpm_count; ++i) {
    weights[i] = 1 + random.next() % 8;
    weight_sum += weights[i];
  }

  std::vector<ArchiveEntry> entries;
  entries.push_back({bundle + "/", ArchiveEntry::Type::directory, "", "", 0755});

  std::string rpm_list;
  std::size_t assigned = 0;
  for (std::size_t i = 0; i < rpm_count; ++i) {
    const std::size_t size =
        i + 1 == rpm_count ? approx_bytes - assigned : static_cast<std::size_t>(approx_bytes * weights[i] / weight_sum);
    assigned += size;
    const std::string name = std::string(kPackages[i]) + "-3.0.0-" + std::to_string(10000 + seed % 90000) + ".i386.rpm";
    entries.push_back({bundle + "/" + name, ArchiveEntry::Type::file, random.bytes(size), "", 0644});
    rpm_list += "    <rpm size=\"" + std::to_string(size) + "\">" + name + "</rpm>\n";
  }

  entries.push_back({bundle + "/contents.xml", ArchiveEntry::Type::file,
                     "<?xml version=\"1.0\"?>\n<contents>\n" + rpm_list + "</contents>\n", "", 0644});
  entries.push_back({bundle + "/descriptor.xml", ArchiveEntry::Type::file,
                     "<?xml version=\"1.0\"?>\n<descriptor>\n  <id>" + bundle +
                         "</id>\n  <vendor>VMware, Inc.</vendor>\n  <rpmcount>" + std::to_string(rpm_count) +
                         "</rpmcount>\n</descriptor>\n",
                     "", 0644});
  return entries;
}

}  // namespace esxmirror::testing
