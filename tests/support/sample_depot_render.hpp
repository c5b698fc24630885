#pragma once
// The bytes of a sample depot's documents, written the way VMware's depots write them (the shapes are
// listed in src/source/depot/documents.cpp): the indexes, a VIB's ar archive, a metadata zip's members.
// Used by sample_depot.cpp only.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "support/sample_depot.hpp"

namespace esxmirror::testing::depot_render {

struct VendorInfo {
  std::string name, code, relative_path, index_file;
};

// vmw-depot-index.xml: one <vendor>.
std::string depot_index(const VendorInfo& vendor);
// The vendor index: one <metadata> per release, in order.
std::string vendor_index(const std::vector<SampleRelease>& releases);

// The .vib file: an ar archive of descriptor.xml, sig.pkcs7 and one payload (`payload` bytes).
std::string vib_file(const SampleVib& vib, const std::string& payload);

// Every member of `release`'s metadata zip, (name, bytes) in zip order; `vibs` holds every VIB it names.
std::vector<std::pair<std::string, std::string>> metadata_members(const SampleRelease& release,
                                                                  const std::map<std::string, SampleVib>& vibs);

}  // namespace esxmirror::testing::depot_render
