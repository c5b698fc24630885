#pragma once
// Mirroring one VMware online depot (issue 8): documents -> VIB plan -> VIBs -> publication, under
// <dest>/<name>/ at upstream's relative paths, so the mirror is itself a depot hosts can use.
#include <map>
#include <optional>
#include <string>

#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/net/transfer.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

struct DepotSource {
  std::string
      stored_url;  // as configured, secrets as placeholders ("https://host/{token}/.../main/vmw-depot-index.xml")
  std::string request_url;  // what is fetched: the secrets filled in
  std::string name;         // the directory it is mirrored under ("main")
};

// The directory a depot source is mirrored under: `renames`' entry for its stored URL, else the last
// directory of its index URL ("main"), or `renames`' entry for that. Throws Error(source) when the URL has
// no directory that can be a name and `renames` names none.
std::string depot_source_name(const std::string& stored_url, const std::map<std::string, std::string>& renames);

// Mirrors `source` into settings.dest / source.name. `index` is the depot index's response when the
// caller already fetched it (to tell the source's kind), else it is fetched here. Fills `outcome` (and the
// run's report: bulletins, failures, warnings, bytes, requests). Throws Error(source) when the depot index
// cannot be read (401/403 with what to do about the token), Error(storage) when the mirror cannot be
// written, Error(interrupted) on SIGINT/SIGTERM.
void mirror_depot(const SyncSettings& settings, const DepotSource& source, store::Database& db, RunReport& report,
                  SourceReport& outcome, const util::Clock& clock, std::optional<net::Response> index = std::nullopt);

}  // namespace esxmirror
