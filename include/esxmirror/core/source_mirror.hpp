#pragma once
// One --source of a run, whatever its kind (DESIGN §2): `sync` and `check` open each source and mirror
// it through this interface. Three kinds: a legacy HTML patch index, a VMware online depot, another
// esxmirror's manifest (an upstream mirror).
#include <memory>
#include <string>
#include <vector>

#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

// What every source of a run shares.
struct SourceEnvironment {
  const SyncSettings& settings;
  const source::Rules& rules;
  store::Database& db;
  store::Catalog& catalog;
  const util::Clock& clock;
};

class SourceMirror {
 public:
  virtual ~SourceMirror() = default;
  SourceKind kind() const { return kind_; }
  const std::string& stored_url() const { return stored_url_; }
  // The directory under dest it is mirrored under (a depot's, "main"); empty for the other kinds.
  const std::string& name() const { return name_; }

  // Mirrors it into the catalog and under settings.dest (a dry run only reports what it would do), adding
  // what it did to `report` and to `outcome` (exit code ok or partial, and why). Throws Error(source) when
  // it cannot be read at all, Error(storage) when the mirror cannot be written, Error(interrupted) on
  // SIGINT/SIGTERM.
  virtual void mirror(RunReport& report, SourceReport& outcome) = 0;

 protected:
  SourceMirror(SourceKind kind, std::string stored_url, std::string name)
      : kind_(kind), stored_url_(std::move(stored_url)), name_(std::move(name)) {}

 private:
  SourceKind kind_;
  std::string stored_url_;
  std::string name_;
};

// Tells the kind of `url` (as the operator gave it: secrets in) and opens it; the document read to tell the
// kind is handed on, not read twice. Sets outcome.kind and outcome.name as they are learnt. `opened`: the
// sources of this run opened before it, whose directories a depot may not share. Throws Error(source) for
// a depot with no name or a name taken, Error(interrupted).
std::unique_ptr<SourceMirror> open_source(const SourceEnvironment& env, const std::string& url,
                                          const std::vector<SourceReport>& opened, SourceReport& outcome);

}  // namespace esxmirror
