#pragma once
// PatchRecord <-> JSON, for the pages table (what a page yielded) and the manifest.
#include <nlohmann/json.hpp>

#include "esxmirror/core/patch.hpp"

namespace esxmirror {

nlohmann::json to_json(const PatchRecord& patch);
// Throws nlohmann::json::exception on a malformed value.
PatchRecord patch_from_json(const nlohmann::json& value);

}  // namespace esxmirror
