#pragma once
// What a prune removed (or, in a dry run, would remove): the `prune` output, and the `pruned` part of a
// sync's report when prune_after_sync is set (core/prune.hpp runs it).
#include <cstdint>
#include <string>
#include <vector>

namespace esxmirror {

// One thing retention removes, and what that frees.
struct RemovalCandidate {
  std::string kind;                   // "bundle": a legacy bundle
  std::string id;                     // "ESX-1001724"
  std::string source;                 // "legacy": the patch pages (a depot's name, later)
  std::vector<std::string> versions;  // the versions it was needed under, sorted; newer content covers each
  std::vector<std::string> paths;     // relative to dest, in removal order: its directory, then its links
  std::uint64_t bytes = 0;            // what its removal frees
  std::string reason;                 // "superseded by ESX-1002087 under 3.0.2"
  bool interrupted = false;           // decided by a run that did not finish; this one finishes it
};

struct PruneReport {
  bool dry_run = false;
  bool stopped = false;                   // SIGINT/SIGTERM: the rest is finished by the next prune
  std::vector<std::string> policies;      // each kind's ContentKind::policy
  std::vector<RemovalCandidate> removed;  // removed (dry run: would be), in order

  // The bytes their removal frees.
  std::uint64_t bytes() const;
};

}  // namespace esxmirror
