#pragma once
// The resume record kept beside a partial download ("<file>.part.meta" next to "<file>.part").
//
// Format: plain text, one "key value" per line, first line "esxmirror-partial 1":
//   esxmirror-partial 1
//   url http://host/path?token=***        (masked: no secret ever reaches the disk)
//   etag "abc"
//   last_modified Tue, 03 Apr 2007 10:00:00 GMT
#include <filesystem>
#include <optional>
#include <string>

#include "esxmirror/net/transfer.hpp"

namespace esxmirror::net::detail {

struct PartialRecord {
  std::string url;  // masked
  Validators validators;
};

// nullopt when missing, unreadable or not in the format above.
std::optional<PartialRecord> read_partial_record(const std::filesystem::path& file);
// Written beside `file` through a temporary and a rename; throws std::runtime_error naming the file.
void write_partial_record(const std::filesystem::path& file, const PartialRecord& record);
void remove_partial_record(const std::filesystem::path& file) noexcept;

// The If-Range value for these validators: a strong ETag, else Last-Modified, else "" (cannot resume:
// a weak ETag never matches If-Range).
std::string if_range_value(const Validators& validators);

// Header values with CR / LF / NUL removed (they come from servers and from disk).
std::string header_safe(const std::string& value);

}  // namespace esxmirror::net::detail
