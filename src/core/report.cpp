#include "esxmirror/core/report.hpp"

#include <algorithm>

namespace esxmirror {

const char* to_string(PatchOutcome outcome) {
  switch (outcome) {
    case PatchOutcome::placed:
      return "placed";
    case PatchOutcome::replaced:
      return "replaced";
    case PatchOutcome::linked:
      return "linked";
    case PatchOutcome::skipped:
      return "skipped";
    case PatchOutcome::failed:
      return "failed";
    case PatchOutcome::deferred:
      return "deferred";
    case PatchOutcome::planned:
      return "planned";
  }
  return "unknown";
}

int RunReport::count(PatchOutcome which) const {
  return static_cast<int>(
      std::count_if(patches.begin(), patches.end(), [&](const PatchReport& p) { return p.outcome == which; }));
}

}  // namespace esxmirror
