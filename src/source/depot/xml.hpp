#pragma once
// pugixml helpers shared by the depot's document readers: parsing with one-line errors, and element
// lookup by local name (a "prefix:" is ignored) so a namespaced document reads like a plain one.
#include <pugixml.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace esxmirror::source::depot::detail {

// Throws FormatError("<document>: <problem>").
[[noreturn]] void fail(const std::string& document, const std::string& problem);

// Parses `bytes` into `out`. Throws FormatError "<document>: invalid XML: <reason> at line N". A DOCTYPE
// is skipped and entities other than XML's own are never expanded (no external or billion-laughs input).
void parse_xml(pugi::xml_document& out, std::string_view bytes, const std::string& document);

// The root element; throws FormatError naming `document` when it is not one of `expected`.
pugi::xml_node root_element(const pugi::xml_document& doc, const std::vector<std::string_view>& expected,
                            const std::string& document);

// The element's name without its namespace prefix.
std::string_view local_name(pugi::xml_node node);
// True when the element's local name is `name` (compared exactly, or ignoring ASCII case).
bool named(pugi::xml_node node, std::string_view name, bool ignore_case = false);
// The first child element called `name`; an empty node when there is none.
pugi::xml_node child(pugi::xml_node parent, std::string_view name, bool ignore_case = false);
// Every child element called `name`, in document order.
std::vector<pugi::xml_node> children(pugi::xml_node parent, std::string_view name, bool ignore_case = false);

// The element's text (CDATA included), surrounding whitespace trimmed; "" for an empty node.
std::string text_of(pugi::xml_node node);
// text_of(child(parent, name)).
std::string child_text(pugi::xml_node parent, std::string_view name);
// child_text, but a missing or empty child throws FormatError "<document>: <what> has no <name>".
std::string required_text(pugi::xml_node parent, std::string_view name, const std::string& document,
                          const std::string& what);
// The attribute's value, trimmed; "" when absent.
std::string attribute(pugi::xml_node node, std::string_view name);

}  // namespace esxmirror::source::depot::detail
