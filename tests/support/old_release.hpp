#pragma once
// Mirrors as the release before schema 2 left them, for the tests that convert them: made from a mirror
// this build wrote, by undoing what schema 2 changed on disk and in the catalog.
#include <filesystem>
#include <string>

namespace esxmirror::testing {

// The secrets an old release kept in its catalog, in clear: the source URL as the operator gave it.
struct OldReleaseSecrets {
  std::string plain_base;        // "http://127.0.0.1:PORT/": URLs as this build stores them start so
  std::string secret_base;       // "http://alice:S3cretPw@127.0.0.1:PORT/": as the old release stored them
  std::string stored_index_url;  // the index page's URL as this build stored it ("...?token={token}")
  std::string old_index_url;     // as the old release stored it: the source URL, token and all
};

// Turns the mirror at `dest` (written by this build, perhaps killed while converting; no esxmirror running)
// into what the release before schema 2 left: every placed bundle's files moved under
// <date>_<bundle>/<bundle>/ (a kept archive stays beside that directory), the catalog's file rows under
// "<bundle>/" (a bundle the catalog still records nested already has them so: only its tree is nested, if
// the killed run had swapped in the flat one), KB notes not recorded, no layout column, schema 1. With
// `secrets`, also the catalog's URLs and messages as that release stored them, and free pages holding a
// deleted row with them (what its updates left behind).
// Throws std::runtime_error naming what failed.
void make_old_release_mirror(const std::filesystem::path& dest, const OldReleaseSecrets* secrets = nullptr);

}  // namespace esxmirror::testing
