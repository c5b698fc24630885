#pragma once
// Transfer -> verify -> unpack -> place -> record, for every patch the plan says to fetch.
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "esxmirror/core/plan.hpp"
#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

struct MirrorContext {
  const SyncSettings& settings;
  store::Catalog& catalog;
  RunReport& report;
  const util::Clock& clock;
  // id -> versions it is already placed under (kept as links when a bundle is replaced).
  const std::map<std::string, std::set<std::string>>& placed_versions;
};

// The bundle transfers of one run, fed while the caller is still discovering: each bundle added starts as
// soon as one of settings.jobs transfers is free, and is verified, unpacked, placed and recorded on one
// placement thread that also runs, in order, what the caller posts there (the catalog is written only
// there while this lives). One patch's failure never stops the others.
class BundleMirror {
 public:
  explicit BundleMirror(MirrorContext& context);
  // Without finish() (the caller is ending with an error): waits for the transfers handed to the engine
  // and drops the bundles still waiting for a slot. Never throws.
  ~BundleMirror();
  BundleMirror(const BundleMirror&) = delete;
  BundleMirror& operator=(const BundleMirror&) = delete;

  // Queues a fetch or replace (from one thread at a time).
  void add(PlannedPatch planned);
  // Runs `task` on the placement thread after everything posted before it.
  void post(std::function<void()> task);
  // The same, waiting for it; rethrows what it threw (or the earlier task's error that dropped it).
  void call(const std::function<void()>& task);
  // Waits until every bundle added is settled. Throws Error(storage) when the disk is full or the mirror
  // cannot be written at all.
  void finish();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Fetches, verifies, unpacks and places each `fetch` / `replace` patch, recording each one as it
// completes (a crash loses only what was in flight). One patch's failure never stops the others;
// throws Error(storage) when the disk is full or the mirror cannot be written at all.
void mirror_bundles(const std::vector<PlannedPatch>& work, MirrorContext& context);

// Adds links under the selected versions an already placed patch lacks.
void link_versions(const PlannedPatch& planned, MirrorContext& context);

}  // namespace esxmirror
