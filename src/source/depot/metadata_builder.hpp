#pragma once
// Collects the members of one metadata zip as they are read and, at the end, decides what the zip says:
// the VIBs (vibs/*.xml first, vmware.xml as the fallback), bulletins and profiles, cross-checked.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "esxmirror/source/depot/metadata.hpp"
#include "source/depot/documents.hpp"

namespace esxmirror::source::depot::detail {

enum class MemberKind { vmware_xml, vib, bulletin, profile, other };

// What a member is by its name: "vmware.xml", "vibs/X.xml", "bulletins/X.xml", "profiles/X.xml" (one
// level deep); anything else (directories, vendor-index.xml, baseimages/...) is `other` and not read.
MemberKind member_kind(std::string_view member);

class MetadataBuilder {
 public:
  // `document` names the zip in errors.
  explicit MetadataBuilder(std::string document) : document_(std::move(document)) {}

  // Parses one member (ignored when its kind is `other`). Throws FormatError naming the zip and the
  // member: invalid XML, a missing element, a VIB or bulletin described twice differently.
  void add(const std::string& member, std::string_view bytes);

  // Everything the zip says, cross-checked (see metadata.hpp). Throws FormatError naming the zip.
  Metadata finish();

 private:
  void add_vib(Vib vib);
  void add_bulletin(Bulletin bulletin, std::map<std::string, Bulletin>& into);

  std::string document_;
  bool saw_metadata_ = false;
  std::map<std::string, Vib> vibs_;                   // from vibs/*.xml, by id
  std::vector<ListedVib> listed_;                     // from vmware.xml
  std::map<std::string, Bulletin> bulletins_;         // from bulletins/*.xml, by id
  std::map<std::string, Bulletin> listed_bulletins_;  // from vmware.xml, by id
  std::vector<ImageProfile> profiles_;
  std::vector<std::string> warnings_;
};

}  // namespace esxmirror::source::depot::detail
