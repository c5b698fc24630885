#pragma once
// How the low layers (util, store, bundle) say local storage failed: a write, a sync, a lock, the state
// database. They know no exit codes; core maps this to ExitCode::storage in one place (core/error.hpp).
#include <stdexcept>

namespace esxmirror::util {

// Local storage failed; the message is one line that names the file or directory and the reason.
class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace esxmirror::util
