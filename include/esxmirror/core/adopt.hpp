#pragma once
// Adoption: a bundle already on disk under its final name, but unknown to the state database (the
// database was lost or moved aside), is recorded instead of fetched again.
#include "esxmirror/core/mirror.hpp"

namespace esxmirror {

// True when `planned` was found complete under its final name and recorded as placed. A directory
// under a final name is complete by construction (it only ever appears by an atomic rename); when its
// archive was kept, the archive's md5 is checked against the page first and a mismatch is not adopted.
bool adopt_placed_copy(const PlannedPatch& planned, MirrorContext& context);

}  // namespace esxmirror
