#pragma once
// Mirroring one legacy HTML source: discover its pages, plan, adopt, link, fetch, verify, unpack, place.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "esxmirror/core/plan.hpp"
#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/net/transfer.hpp"
#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

// Mirrors settings.source_url into the catalog and the mirror, adding what it did to `report`; returns
// how many detail pages could not be read. `index`: the index's response when the caller already read
// it. Throws Error(source) when the index cannot be read at all, Error(storage) when the mirror cannot be
// written, Error(interrupted) on SIGINT/SIGTERM.
int mirror_legacy_source(const SyncSettings& settings, const source::Rules& rules, store::Catalog& catalog,
                         RunReport& report, const util::Clock& clock, std::optional<net::Response> index);

}  // namespace esxmirror
