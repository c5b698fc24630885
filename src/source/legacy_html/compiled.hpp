#pragma once
// Private to the legacy HTML source: the compiled form of a RuleSpec and the matching primitives the
// page parser runs over it.
#include <re2/re2.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "esxmirror/source/legacy_html.hpp"

namespace esxmirror::source {

struct Rules::Compiled {
  // Rule name -> its alternatives in order. Every name of RuleSpec::names() is present (possibly
  // with no alternatives, when the spec disabled the rule with an empty list).
  std::map<std::string, std::vector<std::unique_ptr<const re2::RE2>>, std::less<>> rules;

  const std::vector<std::unique_ptr<const re2::RE2>>& alternatives(std::string_view name) const;
};

namespace detail {

// One capture: the text of group 1 and where it starts in the searched text.
struct Capture {
  std::size_t offset = 0;
  std::string_view text;
};

// Single-valued rule: group 1 of the first alternative (in order) that captures something other
// than whitespace (later matches of an alternative are tried when its first captures only blanks).
// False when no alternative does.
bool first_capture(const Rules::Compiled& rules, std::string_view name, std::string_view text, Capture& out);

// Multi-valued rule: group 1 of every match of every alternative, sorted by position in `text`.
std::vector<Capture> all_captures(const Rules::Compiled& rules, std::string_view name, std::string_view text);

// Options every rule pattern is compiled with: case-insensitive, bytes as Latin-1 (any input is
// valid, binary garbage included), errors returned rather than logged. `.` does not span lines unless
// the pattern asks with (?s).
re2::RE2::Options rule_options();

// A bundle id as pages write it ("ESX-1000039", "ESX350-200802401-BG"), as group 1: the built-in rules
// find it in headings and titles, the parser in lists of superseded patches.
inline constexpr const char* kBundleIdPattern = R"((ESX[a-z0-9]*-\d[a-z0-9]*(?:-[a-z0-9]+)*))";

}  // namespace detail
}  // namespace esxmirror::source
