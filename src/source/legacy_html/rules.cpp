// The rule set: names, the built-in vi3 profile, compilation, and the two ways a rule is matched.
//
// Every pattern has exactly one capture group and is compiled case-insensitive over bytes (Latin-1),
// so `[^<]` also matches stray 8-bit bytes. `.` does not span lines unless the pattern says (?s).
// Rules and what their group captures:
//   index_link         (index page, every match) href of a detail page, "1000039-patch.html"
//   patch_name         bundle id from the heading, "ESX-1000039"; the id when no file is named
//   version_block      (every match of every alternative) text listing versions: the dialect-1
//                      "Download Patch ... for VMware ESX Server 3.0.1" heading, the "Product Versions" cell
//   version            (every match, run over each version block) one version token, "3.0.1a"
//   release_date       the date text, "3/29/07" or "March 29, 2007" (normalise_date reads it)
//   download_url       href of the "Download Now" link (entities allowed; relative or absolute)
//   download_filename  the "Download Filename" cell, "ESX-1002087.tgz" (empty for a KB note)
//   md5                the md5sum (kept only when it is 32 hex digits)
//   classification     the "Patch Classification" text, "General"
//   supersedes         text naming superseded patches; every ESX id in it is taken
// Single-valued rules take the first alternative, in order, that captures non-blank text.
#include <algorithm>

#include "esxmirror/core/error.hpp"
#include "esxmirror/util/strings.hpp"
#include "source/legacy_html/compiled.hpp"

namespace esxmirror::source {
namespace {

re2::RE2::Options make_options() {
  re2::RE2::Options options;
  options.set_encoding(re2::RE2::Options::EncodingLatin1);
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  return options;
}

}  // namespace

RuleSpec RuleSpec::vi3() {
  // Building blocks (locals, so vi3() is safe to call during static initialisation elsewhere).
  const std::string kInlineNames = "b|strong|i|em|u|font|span|big|small|tt|code";
  const std::string kInline = "(?:" + kInlineNames + ")";
  // Between the words of a label: blanks or non-breaking spaces ("Release&nbsp;Date").
  const std::string kGap = R"((?:\s|&nbsp;|&#160;)+)";
  // After a label: blanks, a colon, closing tags, then the value cell and any inline tags or link
  // opening it. Never past the cell: an empty cell captures nothing rather than the next row.
  const std::string kToCell =
      R"((?:\s|&nbsp;|&#160;|:|</[^>]*>)*<t[dh]\b[^>]*>(?:\s|&nbsp;|&#160;|<(?:)" + kInlineNames + R"(|a)\b[^>]*>)*)";
  // After a label outside a table: inline tags and blanks around a required colon.
  const std::string kToInlineValue =
      R"((?:\s|&nbsp;|&#160;|</?)" + kInline + R"(\b[^>]*>)*:(?:\s|&nbsp;|&#160;|</?)" + kInline + R"(\b[^>]*>)*)";
  // Text of a value that may carry inline markup and links (lists of versions or patches).
  const std::string kMarkedUpText = R"(((?:[^<]|</?(?:)" + kInlineNames + R"(|a|br)\b[^>]*>)*))";
  const std::string kBundleId = detail::kBundleIdPattern;
  const std::string kAnchorHref = R"(<a\s(?:[^>]*?\s)?href\s*=\s*["']?\s*)";
  // Single-valued "Label: value" in both dialects: the table cell first, then inline text.
  auto labelled = [&](const std::string& label) -> std::vector<std::string> {
    return {label + kToCell + "([^<]*)", label + kToInlineValue + "([^<]*)"};
  };

  RuleSpec spec;
  auto& p = spec.patterns;
  p["index_link"] = {R"(\shref\s*=\s*["']?\s*([^"'\s<>]*?\d+-patch\.html?)(?:[?#][^"'\s<>]*)?(?:["'\s>]|$))"};
  p["patch_name"] = {
      "Download" + kGap + R"(Patch(?:\s|&nbsp;|&#160;|</?)" + kInline + R"(\b[^>]*>)+)" + kBundleId,
      R"(<title\b[^>]*>[^<]*?\b)" + kBundleId,
      R"(<h[1-6]\b[^>]*>(?:\s|&nbsp;|&#160;|:|Patch|</?)" + kInline + R"(\b[^>]*>)*)" + kBundleId,
      R"(\bPatch\s+(?:ID|Name)(?:\s|&nbsp;|&#160;|:|</?[a-z][^>]*>)*)" + kBundleId,
  };
  p["version_block"] = {
      "Download" + kGap + R"(Patch\b)" + kMarkedUpText,
      "Product" + kGap + "Versions?" + kToCell + kMarkedUpText,
      "Product" + kGap + "Versions?" + kToInlineValue + kMarkedUpText,
  };
  p["version"] = {
      R"(\bESX(?:\s+Server|i)?\s+(\d+(?:\.\d+)+[a-z0-9]*))",
      R"((?:,\s*|\s(?:and|or)\s+)(\d+(?:\.\d+)+[a-z0-9]*))",
  };
  p["release_date"] = labelled("Release" + kGap + "Date");
  p["release_date"].push_back(R"(>\s*Released(?:\s+on)?\b(?:\s|&nbsp;|&#160;|:|</?)" + kInline +
                              R"(\b[^>]*>)*([^<]*))");
  p["download_url"] = {
      kAnchorHref + R"(([^"'\s>]+)[^>]*>(?:\s|&nbsp;|&#160;|<(?:)" + kInlineNames + R"(|img)\b[^>]*>)*Download\s+Now)",
      kAnchorHref + R"(([^"'\s>]+?(?:\.|&#46;|&#x2e;)(?:tgz|tar\.gz|tar|zip))(?:["'\s>]|$))",
  };
  p["download_filename"] = labelled("Download" + kGap + R"(File(?:\s|&nbsp;|&#160;)*name)");
  p["md5"] = {
      R"(\bMD5(?:\s*sum|\s+checksum|\s+hash)?(?:\s|&nbsp;|&#160;|:|</?[a-z][^>]*>)*([0-9a-f]{32})\b)",
      R"(\bMD5(?:\s*sum|\s+checksum|\s+hash)?)" + kToCell + "([^<]*)",
  };
  p["classification"] = labelled(R"(Classification)");
  p["supersedes"] = {
      R"(Supersedes)" + kToCell + kMarkedUpText,
      R"(Supersedes(?:\s|&nbsp;|&#160;|:|</?)" + kInline + R"(\b[^>]*>)*((?:[^<.;]|</?(?:)" + kInlineNames +
          R"(|a|br)\b[^>]*>)*))",
  };
  return spec;
}

const std::vector<std::string>& RuleSpec::names() {
  static const std::vector<std::string> all = {"index_link",     "patch_name",   "version_block",     "version",
                                               "release_date",   "download_url", "download_filename", "md5",
                                               "classification", "supersedes"};
  return all;
}

Rules::Rules(const RuleSpec& spec) : compiled_(std::make_unique<Compiled>()) {
  const auto& known = RuleSpec::names();
  for (const auto& [name, alternatives] : spec.patterns) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      throw Error(ExitCode::usage, "unknown rule '" + name + "' (known rules: " + util::join(known, ", ") + ")");
    }
  }
  // A rule the spec leaves out keeps its built-in patterns, so a config file names only what it changes.
  const RuleSpec defaults = RuleSpec::vi3();
  const re2::RE2::Options options = detail::rule_options();
  for (const auto& name : known) {
    auto given = spec.patterns.find(name);
    const auto& patterns = given != spec.patterns.end() ? given->second : defaults.patterns.at(name);
    auto& compiled = compiled_->rules[name];
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      const std::string where = "rule '" + name + "' pattern " + std::to_string(i + 1) + ": ";
      auto re = std::make_unique<const re2::RE2>(patterns[i], options);
      if (!re->ok()) {
        throw Error(ExitCode::usage, where + re->error() + " (fix the pattern under [rules] in the config file)");
      }
      if (re->NumberOfCapturingGroups() != 1) {
        throw Error(ExitCode::usage, where + "needs exactly one capture group, has " +
                                         std::to_string(re->NumberOfCapturingGroups()) + " (use (?:...) for grouping)");
      }
      compiled.push_back(std::move(re));
    }
  }
}

Rules::~Rules() = default;

const std::vector<std::unique_ptr<const re2::RE2>>& Rules::Compiled::alternatives(std::string_view name) const {
  static const std::vector<std::unique_ptr<const re2::RE2>> none;
  auto it = rules.find(name);
  return it == rules.end() ? none : it->second;
}

namespace detail {

re2::RE2::Options rule_options() {
  static const re2::RE2::Options options = make_options();
  return options;
}

namespace {

// Calls `on_match(capture)` for every match of `re` in `text`, in order, until it returns false.
template <typename OnMatch>
void for_each_match(const re2::RE2& re, std::string_view text, OnMatch on_match) {
  const re2::StringPiece input(text.data(), text.size());
  re2::StringPiece groups[2];
  std::size_t pos = 0;
  while (pos <= text.size()) {
    if (!re.Match(input, pos, input.size(), re2::RE2::UNANCHORED, groups, 2)) return;
    const auto match_begin = static_cast<std::size_t>(groups[0].data() - text.data());
    const std::size_t match_end = match_begin + groups[0].size();
    if (groups[1].data() != nullptr) {
      Capture capture;
      capture.offset = static_cast<std::size_t>(groups[1].data() - text.data());
      capture.text = std::string_view(groups[1].data(), groups[1].size());
      if (!on_match(capture)) return;
    }
    // An empty match must still move forward.
    pos = match_end > pos ? match_end : pos + 1;
  }
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); });
}

}  // namespace

bool first_capture(const Rules::Compiled& rules, std::string_view name, std::string_view text, Capture& out) {
  for (const auto& re : rules.alternatives(name)) {
    bool found = false;
    for_each_match(*re, text, [&](const Capture& capture) {
      if (blank(capture.text)) return true;
      out = capture;
      found = true;
      return false;
    });
    if (found) return true;
  }
  return false;
}

std::vector<Capture> all_captures(const Rules::Compiled& rules, std::string_view name, std::string_view text) {
  std::vector<Capture> captures;
  for (const auto& re : rules.alternatives(name)) {
    for_each_match(*re, text, [&](const Capture& capture) {
      captures.push_back(capture);
      return true;
    });
  }
  std::stable_sort(captures.begin(), captures.end(),
                   [](const Capture& a, const Capture& b) { return a.offset < b.offset; });
  return captures;
}

}  // namespace detail
}  // namespace esxmirror::source
