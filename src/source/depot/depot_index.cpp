// The depot index (vmw-depot-index.xml / index.xml): <vendorList> of <vendor>.
#include <string>

#include "esxmirror/source/depot/index.hpp"
#include "source/depot/xml.hpp"

namespace esxmirror::source::depot {

using namespace detail;

std::string Vendor::index_reference() const {
  if (index_file.find("://") != std::string::npos || relative_path.empty()) return index_file;
  return relative_path + (relative_path.back() == '/' ? "" : "/") + index_file;
}

bool is_depot_index(std::string_view xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size(), pugi::parse_default)) return false;
  return named(doc.document_element(), "vendorList");
}

DepotIndex parse_depot_index(std::string_view xml, const std::string& document) {
  pugi::xml_document doc;
  parse_xml(doc, xml, document);
  const pugi::xml_node root = root_element(doc, {"vendorList"}, document);
  DepotIndex out;
  for (const pugi::xml_node node : children(root, "vendor")) {
    Vendor vendor;
    vendor.name = child_text(node, "name");
    vendor.code = child_text(node, "code");
    const std::string label = !vendor.name.empty()   ? vendor.name
                              : !vendor.code.empty() ? vendor.code
                                                     : std::to_string(out.vendors.size() + 1);
    vendor.index_file = required_text(node, "indexfile", document, "vendor '" + label + "'");
    vendor.relative_path = child_text(node, "relativePath");
    vendor.patch_url = child_text(node, "patchUrl");
    for (const pugi::xml_node content : children(node, "content"))
      vendor.content.push_back({child_text(content, "name"), child_text(content, "type")});
    out.vendors.push_back(std::move(vendor));
  }
  if (out.vendors.empty()) fail(document, "the depot index lists no <vendor>");
  return out;
}

}  // namespace esxmirror::source::depot
