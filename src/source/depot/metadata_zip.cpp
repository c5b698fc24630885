// The metadata zip, read from the file it was downloaded to with libarchive, one member at a time:
// a zip of tens of MiB is never in memory, only the member being parsed (capped by ZipLimits).
#include <archive.h>
#include <archive_entry.h>

#include <cerrno>
#include <memory>
#include <string>

#include "source/depot/metadata_builder.hpp"
#include "source/depot/xml.hpp"

namespace esxmirror::source::depot {
namespace {

using detail::fail;
using detail::MemberKind;

using ReaderPtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

constexpr std::size_t kReadBlock = 64 * 1024;

std::string reason(archive* reader) {
  const char* text = archive_error_string(reader);
  return text ? text : "unknown libarchive error";
}

// The member's bytes, refused as soon as they pass `cap` (a declared size can be missing or lie).
std::string read_member(archive* reader, const std::string& member, std::uint64_t cap, const std::string& document) {
  const auto too_big = [&] {
    fail(document, "member " + member + " is larger than the " + std::to_string(cap) +
                       " bytes allowed: not a metadata zip esxmirror reads");
  };
  std::string bytes;
  char block[kReadBlock];
  for (;;) {
    const la_ssize_t got = archive_read_data(reader, block, sizeof block);
    if (got == 0) break;
    if (got < 0) fail(document, "damaged zip: member " + member + ": " + reason(reader));
    if (bytes.size() + static_cast<std::uint64_t>(got) > cap) too_big();
    bytes.append(block, static_cast<std::size_t>(got));
  }
  return bytes;
}

}  // namespace

Metadata read_metadata_zip(const std::filesystem::path& zip, const std::string& document, const ZipLimits& limits) {
  ReaderPtr reader(archive_read_new(), &archive_read_free);
  if (!reader) fail(document, "out of memory opening the zip");
  // The seekable reader trusts the central directory, as unzip and esxcli do: a zip cut short (no end of
  // central directory) is refused instead of yielding the members before the cut. Zip only: a tar or an
  // HTML page is not a metadata zip.
  archive_read_support_format_zip_seekable(reader.get());
  if (archive_read_open_filename(reader.get(), zip.c_str(), kReadBlock) != ARCHIVE_OK) {
    // The format is detected on open: an HTML page or a zip without its central directory fails here,
    // with libarchive's "file format" errno, EILSEQ (archive.h does not export the name on POSIX).
    const bool format = archive_errno(reader.get()) == EILSEQ;
    fail(document, (format ? "damaged or not a zip: " : "cannot read the zip: ") + reason(reader.get()));
  }

  detail::MetadataBuilder builder(document);
  std::uint64_t members = 0;
  for (;;) {
    archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(reader.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) fail(document, "damaged or not a zip: " + reason(reader.get()));
    if (++members > limits.max_members)
      fail(document, "holds more than " + std::to_string(limits.max_members) + " members");
    const char* raw_name = archive_entry_pathname(entry);
    const std::string member = raw_name ? raw_name : "";
    const MemberKind kind = detail::member_kind(member);
    if (kind == MemberKind::other || archive_entry_filetype(entry) != AE_IFREG) {
      if (archive_read_data_skip(reader.get()) < ARCHIVE_WARN)
        fail(document, "damaged zip: member " + member + ": " + reason(reader.get()));
      continue;
    }
    const std::uint64_t cap = kind == MemberKind::vmware_xml ? limits.max_vmware_xml_bytes : limits.max_document_bytes;
    if (archive_entry_size_is_set(entry) && static_cast<std::uint64_t>(archive_entry_size(entry)) > cap)
      fail(document, "member " + member + " declares " + std::to_string(archive_entry_size(entry)) +
                         " bytes, more than the " + std::to_string(cap) + " allowed");
    builder.add(member, read_member(reader.get(), member, cap, document));
  }
  return builder.finish();
}

}  // namespace esxmirror::source::depot
