#pragma once
// One way to report errors: core throws `Error` with the exit code it maps to; `main` catches it once. The
// low layers throw neutral errors (util::StorageError, bundle::ArchiveError) that core maps here.
#include <stdexcept>
#include <string>

namespace esxmirror {

// Exit codes of DESIGN §4; part of the command-line contract.
enum class ExitCode : int {
  ok = 0,            // every selected patch is mirrored (including "nothing new")
  partial = 1,       // at least one patch failed; all others were mirrored
  usage = 2,         // usage or configuration error
  locked = 3,        // another run holds the lock
  source = 4,        // the source could not be read at all
  storage = 5,       // local storage error (state database, disk full, permissions)
  interrupted = 130  // stopped by SIGINT/SIGTERM before the run finished
};

// A run-level failure: its message is one line that names the thing and says what to do.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// The one-line message for a failure that is not an Error (a filesystem error, say), as a storage error
// shows it: a std::filesystem::filesystem_error names its operation, path(s) and reason.
std::string describe_unexpected(const std::exception& e);

// Any failure that ends a run, as the run reports it: an Error as it is; util::StorageError and every
// other exception (a filesystem error) as a storage error. The one place a failure gets its exit code.
Error run_error(const std::exception& e);

// A failure of one patch (bad checksum, refused archive entry, 404...). Never stops the others.
class PatchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace esxmirror
