// The members of a metadata zip, one document at a time. Shapes as VMware's own depots write them:
//   vibs/<name>-<n>.xml  <vib><type/><name/><version/><vendor/>...<payloads/>
//                        <relative-path/><packed-size/><checksum checksum-type="sha-256"/></vib>
//   bulletins/<id>.xml   <bulletin><id/>...<releaseDate/><platforms><softwarePlatform .../></platforms>
//                        <vibList><vibID/>...</vibList></bulletin>
//   profiles/<...>.xml   <imageProfile><name/>...<vibList><vib><vibid/></vib>...</vibList></imageProfile>
//   vmware.xml           <metadataResponse><bulletin>...<vibList><vib><vibID/>...<vibFile><relativePath/>
//                        <packedSize/><checksum><checksumType/><checksum/></checksum></vibFile></vib>
#include "source/depot/documents.hpp"

#include <algorithm>
#include <cctype>

#include "esxmirror/util/strings.hpp"
#include "source/depot/xml.hpp"

namespace esxmirror::source::depot::detail {
namespace {

std::uint64_t parse_size(const std::string& text, const std::string& where, const std::string& what) {
  const bool digits = !text.empty() && text.size() <= 18 &&
                      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
  if (!digits) fail(where, what + ": size '" + text + "' is not a number of bytes");
  return std::stoull(text);
}

std::string parse_sha256(const std::string& text, const std::string& where, const std::string& what) {
  const bool hex =
      text.size() == 64 && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); });
  if (!hex) fail(where, what + ": sha-256 '" + text + "' is not 64 hex digits");
  return util::to_lower(text);
}

// The file's own checksum: a direct <checksum checksum-type="sha-256"> of <vib> without verify-process
// (a VIB may also carry sha-1 or checksums of a decompressed stream).
std::string vib_level_sha256(pugi::xml_node vib, const std::string& where, const std::string& what) {
  for (const pugi::xml_node checksum : children(vib, "checksum")) {
    if (attribute(checksum, "checksum-type") == "sha-256" && attribute(checksum, "verify-process").empty())
      return parse_sha256(text_of(checksum), where, what);
  }
  fail(where, what + " has no <checksum checksum-type=\"sha-256\">");
}

void read_release_date(Bulletin& bulletin, pugi::xml_node node, const std::string& where,
                       std::vector<std::string>& warnings) {
  const std::string raw = child_text(node, "releaseDate");
  if (const auto date = iso_date(raw)) {
    bulletin.release_date = *date;
  } else {
    warnings.push_back(where + ": bulletin " + bulletin.id +
                       (raw.empty() ? " has no <releaseDate>" : " has an unreadable <releaseDate> '" + raw + "'"));
  }
}

// The fields bulletins/*.xml and vmware.xml's <bulletin> share; vibList is read by the caller.
Bulletin read_bulletin_fields(pugi::xml_node node, const std::string& where, std::vector<std::string>& warnings) {
  Bulletin bulletin;
  bulletin.id = required_text(node, "id", where, "a bulletin");
  bulletin.vendor = child_text(node, "vendor");
  bulletin.summary = child_text(node, "summary");
  bulletin.severity = child_text(node, "severity");
  bulletin.category = child_text(node, "category");
  bulletin.release_type = child_text(node, "releaseType");
  read_release_date(bulletin, node, where, warnings);
  for (const pugi::xml_node platform : children(child(node, "platforms"), "softwarePlatform"))
    bulletin.platforms.push_back(
        {attribute(platform, "version"), attribute(platform, "productLineID"), attribute(platform, "locale")});
  return bulletin;
}

pugi::xml_node required_vib_list(pugi::xml_node node, const std::string& where, const std::string& what) {
  const pugi::xml_node list = child(node, "vibList", true);
  if (!list) fail(where, what + " has no <vibList>");
  return list;
}

// The id of a <vib> entry of vmware.xml: its <vibID>, or made from its name fields as esximage does.
std::string listed_vib_id(pugi::xml_node vib) {
  std::string id = child_text(vib, "vibID");
  if (!id.empty()) return id;
  const std::string vendor = child_text(vib, "vendor"), type = child_text(vib, "vibType");
  const std::string name = child_text(vib, "name"), version = child_text(vib, "version");
  if (vendor.empty() || type.empty() || name.empty() || version.empty()) return "";
  return vib_id(vendor, type, name, version);
}

ListedVib read_listed_vib(pugi::xml_node node, const std::string& bulletin, const std::string& where) {
  ListedVib listed;
  listed.bulletin = bulletin;
  Vib& vib = listed.vib;
  vib.id = listed_vib_id(node);
  if (vib.id.empty()) fail(where, "bulletin " + bulletin + " lists a <vib> without <vibID>");
  vib.name = child_text(node, "name");
  vib.version = child_text(node, "version");
  vib.vendor = child_text(node, "vendor");
  vib.type = child_text(node, "vibType");
  vib.described_by = "vmware.xml";
  const pugi::xml_node file = child(node, "vibFile");
  vib.relative_path = child_text(file, "relativePath");
  listed.has_file = !vib.relative_path.empty();
  if (!listed.has_file) return listed;
  const std::string what = "VIB " + vib.id;
  vib.packed_size = parse_size(required_text(file, "packedSize", where, what + " <vibFile>"), where, what);
  for (const pugi::xml_node checksum : children(file, "checksum")) {
    if (child_text(checksum, "checksumType") == "sha-256")
      vib.sha256 = parse_sha256(child_text(checksum, "checksum"), where, what);
  }
  if (vib.sha256.empty()) fail(where, what + " <vibFile> has no sha-256 <checksum>");
  return listed;
}

}  // namespace

std::string vib_id(const std::string& vendor, const std::string& type, const std::string& name,
                   const std::string& version) {
  return vendor + "_" + type + "_" + name + "_" + version;
}

Vib parse_vib_document(std::string_view xml, const std::string& where, const std::string& member) {
  pugi::xml_document doc;
  parse_xml(doc, xml, where);
  const pugi::xml_node root = root_element(doc, {"vib"}, where);
  Vib vib;
  vib.name = required_text(root, "name", where, "the VIB");
  vib.version = required_text(root, "version", where, "VIB " + vib.name);
  vib.vendor = required_text(root, "vendor", where, "VIB " + vib.name);
  vib.type = required_text(root, "type", where, "VIB " + vib.name);
  vib.id = vib_id(vib.vendor, vib.type, vib.name, vib.version);
  const std::string what = "VIB " + vib.id;
  vib.relative_path = required_text(root, "relative-path", where, what);
  vib.packed_size = parse_size(required_text(root, "packed-size", where, what), where, what);
  vib.sha256 = vib_level_sha256(root, where, what);
  vib.described_by = member;
  return vib;
}

Bulletin parse_bulletin_document(std::string_view xml, const std::string& where, const std::string& member,
                                 std::vector<std::string>& warnings) {
  pugi::xml_document doc;
  parse_xml(doc, xml, where);
  const pugi::xml_node root = root_element(doc, {"bulletin"}, where);
  Bulletin bulletin = read_bulletin_fields(root, where, warnings);
  for (const pugi::xml_node id : children(required_vib_list(root, where, "bulletin " + bulletin.id), "vibID")) {
    if (std::string text = text_of(id); !text.empty()) bulletin.vib_ids.push_back(std::move(text));
  }
  bulletin.described_by = member;
  return bulletin;
}

ImageProfile parse_profile_document(std::string_view xml, const std::string& where, const std::string& member) {
  pugi::xml_document doc;
  parse_xml(doc, xml, where);
  const pugi::xml_node root = doc.document_element();
  if (!named(root, "imageProfile", true)) root_element(doc, {"imageProfile"}, where);  // throws, naming the root
  ImageProfile profile;
  profile.name = text_of(child(root, "name", true));
  if (profile.name.empty()) fail(where, "an image profile has no <name>");
  // The VIB list is written <vibList><vib><vibid/></vib></vibList>; tolerate <vibID> directly in it too.
  for (pugi::xml_node item = required_vib_list(root, where, "image profile " + profile.name).first_child(); item;
       item = item.next_sibling()) {
    const pugi::xml_node id = named(item, "vib", true) ? child(item, "vibid", true) : item;
    if (!named(id, "vibid", true)) continue;
    if (std::string text = text_of(id); !text.empty()) profile.vib_ids.push_back(std::move(text));
  }
  profile.described_by = member;
  return profile;
}

VmwareXml parse_vmware_xml(std::string_view xml, const std::string& where, std::vector<std::string>& warnings) {
  pugi::xml_document doc;
  parse_xml(doc, xml, where);
  const pugi::xml_node root = root_element(doc, {"metadataResponse"}, where);
  VmwareXml out;
  for (const pugi::xml_node node : children(root, "bulletin")) {
    Bulletin bulletin = read_bulletin_fields(node, where, warnings);
    const pugi::xml_node list = required_vib_list(node, where, "bulletin " + bulletin.id);
    for (pugi::xml_node item = list.first_child(); item; item = item.next_sibling()) {
      if (named(item, "vibID")) {  // a bare id: the VIB is described elsewhere
        if (std::string text = text_of(item); !text.empty()) bulletin.vib_ids.push_back(std::move(text));
      } else if (named(item, "vib")) {
        ListedVib listed = read_listed_vib(item, bulletin.id, where);
        bulletin.vib_ids.push_back(listed.vib.id);
        out.vibs.push_back(std::move(listed));
      }
    }
    bulletin.described_by = "vmware.xml";
    out.bulletins.push_back(std::move(bulletin));
  }
  return out;
}

}  // namespace esxmirror::source::depot::detail

namespace esxmirror::source::depot {

std::optional<std::string> iso_date(std::string_view text_in) {
  const std::string text = util::trim(text_in);
  const auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(text[i])) != 0; };
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  for (const std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!digit(i)) return std::nullopt;
  if (text.size() > 10 && text[10] != 'T' && text[10] != ' ') return std::nullopt;  // a time may follow
  const int year = std::stoi(text.substr(0, 4)), month = std::stoi(text.substr(5, 2));
  const int day = std::stoi(text.substr(8, 2));
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return std::nullopt;
  return text.substr(0, 10);
}

}  // namespace esxmirror::source::depot
