// The XML plumbing of the depot readers: parse errors as one line with a line number, lookups by
// local name, trimmed text.
#include "source/depot/xml.hpp"

#include <algorithm>

#include "esxmirror/source/depot/error.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror::source::depot::detail {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

void fail(const std::string& document, const std::string& problem) { throw FormatError(document + ": " + problem); }

void parse_xml(pugi::xml_document& out, std::string_view bytes, const std::string& document) {
  const pugi::xml_parse_result result = out.load_buffer(bytes.data(), bytes.size(), pugi::parse_default);
  if (result) return;
  const auto offset = static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(result.offset, 0, bytes.size()));
  const auto line = 1 + std::count(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
  fail(document, std::string("invalid XML: ") + result.description() + " at line " + std::to_string(line));
}

pugi::xml_node root_element(const pugi::xml_document& doc, const std::vector<std::string_view>& expected,
                            const std::string& document) {
  const pugi::xml_node root = doc.document_element();
  for (const std::string_view name : expected)
    if (root && named(root, name)) return root;
  std::string wanted;
  for (const std::string_view name : expected) wanted += (wanted.empty() ? "<" : " or <") + std::string(name) + ">";
  const std::string found = root ? "<" + std::string(root.name()) + ">" : "no element at all";
  fail(document, "not a depot document: expected " + wanted + ", found " + found);
}

std::string_view local_name(pugi::xml_node node) {
  const std::string_view name = node.name();
  const std::size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool named(pugi::xml_node node, std::string_view name, bool ignore_case) {
  if (node.type() != pugi::node_element) return false;
  return ignore_case ? equal_ignoring_case(local_name(node), name) : local_name(node) == name;
}

pugi::xml_node child(pugi::xml_node parent, std::string_view name, bool ignore_case) {
  for (pugi::xml_node node = parent.first_child(); node; node = node.next_sibling())
    if (named(node, name, ignore_case)) return node;
  return {};
}

std::vector<pugi::xml_node> children(pugi::xml_node parent, std::string_view name, bool ignore_case) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node node = parent.first_child(); node; node = node.next_sibling())
    if (named(node, name, ignore_case)) out.push_back(node);
  return out;
}

std::string text_of(pugi::xml_node node) { return node ? util::trim(node.text().get()) : std::string(); }

std::string child_text(pugi::xml_node parent, std::string_view name) { return text_of(child(parent, name)); }

std::string required_text(pugi::xml_node parent, std::string_view name, const std::string& document,
                          const std::string& what) {
  std::string value = child_text(parent, name);
  if (value.empty()) fail(document, what + " has no <" + std::string(name) + ">");
  return value;
}

std::string attribute(pugi::xml_node node, std::string_view name) {
  for (pugi::xml_attribute attr = node.first_attribute(); attr; attr = attr.next_attribute())
    if (std::string_view(attr.name()) == name) return util::trim(attr.value());
  return "";
}

}  // namespace esxmirror::source::depot::detail
