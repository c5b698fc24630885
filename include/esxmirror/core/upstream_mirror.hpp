#pragma once
// Mirroring another esxmirror's legacy tree (--source http://upstream/manifest.json, kind `mirror`): its
// manifest names every bundle directory with each file's size and sha-256; the files are fetched one by
// one, verified while they stream, and the directory is placed as a fetched bundle is (README, "Tiers of
// mirrors"). Its depots are mirrored as any depot (--source http://upstream/main/vmw-depot-index.xml).
#include <optional>
#include <string>

#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/net/transfer.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

// Mirrors the upstream whose manifest is at `stored_url` (stored form; or beside it, when it names the
// mirror's top or its index.html: source::mirror::manifest_url) into the catalog and the mirror, adding
// what it did to `report`; returns ok, or partial when a bundle failed or waits out its backoff.
// `manifest`: the response the kind was told from, when the caller read one (an index.html is counted
// and the manifest read after it). A night with nothing new upstream
// is one conditional request (304). Throws Error(source) when the manifest cannot be read or is not an
// esxmirror manifest with file lists, util::StorageError when the mirror cannot be written,
// Error(interrupted) on SIGINT/SIGTERM.
ExitCode mirror_upstream(const SyncSettings& settings, const std::string& stored_url, store::Catalog& catalog,
                         RunReport& report, const util::Clock& clock, std::optional<net::Response> manifest);

}  // namespace esxmirror
