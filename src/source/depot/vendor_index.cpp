// The vendor index (<metaList>, or <metadataList> in UMDS stores) and its rewrite for the mirror.
#include <algorithm>
#include <sstream>
#include <string>

#include "esxmirror/source/depot/index.hpp"
#include "source/depot/xml.hpp"

namespace esxmirror::source::depot {
namespace {

using namespace detail;

const std::vector<std::string_view> kRoots = {"metaList", "metadataList"};

// `position` is 1-based, for errors about an entry that has no url to be named by.
MetadataEntry read_entry(pugi::xml_node node, std::size_t position, const std::string& document) {
  MetadataEntry entry;
  entry.url = child_text(node, "url");
  const std::string label =
      "<metadata> entry " + std::to_string(position) + (entry.url.empty() ? std::string() : " (" + entry.url + ")");
  if (entry.url.empty()) fail(document, label + " has no <url>");
  entry.product_id = required_text(node, "productId", document, label);
  entry.version = child_text(node, "version");
  entry.locale = child_text(node, "locale");
  entry.channel_name = child_text(node, "channelName");
  entry.patch_url = child_text(node, "patchUrl");
  return entry;
}

}  // namespace

VendorIndex parse_vendor_index(std::string_view xml, const std::string& document) {
  pugi::xml_document doc;
  parse_xml(doc, xml, document);
  const pugi::xml_node root = root_element(doc, kRoots, document);
  VendorIndex out;
  out.root = std::string(local_name(root));
  std::size_t position = 0;
  for (const pugi::xml_node node : children(root, "metadata"))
    out.entries.push_back(read_entry(node, ++position, document));
  return out;
}

std::string rewrite_vendor_index(std::string_view xml, const std::string& document,
                                 const std::vector<MetadataEntry>& keep) {
  pugi::xml_document doc;
  parse_xml(doc, xml, document);
  pugi::xml_node root = root_element(doc, kRoots, document);
  std::size_t position = 0;
  for (const pugi::xml_node node : children(root, "metadata")) {
    const MetadataEntry entry = read_entry(node, ++position, document);
    if (std::find(keep.begin(), keep.end(), entry) == keep.end()) root.remove_child(node);
  }
  // The default parse drops comments, processing instructions, the declaration and whitespace between
  // elements; the output re-indents and always starts with the same declaration. Parsing the output
  // again therefore yields the same tree, and saving it the same bytes.
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_indent | pugi::format_no_empty_element_tags, pugi::encoding_utf8);
  return out.str();
}

}  // namespace esxmirror::source::depot
