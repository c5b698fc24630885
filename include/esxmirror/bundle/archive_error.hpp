#pragma once
// How bundle says one archive is refused or damaged. It fails that patch only; core maps it to a
// PatchError where it unpacks (core/mirror.cpp).
#include <stdexcept>

namespace esxmirror::bundle {

// The archive cannot be unpacked as it is: "archive <name> is damaged: ..." or "...: refused entry ...".
class ArchiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace esxmirror::bundle
