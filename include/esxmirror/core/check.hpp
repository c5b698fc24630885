#pragma once
// `esxmirror check` (issue 10 §1): what a sync would mirror from each source, learnt cheaply (index
// documents conditionally, a depot's metadata zips by HEAD, a legacy bundle's size by HEAD) and changing
// nothing: the state database is read into memory, no lock is taken, nothing is written under dest.
#include <cstdint>
#include <string>
#include <vector>

#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

// What one --esx-version selects from one source. "Files" are VIBs (depot) or bundles (legacy).
struct VersionCheck {
  std::string version;             // as given
  int metadata = 0;                // depot: selected metadata entries (zips)
  int metadata_unread = 0;         // depot: those changed or new and not read: their files are not counted
  std::uint64_t unread_bytes = 0;  // their size (HEAD)
  int bulletins = 0;               // depot: bulletins of the zips read
  int files = 0;                   // what a sync keeps in the mirror for this version
  std::uint64_t bytes = 0;         // their size, as far as known
  int sizes_unknown = 0;           // legacy: bundles to fetch whose size no HEAD told
  int mirrored = 0;                // already in the mirror (state database, file present)
  std::uint64_t mirrored_bytes = 0;
  int to_fetch = 0;  // what the next sync downloads
  std::uint64_t fetch_bytes = 0;
  int to_link = 0;  // legacy: placed for another version, linked without a download
  int waiting = 0;  // failed before and waiting out a backoff: not fetched next time
};

struct SourceCheck {
  SourceReport source;                 // url (masked), kind, name, exit code and message, requests, metadata
  std::vector<std::string> offered;    // what the source offers: depot "embeddedEsx 8.0.3"; legacy "3.0.1"
  std::vector<VersionCheck> versions;  // one per --esx-version, in order
};

struct CheckReport {
  std::vector<SourceCheck> sources;  // one per --source, in order
  std::vector<std::string> warnings;
  std::uint64_t requests = 0;
  double seconds = 0;
  ExitCode exit_code = ExitCode::ok;  // source (4) when a source could not be read at all; partial (1) when
                                      // some of its documents or pages could not be; else ok
};

// Probes every settings.sources as a dry run of sync would read it (settings.dry_run is implied; with
// settings.probe_metadata a depot's zips are asked for by HEAD). A source that cannot be read is recorded
// in its SourceCheck (the same texts as sync: 401 token expired, 403 not entitled, TLS...) and the others
// are still probed. Throws Error(usage) for a source that is not an http(s) URL (before any request) or
// bad rules, Error(storage) when the state database cannot be read, Error(interrupted) on SIGINT/SIGTERM.
CheckReport check(const SyncSettings& settings, const util::Clock& clock = util::system_clock());

}  // namespace esxmirror
