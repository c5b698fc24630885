#include "esxmirror/core/source_mirror.hpp"

#include <fmt/format.h>

#include "esxmirror/core/depot_mirror.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/legacy_mirror.hpp"
#include "esxmirror/core/source_kind.hpp"
#include "esxmirror/core/upstream_mirror.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace {

class LegacySource final : public SourceMirror {
 public:
  LegacySource(const SourceEnvironment& env, std::string url, std::string stored, std::optional<net::Response> index)
      : SourceMirror(SourceKind::legacy_html, std::move(stored), {}),
        env_(env),
        url_(std::move(url)),
        index_(std::move(index)) {}

  void mirror(RunReport& report, SourceReport& outcome) override {
    SyncSettings legacy = env_.settings;
    legacy.source_url = url_;
    const int failed_before = report.count(PatchOutcome::failed) + report.count(PatchOutcome::deferred);
    const std::uint64_t requests = report.requests;
    const int pages = mirror_legacy_source(legacy, env_.rules, env_.catalog, report, env_.clock, std::move(index_));
    const int failed = report.count(PatchOutcome::failed) + report.count(PatchOutcome::deferred) - failed_before;
    outcome.requests = report.requests - requests;
    outcome.pages_failed = pages;
    outcome.exit_code = pages > 0 || failed > 0 ? ExitCode::partial : ExitCode::ok;
    if (pages > 0) outcome.message = fmt::format("{} patch page(s) could not be read", pages);
  }

 private:
  SourceEnvironment env_;  // references only: copied
  std::string url_;
  std::optional<net::Response> index_;
};

class DepotSourceMirror final : public SourceMirror {
 public:
  DepotSourceMirror(const SourceEnvironment& env, DepotSource depot, std::optional<net::Response> index)
      : SourceMirror(SourceKind::depot, depot.stored_url, depot.name),
        env_(env),
        depot_(std::move(depot)),
        index_(std::move(index)) {}

  void mirror(RunReport& report, SourceReport& outcome) override {
    mirror_depot(env_.settings, depot_, env_.db, report, outcome, env_.clock, std::move(index_));
  }

 private:
  SourceEnvironment env_;  // references only: copied
  DepotSource depot_;
  std::optional<net::Response> index_;
};

class UpstreamMirrorSource final : public SourceMirror {
 public:
  UpstreamMirrorSource(const SourceEnvironment& env, std::string stored, std::optional<net::Response> manifest)
      : SourceMirror(SourceKind::mirror, std::move(stored), {}), env_(env), manifest_(std::move(manifest)) {}

  // What it read and fetched is counted for the source as for a depot.
  void mirror(RunReport& report, SourceReport& outcome) override {
    const std::uint64_t requests = report.requests, fetched = report.pages_fetched,
                        not_modified = report.pages_not_modified, bytes = report.bytes_downloaded;
    outcome.exit_code =
        mirror_upstream(env_.settings, stored_url(), env_.catalog, report, env_.clock, std::move(manifest_));
    outcome.requests = report.requests - requests;
    outcome.documents_fetched = report.pages_fetched - fetched;
    outcome.documents_not_modified = report.pages_not_modified - not_modified;
    outcome.bytes = report.bytes_downloaded - bytes;
  }

 private:
  SourceEnvironment env_;  // references only: copied
  std::optional<net::Response> manifest_;
};

}  // namespace

std::unique_ptr<SourceMirror> open_source(const SourceEnvironment& env, const std::string& url,
                                          const std::vector<SourceReport>& opened, SourceReport& outcome) {
  const SyncSettings& settings = env.settings;
  const std::string stored = settings.network.secrets.stored(url);
  DetectedSource found = detect_source(settings, env.db, stored);
  outcome.kind = to_string(found.kind);
  if (found.kind == SourceKind::mirror) {
    return std::make_unique<UpstreamMirrorSource>(env, stored, std::move(found.index));
  }
  if (found.kind != SourceKind::depot) {
    return std::make_unique<LegacySource>(env, url, stored, std::move(found.index));
  }
  std::map<std::string, std::string> renames;  // [depot_names], its URLs in stored form as `stored` is
  for (const auto& [from, to] : settings.depot_names) renames[settings.network.secrets.stored(from)] = to;
  DepotSource depot{stored, url, depot_source_name(stored, renames)};
  outcome.name = depot.name;
  for (const SourceReport& other : opened) {
    if (other.kind == "depot" && other.name == depot.name) {
      throw Error(ExitCode::source, fmt::format("{} and {} would both be mirrored under {}/{}: mirror them into "
                                                "different --dest directories, or name one apart in [depot_names]",
                                                other.url, outcome.url, settings.dest.string(), depot.name));
    }
  }
  return std::make_unique<DepotSourceMirror>(env, std::move(depot), std::move(found.index));
}

}  // namespace esxmirror
