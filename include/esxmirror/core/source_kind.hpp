#pragma once
// Telling a --source's kind: a legacy HTML patch index, a VMware online depot (DESIGN §2), or another
// esxmirror's manifest.json.
#include <optional>
#include <string>

#include "esxmirror/core/settings.hpp"
#include "esxmirror/net/transfer.hpp"
#include "esxmirror/store/database.hpp"

namespace esxmirror {

struct DetectedSource {
  SourceKind kind = SourceKind::legacy_html;
  // The source's index when it was read to tell its kind (handed on, so it is not read twice); its
  // outcome may be a failure, which the source's pipeline then reports in its own words (401/403...).
  std::optional<net::Response> index;
};

// --source-kind when forced; else the kind an earlier run recorded for `stored_url` (the sources table;
// a mirror: the upstream manifest kept as a page row; a legacy index read before schema 3: its page
// row); else the URL is read once: a document whose root is <vendorList> is a depot, a JSON object with
// "generator": "esxmirror" or an esxmirror index.html a mirror, anything else a legacy index. When that
// read fails, the kind is guessed from the URL (an .xml file or a {token}: a depot; a .json file: a
// mirror) so the failure is told in the right words. Never throws for the source's own failures; throws
// Error(interrupted) on SIGINT/SIGTERM.
DetectedSource detect_source(const SyncSettings& settings, store::Database& db, const std::string& stored_url);

}  // namespace esxmirror
