#pragma once
// The one exception the depot readers throw, so core can map it to its own errors and exit codes.
#include <stdexcept>

namespace esxmirror::source::depot {

// A depot document that is not what a depot serves: invalid XML, a missing required element, a damaged
// metadata zip, a path that would leave the depot. what() is one line: "<document>: <problem>", the
// document named as the caller named it (pass a masked URL or a file name, never one holding the token).
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace esxmirror::source::depot
