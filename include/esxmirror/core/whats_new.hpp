#pragma once
// What is new (issue 10 §5): the bundles and bulletins a run made available to hosts, most urgent first,
// for the nightly mail, the run report and `esxmirror status --new`. Both lists come from the catalog, so
// they say the same about an item.
#include <cstdint>
#include <vector>

#include "esxmirror/core/report.hpp"
#include "esxmirror/store/database.hpp"

namespace esxmirror {

// What the run of `report` made available: the legacy bundles it placed or replaced, and each depot
// bulletin that is now complete and published for the first time (its first placed time is recorded as
// `now` here). Ordered by order_by_urgency. Throws Error(storage) as the catalog does.
std::vector<NewItem> record_new_items(store::Database& db, const RunReport& report, std::int64_t now);

// Everything placed at or after `since` (unix seconds): bundles by their last placement, bulletins by
// their first. Ordered by order_by_urgency. Throws Error(storage) as the catalog does.
std::vector<NewItem> new_since(store::Database& db, std::int64_t since);

// Critical or security items first (a classification of Critical or Security, a severity of critical, a
// category of security), then important ones, then the rest; within each, the newest release first
// (undated last), then by id.
void order_by_urgency(std::vector<NewItem>& items);

}  // namespace esxmirror
