#pragma once
// The gzip integrity check libarchive leaves out: it never verifies a member's trailer (CRC-32 and
// length), so a gzip bundle with flipped bytes unpacks "fine". Without an md5 on the page this check is
// what catches such a download.
#include <filesystem>
#include <string>

#include "esxmirror/bundle/archive_error.hpp"

namespace esxmirror::bundle {

// Decompresses `file` to nowhere, checking every gzip member's CRC-32 and length and that the last one is
// complete. A file that does not start with the gzip magic is left alone (zip, plain tar: nothing to
// check here). Bytes after the last member that do not start another member are ignored, as gzip(1) does.
// Throws ArchiveError("archive <name> is damaged: ...") on a mismatch or a truncated member.
void verify_gzip(const std::filesystem::path& file, const std::string& name);

}  // namespace esxmirror::bundle
