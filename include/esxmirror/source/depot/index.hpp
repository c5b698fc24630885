#pragma once
// The depot's two index documents (DESIGN §8): the depot index (vmw-depot-index.xml or index.xml, a
// <vendorList>) and each vendor's index (a <metaList>, or <metadataList> in UMDS stores).
// `document` in every signature is how errors name the input (a masked URL or a file name).
#include <string>
#include <string_view>
#include <vector>

namespace esxmirror::source::depot {

// One <content> of a vendor: what kind of software its index lists.
struct VendorContent {
  std::string name;  // "VMware ESX"
  std::string type;  // "http://www.vmware.com/depotmanagement/esx"
  bool operator==(const VendorContent&) const = default;
};

// One <vendor> of the depot index.
struct Vendor {
  std::string name;           // "VMware, Inc."
  std::string code;           // "vmw"
  std::string index_file;     // "vmw-esx-index.xml"
  std::string relative_path;  // "esx/vmw/": the vendor index's directory, relative to the depot index's
  std::string patch_url;      // as written; VMware's depots leave it empty and it does not move the index
  std::vector<VendorContent> content;

  // relative_path + index_file ("esx/vmw/vmw-esx-index.xml"): the vendor index as a reference
  // relative to the depot index, to be placed with DepotLayout::place.
  std::string index_reference() const;
  bool operator==(const Vendor&) const = default;
};

struct DepotIndex {
  std::vector<Vendor> vendors;  // in document order
};

// True when `xml` is well-formed and its root element is <vendorList>: how a depot source is told
// from a legacy HTML index. Never throws.
bool is_depot_index(std::string_view xml);

// The vendors of a depot index. Throws FormatError: invalid XML, a root other than <vendorList>, no
// <vendor>, or a vendor without <indexfile>.
DepotIndex parse_depot_index(std::string_view xml, const std::string& document);

// One <metadata> of a vendor index: a metadata zip and what it is for.
struct MetadataEntry {
  std::string product_id;    // "embeddedEsx", "esxio"
  std::string version;       // "8.0.3", or a pattern such as "8.0.*"
  std::string locale;        // usually empty
  std::string url;           // the metadata zip, relative to the vendor index's directory (or absolute)
  std::string channel_name;  // "default"
  std::string patch_url;     // usually empty
  bool operator==(const MetadataEntry&) const = default;
};

struct VendorIndex {
  std::string root;                    // "metaList" or "metadataList", as the document says
  std::vector<MetadataEntry> entries;  // in document order
};

// The entries of a vendor index. Throws FormatError: invalid XML, a root other than <metaList> or
// <metadataList>, or an entry without <productId> or <url>.
VendorIndex parse_vendor_index(std::string_view xml, const std::string& document);

// The vendor index listing only the entries equal to one of `keep` (entries of `keep` the document does
// not hold are ignored), everything else about them as upstream wrote it. Deterministic and idempotent:
// the same input gives the same bytes (no timestamps), and rewriting the result with the same `keep`
// gives it back unchanged, so a mirror of a mirror is byte-identical. Throws FormatError as
// parse_vendor_index does.
std::string rewrite_vendor_index(std::string_view xml, const std::string& document,
                                 const std::vector<MetadataEntry>& keep);

}  // namespace esxmirror::source::depot
