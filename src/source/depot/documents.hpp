#pragma once
// Readers for the members of a metadata zip, one document each (vibs/*.xml, bulletins/*.xml,
// profiles/*.xml, vmware.xml). `where` names the member in errors: "<zip>: <member>".
#include <string>
#include <string_view>
#include <vector>

#include "esxmirror/source/depot/metadata.hpp"

namespace esxmirror::source::depot::detail {

// "<vendor>_<type>_<name>_<version>", the id bulletins and profiles use for a VIB.
std::string vib_id(const std::string& vendor, const std::string& type, const std::string& name,
                   const std::string& version);

// A vibs/*.xml: the VIB's descriptor plus <relative-path>, <packed-size> and the VIB-level sha-256.
// Throws FormatError naming `where` for invalid XML or a missing or malformed required element.
Vib parse_vib_document(std::string_view xml, const std::string& where, const std::string& member);

// A bulletins/*.xml. An unreadable or missing <releaseDate> leaves release_date empty and adds a warning.
// Throws FormatError naming `where` for invalid XML, or no <id> or <vibList>.
Bulletin parse_bulletin_document(std::string_view xml, const std::string& where, const std::string& member,
                                 std::vector<std::string>& warnings);

// A profiles/*.xml (an image profile). Throws FormatError naming `where`: invalid XML, no name or VIB list.
ImageProfile parse_profile_document(std::string_view xml, const std::string& where, const std::string& member);

// What vmware.xml says about one VIB. has_file is false when it gives no <vibFile>/<relativePath>.
struct ListedVib {
  Vib vib;  // described_by = "vmware.xml"
  bool has_file = false;
  std::string bulletin;  // the first bulletin listing it, for errors
};

struct VmwareXml {
  std::vector<Bulletin> bulletins;
  std::vector<ListedVib> vibs;  // document order; a VIB listed by several bulletins appears each time
};

// vmware.xml (<metadataResponse> of <bulletin> with full <vib> entries). Throws FormatError naming
// `where`: invalid XML, another root, a bulletin without <id>, a VIB entry without an id, or a
// <vibFile> with a malformed size or checksum.
VmwareXml parse_vmware_xml(std::string_view xml, const std::string& where, std::vector<std::string>& warnings);

}  // namespace esxmirror::source::depot::detail
