#pragma once
// Where depot files land in the mirror (issue 8 §2, §3). URLs resolve relative to the directory of the
// document naming them; a file inside the depot (under the depot index's directory) sits at its path
// relative to that directory; a URL outside it is reported as outside (the caller warns and skips).
#include <string>

namespace esxmirror::source::depot {

// One URL named by a depot document, resolved.
struct Placement {
  bool inside = false;        // false: outside the depot, not mirrored
  std::string url;            // absolute URL to fetch (holds the token when the depot's URL does)
  std::string relative_path;  // inside only: "esx/vmw/vib20/esx-base/VMware_bootbank_....vib", decoded
};

class DepotLayout {
 public:
  // `depot_index_url`: the URL the depot index is fetched from (the token filled in); `document` names it
  // in errors. Throws FormatError when it is not an absolute URL with a file name.
  DepotLayout(const std::string& depot_index_url, const std::string& document);

  // The directory of the depot index, ending in '/': the root of the depot and of its mirror.
  const std::string& root_url() const { return root_url_; }
  // The depot index's own place: its file name ("vmw-depot-index.xml" or "index.xml").
  const std::string& index_file() const { return index_file_; }

  // `reference` as written in the document fetched from `document_url` (named `document` in errors).
  // Throws FormatError, naming the document and the reference, for a relative reference that is empty,
  // an absolute path, holds a backslash, NUL or an empty segment, names a directory, or would lead out
  // of the depot ("../.." past its root, "%2e%2e"). An absolute URL never throws for being outside: it
  // comes back with inside == false.
  Placement place(const std::string& document_url, const std::string& reference, const std::string& document) const;

 private:
  std::string root_url_;
  std::string root_scheme_, root_host_, root_port_, root_path_;
  std::string index_file_;
};

// The depot's name, what it is mirrored under: the last directory of the depot index URL as configured
// ("https://dl.broadcom.com/{token}/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml" -> "main"). Pass the
// URL before "{token}" is filled in. Throws FormatError naming `document` when there is no directory,
// or the last one is "{token}" or not a usable directory name (config can name the mirror instead).
std::string depot_name(const std::string& configured_url, const std::string& document);

}  // namespace esxmirror::source::depot
