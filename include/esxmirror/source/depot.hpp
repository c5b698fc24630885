#pragma once
// VMware online depot source (DESIGN §2, §8; issue 8): everything that reads depot documents. Pure
// functions, bytes (or a downloaded file) in, values out; no network. Errors are depot::FormatError.
//   depot/error.hpp      FormatError
//   depot/index.hpp      vmw-depot-index.xml / index.xml, the vendor index and its deterministic rewrite
//   depot/selection.hpp  which vendor-index entries --esx-version and depot_products select
//   depot/metadata.hpp   the metadata zip: VIBs, bulletins, image profiles
//   depot/paths.hpp      URL -> place in the mirror; the depot's name
#include "esxmirror/source/depot/error.hpp"
#include "esxmirror/source/depot/index.hpp"
#include "esxmirror/source/depot/metadata.hpp"
#include "esxmirror/source/depot/paths.hpp"
#include "esxmirror/source/depot/selection.hpp"
