#pragma once
// A depot's metadata zip (DESIGN §8): every VIB it references with the file's size and sha-256, its
// bulletins and image profiles.
//
// How the members relate: each vibs/*.xml describes one VIB (its descriptor plus <relative-path>,
// <packed-size> and the VIB-level <checksum checksum-type="sha-256">; the <payloads> checksums are the
// payloads', never the file's). vmware.xml lists every bulletin with its VIBs' <vibFile>; it is the
// fallback for a VIB no vibs/*.xml describes. Two descriptions of one VIB (two vibs/*.xml, or a
// vibs/*.xml and vmware.xml) that disagree on path, size or sha-256 are refused, naming the VIB.
// Bulletins come from bulletins/*.xml, and from vmware.xml for those no bulletins/*.xml holds. A
// bulletin or image profile naming a VIB that no member describes is refused, naming both. Other
// members (vendor-index.xml, baseimages/, addons/, notes...) are tolerated and not read.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace esxmirror::source::depot {

// One VIB file the zip references.
struct Vib {
  std::string id;                 // "<vendor>_<type>_<name>_<version>": what bulletins and profiles name
  std::string name;               // "esx-base"
  std::string version;            // "8.0.3-0.0.24022510"
  std::string vendor;             // "VMware"
  std::string type;               // "bootbank"
  std::string relative_path;      // as written: relative to the zip's directory, or an absolute URL
  std::uint64_t packed_size = 0;  // bytes of the .vib file
  std::string sha256;             // lowercase hex of the whole .vib file
  std::string described_by;       // the member it was read from: "vibs/esx-base-1234.xml" or "vmware.xml"
  bool operator==(const Vib&) const = default;
};

// One <softwarePlatform> of a bulletin: what it applies to.
struct Platform {
  std::string version;          // "8.0.3" or a pattern "8.0.*"
  std::string product_line_id;  // "embeddedEsx"
  std::string locale;
  bool operator==(const Platform&) const = default;
};

struct Bulletin {
  std::string id;      // "ESXi_8.0.3-0.0.24022510"
  std::string vendor;  // "VMware, Inc."
  std::string summary;
  std::string severity;      // "critical", "important", "moderate", "low", "general"
  std::string category;      // "bugfix", "security", "enhancement"...
  std::string release_type;  // "patch", "rollup", "update", "extension"
  std::string release_date;  // ISO "YYYY-MM-DD"; empty when missing or unreadable (and a warning)
  std::vector<Platform> platforms;
  std::vector<std::string> vib_ids;  // document order
  std::string described_by;          // "bulletins/<id>.xml" or "vmware.xml"
  bool operator==(const Bulletin&) const = default;
};

struct ImageProfile {
  std::string name;                  // "ESXi-8.0U3-24022510-standard"
  std::vector<std::string> vib_ids;  // document order
  std::string described_by;          // "profiles/<...>.xml"
  bool operator==(const ImageProfile&) const = default;
};

struct Metadata {
  std::vector<Vib> vibs;               // sorted by id, each once: every VIB the zip references
  std::vector<Bulletin> bulletins;     // sorted by id, each once
  std::vector<ImageProfile> profiles;  // sorted by name
  std::vector<std::string> warnings;   // one line each, naming the member (e.g. an unreadable date)

  // The VIB with this id; nullptr when the zip has none.
  const Vib* find_vib(std::string_view id) const;
};

// Caps on what one metadata zip may make esxmirror read; anything past them is refused, naming the member.
struct ZipLimits {
  std::uint64_t max_document_bytes = 16ull << 20;     // each bulletins/, vibs/, profiles/ member
  std::uint64_t max_vmware_xml_bytes = 512ull << 20;  // vmware.xml lists everything: it is the big one
  std::uint64_t max_members = 1'000'000;
};

// Reads the metadata zip at `zip` (libarchive, one member at a time: never the whole zip in memory) and
// parses what it holds. `document` names the zip in errors. Throws FormatError: a damaged or unreadable
// zip, a member past `limits`, invalid XML or a missing required element in a member, inconsistent
// descriptions, a dangling VIB reference, or a zip with no vmware.xml, vibs/ or bulletins/ at all.
Metadata read_metadata_zip(const std::filesystem::path& zip, const std::string& document, const ZipLimits& limits = {});

// The same from members already in memory, (name, bytes) in zip order (tests, fuzzing).
Metadata parse_metadata_members(const std::vector<std::pair<std::string, std::string>>& members,
                                const std::string& document);

// A depot date ("2024-06-25T00:00:00", "2024-06-25T00:00:00.000000+00:00", "2024-06-25") as the date
// it is written with, "2024-06-25"; nullopt when it is not one.
std::optional<std::string> iso_date(std::string_view text);

}  // namespace esxmirror::source::depot
