// Index and detail pages -> links and patch records, by the compiled rules. Pure: no I/O, never throws
// on odd input (what is missing stays empty and is noted in PatchRecord::warnings).
#include <algorithm>
#include <array>
#include <string>
#include <unordered_set>
#include <vector>

#include "esxmirror/util/strings.hpp"
#include "esxmirror/util/url.hpp"
#include "source/legacy_html/compiled.hpp"

namespace esxmirror::source {
namespace {

using detail::Capture;

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Markup becomes a space, so "ESX Server<br>3.0.2" still reads as two words.
std::string strip_tags(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  std::size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    const bool tag_start =
        c == '<' && i + 1 < html.size() && (is_letter(html[i + 1]) || html[i + 1] == '/' || html[i + 1] == '!');
    if (!tag_start) {
      out += c;
      ++i;
      continue;
    }
    const std::size_t close = html.find('>', i);
    if (close == std::string_view::npos) break;  // an unterminated tag: the rest is markup
    out += ' ';
    i = close + 1;
  }
  return out;
}

// What a captured piece of page says, as plain text: no tags, entities decoded, blanks collapsed.
std::string clean_text(std::string_view html) {
  std::string text = util::decode_html_entities(strip_tags(html));
  // A decoded &nbsp; (U+00A0 in UTF-8) is a blank for our purposes.
  for (std::size_t pos = text.find("\xC2\xA0"); pos != std::string::npos; pos = text.find("\xC2\xA0", pos)) {
    text.replace(pos, 2, " ");
  }
  return util::collapse_whitespace(text);
}

// A captured href, as the browser would read it.
std::string clean_link(std::string_view raw) { return util::trim(util::decode_html_entities(raw)); }

// Page text quoted in a warning: bounded, on one line.
std::string quoted(std::string_view text) {
  constexpr std::size_t max = 60;
  std::string shown = util::collapse_whitespace(text.substr(0, max * 2));
  if (shown.size() > max || text.size() > max * 2) shown = shown.substr(0, max) + "...";
  return "'" + shown + "'";
}

// Links we are willing to follow: the web schemes, plus whatever scheme the page itself came from
// (an index read from file:// may link its detail pages relatively). Never javascript:, mailto:...
bool followable(const std::string& url, const std::string& page_url, bool allow_ftp) {
  const auto scheme = util::url_scheme(url);
  if (!scheme) return false;
  if (*scheme == "http" || *scheme == "https" || (allow_ftp && *scheme == "ftp")) return true;
  const auto page_scheme = util::url_scheme(page_url);
  return page_scheme && *page_scheme == *scheme;
}

constexpr std::array<std::string_view, 7> kArchiveExtensions = {".tar.gz", ".tar.bz2", ".tar.xz", ".tgz",
                                                                ".tbz2",   ".tar",     ".zip"};

// "ESX-1000039.tgz" -> "ESX-1000039"; empty when the name has no archive extension.
std::string bundle_name(const std::string& filename) {
  const std::string lower = util::to_lower(filename);
  for (std::string_view ext : kArchiveExtensions) {
    if (lower.size() > ext.size() && lower.compare(lower.size() - ext.size(), ext.size(), ext) == 0) {
      return filename.substr(0, filename.size() - ext.size());
    }
  }
  return "";
}

// A download filename cell names a file ("ESX-1002087.tgz"), not "N/A", "none" or a sentence.
bool plausible_filename(const std::string& name) {
  if (name.empty() || name.find('.') == std::string::npos || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return is_letter(c) || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '+' || c == '~';
  });
}

// The id of last resort: the page's own name, "1002088-patch.html" -> "1002088" (its KB number).
std::string page_name(const std::string& page_url) {
  std::string name = util::url_filename(page_url);
  if (name.empty()) {
    const std::size_t slash = page_url.find_last_of("/\\");
    name = slash == std::string::npos ? page_url : page_url.substr(slash + 1);
  }
  for (std::string_view suffix : {std::string_view("-patch.html"), std::string_view("-patch.htm"),
                                  std::string_view(".html"), std::string_view(".htm")}) {
    if (name.size() > suffix.size() && util::to_lower(name.substr(name.size() - suffix.size())) == suffix) {
      name.resize(name.size() - suffix.size());
      break;
    }
  }
  return name;
}

std::vector<std::string> bundle_ids_in(std::string_view text) {
  static const re2::RE2 id_pattern(detail::kBundleIdPattern, detail::rule_options());
  std::vector<std::string> ids;
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece id;
  while (re2::RE2::FindAndConsume(&input, id_pattern, &id)) {
    std::string value(id.data(), id.size());
    if (std::find(ids.begin(), ids.end(), value) == ids.end()) ids.push_back(std::move(value));
  }
  return ids;
}

bool is_md5(const std::string& s) {
  return s.size() == 32 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::vector<std::string> versions_on_page(const Rules::Compiled& rules, std::string_view html) {
  std::vector<std::string> versions;
  for (const Capture& block : detail::all_captures(rules, "version_block", html)) {
    const std::string text = clean_text(block.text);
    for (const Capture& version : detail::all_captures(rules, "version", text)) {
      std::string value = util::trim(version.text);
      if (!value.empty() && std::find(versions.begin(), versions.end(), value) == versions.end()) {
        versions.push_back(std::move(value));
      }
    }
  }
  return versions;
}

struct Download {
  std::string url;                     // absolute, followable; empty when the page has none
  std::string filename;                // as the page names it, or the link's last segment
  std::optional<std::string> refused;  // why the page's link cannot be followed
};

Download download_of(const Rules::Compiled& rules, std::string_view html, const std::string& page_url,
                     std::vector<std::string>& warnings) {
  Download download;
  Capture capture;
  std::string filename_cell;
  if (detail::first_capture(rules, "download_filename", html, capture)) {
    const std::string cell = clean_text(capture.text);
    if (plausible_filename(cell)) {
      filename_cell = cell;
    } else {
      warnings.push_back("download filename " + quoted(cell) + " is not a file name; ignored");
    }
  }

  std::string link;
  std::string link_filename;
  if (detail::first_capture(rules, "download_url", html, capture)) {
    link = clean_link(capture.text);
    link_filename = util::url_filename(link);
    const auto resolved = util::resolve_url(page_url, link);
    if (!resolved) {
      download.refused = "download link " + quoted(util::mask_url(link)) + " cannot be resolved against page " +
                         quoted(util::mask_url(page_url));
      warnings.push_back(*download.refused);
    } else if (!followable(*resolved, page_url, true)) {
      download.refused = "download link " + quoted(util::mask_url(*resolved)) + " is not http(s); ignored";
      warnings.push_back(*download.refused);
    } else {
      download.url = *resolved;
      link_filename = util::url_filename(*resolved);
    }
  }

  // A table that names the file but has no link: the file sits beside the page.
  if (link.empty() && !filename_cell.empty()) {
    const auto resolved = util::resolve_url(page_url, filename_cell);
    if (resolved && followable(*resolved, page_url, true)) download.url = *resolved;
  }

  if (!filename_cell.empty()) {
    download.filename = filename_cell;
    if (!link_filename.empty() && link_filename != filename_cell) {
      warnings.push_back("download filename " + quoted(filename_cell) + " differs from the link's file " +
                         quoted(link_filename));
    }
  } else {
    download.filename = link_filename;
  }
  return download;
}

}  // namespace

std::vector<std::string> extract_index_links(const Rules& rules, std::string_view html, const std::string& base_url) {
  std::vector<std::string> links;
  std::unordered_set<std::string> seen;
  for (const Capture& capture : detail::all_captures(rules.compiled(), "index_link", html)) {
    const auto resolved = util::resolve_url(base_url, clean_link(capture.text));
    if (!resolved || !followable(*resolved, base_url, false)) continue;
    if (seen.insert(*resolved).second) links.push_back(*resolved);
  }
  return links;
}

PatchRecord parse_detail_page(const Rules& rules, std::string_view html, const std::string& page_url) {
  const Rules::Compiled& compiled = rules.compiled();
  PatchRecord record;
  record.page_url = page_url;
  Capture capture;

  std::string patch_name;
  if (detail::first_capture(compiled, "patch_name", html, capture)) patch_name = clean_text(capture.text);

  const Download download = download_of(compiled, html, page_url, record.warnings);
  record.set_bundle(download.url, download.filename, std::nullopt);
  record.refused_download = download.refused;

  // The bundle's name is what the archive is called; the heading's name when no archive is named.
  record.id = bundle_name(download.filename);
  if (record.id.empty()) record.id = patch_name;
  if (record.id.empty()) record.id = download.filename;
  if (record.id.empty()) record.id = page_name(page_url);
  if (record.id.empty()) record.id = "unknown";

  record.versions = versions_on_page(compiled, html);
  if (record.versions.empty()) record.warnings.push_back("no ESX version found on page");

  if (detail::first_capture(compiled, "release_date", html, capture)) {
    const std::string text = clean_text(capture.text);
    record.release_date = normalise_date(text);
    if (!record.release_date) record.warnings.push_back("release date " + quoted(text) + " is not a date");
  } else {
    record.warnings.push_back("no release date found");
  }

  bool md5_noted = false;
  if (detail::first_capture(compiled, "md5", html, capture)) {
    const std::string text = clean_text(capture.text);
    if (!is_md5(util::to_lower(text))) {
      record.warnings.push_back("md5 " + quoted(text) + " is not 32 hex digits; ignored");
      md5_noted = true;
    } else if (record.has_bundle()) {
      record.bundle().digest = Digest{Digest::Algorithm::md5, util::to_lower(text)};
    }
  }
  if (!record.md5() && !md5_noted && record.has_bundle()) record.warnings.push_back("no md5 on page");

  if (detail::first_capture(compiled, "classification", html, capture)) {
    record.classification = clean_text(capture.text);
  }

  if (detail::first_capture(compiled, "supersedes", html, capture)) {
    for (std::string& id : bundle_ids_in(clean_text(capture.text))) {
      if (id != record.id) record.supersedes.push_back(std::move(id));
    }
  }
  return record;
}

}  // namespace esxmirror::source
