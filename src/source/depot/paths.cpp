// URL -> place in the mirror. Every relative path is checked segment by segment before and after
// resolution, so nothing a depot document says can put a file outside <dest>/<name>/.
#include <string>
#include <vector>

#include "esxmirror/source/depot/paths.hpp"
#include "esxmirror/util/strings.hpp"
#include "esxmirror/util/url.hpp"
#include "esxmirror/util/url_parts.hpp"
#include "source/depot/xml.hpp"

namespace esxmirror::source::depot {
namespace {

using detail::fail;

constexpr std::string_view kTokenPlaceholder = "{token}";

bool has_separator_or_nul(std::string_view text) {
  return text.find_first_of(std::string_view("/\\\0", 3)) != std::string_view::npos;
}

// One path segment as it will be named on disk, or a refusal naming the document and the reference.
std::string disk_segment(std::string_view raw, const std::string& shown, const std::string& document) {
  if (raw.empty()) fail(document, "path " + shown + " holds an empty segment");
  const std::string decoded = util::percent_decode(raw);
  if (decoded == "." || decoded == "..") fail(document, "path " + shown + " leads out of the depot");
  if (has_separator_or_nul(decoded)) fail(document, "path " + shown + " holds an encoded '/', '\\' or NUL");
  return decoded;
}

// Checks a relative reference as written, before libcurl resolves (and so hides) its dot segments.
void check_relative_reference(const std::string& reference, const std::string& shown, const std::string& document) {
  if (reference.front() == '/') fail(document, "path " + shown + " is absolute; depot paths are relative");
  const std::string path = reference.substr(0, reference.find_first_of("?#"));
  if (path.empty()) fail(document, "path " + shown + " names no file");
  if (path.back() == '/') fail(document, "path " + shown + " names a directory, not a file");
  for (const std::string& segment : util::split(path, '/')) {
    if (segment == "." || segment == "..") continue;  // resolved below, and refused there if they leave
    disk_segment(segment, shown, document);
  }
}

}  // namespace

DepotLayout::DepotLayout(const std::string& depot_index_url, const std::string& document) {
  const auto parts = util::split_url(depot_index_url);
  if (!parts) fail(document, "the depot index URL is not an absolute URL");
  const std::size_t slash = parts->path.rfind('/');
  index_file_ = util::percent_decode(parts->path.substr(slash + 1));
  if (index_file_.empty() || has_separator_or_nul(index_file_) || index_file_ == "." || index_file_ == "..")
    fail(document, "the depot index URL names a directory, not the index file (vmw-depot-index.xml)");
  root_scheme_ = parts->scheme;
  root_host_ = parts->host;
  root_port_ = parts->port;
  root_path_ = parts->path.substr(0, slash + 1);
  const auto root = util::resolve_url(depot_index_url, "./");
  if (!root) fail(document, "cannot resolve the directory of the depot index");
  root_url_ = root->substr(0, root->find_first_of("?#"));
}

Placement DepotLayout::place(const std::string& document_url, const std::string& reference,
                             const std::string& document) const {
  // An absolute URL may carry the download token (it is the depot's own URL): errors never quote it.
  const bool absolute = util::split_url(reference).has_value();
  std::string shown = absolute ? "(an absolute URL)" : "'" + reference + "'";
  if (util::trim(reference).empty()) fail(document, "an empty path where a file was expected");
  if (reference.find('\\') != std::string::npos) fail(document, "path " + shown + " holds a backslash");
  if (reference.find('\0') != std::string::npos) fail(document, "a path holds a NUL byte");  // unquotable

  if (!absolute) check_relative_reference(reference, shown, document);
  const auto resolved = util::resolve_url(document_url, reference);
  const auto parts = resolved ? util::split_url(*resolved) : std::nullopt;
  if (!parts) fail(document, "cannot resolve path " + shown);

  const bool under_root = parts->scheme == root_scheme_ && parts->host == root_host_ && parts->port == root_port_ &&
                          parts->path.compare(0, root_path_.size(), root_path_) == 0;
  if (!under_root) {
    if (!absolute) fail(document, "path " + shown + " leads out of the depot");
    return Placement{false, *resolved, ""};
  }
  const std::string rest = parts->path.substr(root_path_.size());
  if (absolute) shown = "'" + rest + "' (an absolute URL into the depot)";
  if (rest.empty() || rest.back() == '/') fail(document, "path " + shown + " names a directory, not a file");
  std::string relative;
  for (const std::string& segment : util::split(rest, '/'))
    relative += (relative.empty() ? "" : "/") + disk_segment(segment, shown, document);
  return Placement{true, *resolved, relative};
}

std::string depot_name(const std::string& configured_url, const std::string& document) {
  // libcurl may refuse '{' and '}'; a placeholder keeps the URL parseable and the token recognisable.
  std::string url = configured_url;
  const std::string placeholder = "esxmirror-token-placeholder";
  for (std::size_t at = url.find(kTokenPlaceholder); at != std::string::npos; at = url.find(kTokenPlaceholder, at))
    url.replace(at, kTokenPlaceholder.size(), placeholder);
  const auto parts = util::split_url(url);
  if (!parts) fail(document, "the depot index URL is not an absolute URL");
  const std::string& path = parts->path;
  const std::size_t file_slash = path.rfind('/');
  const std::size_t dir_slash =
      file_slash == 0 || file_slash == std::string::npos ? std::string::npos : path.rfind('/', file_slash - 1);
  const std::string hint = "; name the mirror in the config";
  if (dir_slash == std::string::npos)
    fail(document, "the depot index URL has no directory to name the mirror after" + hint);
  const std::string name = util::percent_decode(path.substr(dir_slash + 1, file_slash - dir_slash - 1));
  if (name == placeholder) fail(document, "the depot index URL's last directory is {token}" + hint);
  if (name.empty() || name == "." || name == ".." || has_separator_or_nul(name) || name.front() == '.')
    fail(document, "the depot index URL's last directory '" + name + "' cannot name a directory" + hint);
  return name;
}

}  // namespace esxmirror::source::depot
