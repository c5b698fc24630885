// A source of kind `mirror`: read the upstream's manifest, record its bundles and notes, plan, fetch.
#include "esxmirror/core/upstream_mirror.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/upstream_mirror/fetch_bundles.hpp"
#include "esxmirror/core/apply_plan.hpp"
#include "esxmirror/core/engine_fetcher.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/plan.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace fs = std::filesystem;
using source::mirror::Manifest;
using source::mirror::UpstreamBundle;

namespace {

struct ManifestRead {
  std::string body;
  net::Validators validators;
  std::int64_t changed_at = 0;  // when its body last changed (now, unless it answered 304)
};

std::string failure_message(const std::string& url, const net::Response& response) {
  const std::string masked = util::mask_url(url);
  switch (response.outcome) {
    case net::Outcome::auth:
      return fmt::format(
          "the upstream mirror {} refused access (HTTP {}): check the credentials (--netrc, or "
          "user:password@ in --source)",
          masked, response.status);
    case net::Outcome::not_found:
      return fmt::format(
          "the upstream manifest {} does not exist (HTTP {}): check --source (an esxmirror mirror "
          "publishes manifest.json at its top)",
          masked, response.status);
    default:
      return fmt::format("cannot read the upstream manifest {}: {}", masked, response.error);
  }
}

// The manifest: the response the kind was told from, or a conditional GET with the validators of the copy
// the last run kept (its page row); a 304 is that copy.
ManifestRead read_manifest(const SyncSettings& settings, store::Catalog& catalog, const std::string& url,
                           std::optional<net::Response> prefetched, RunReport& report, std::int64_t now) {
  std::optional<store::PageRow> kept = catalog.page(url);
  if (kept && !source::mirror::is_manifest(kept->extracted)) kept.reset();
  net::Response response;
  if (prefetched) {
    response = std::move(*prefetched);
  } else {
    net::Request request{0, url, {}, {}};
    if (kept) request.conditional = {kept->etag, kept->last_modified};
    response = fetch_one(settings.network, settings.retry, std::move(request));
  }
  report.requests += static_cast<std::uint64_t>(response.attempts);
  if (response.outcome == net::Outcome::aborted)
    throw Error(ExitCode::interrupted, "interrupted while reading the manifest");
  if (response.outcome == net::Outcome::not_modified && kept) {
    ++report.pages_not_modified;
    return {kept->extracted, {kept->etag, kept->last_modified}, kept->changed_at};
  }
  if (response.outcome != net::Outcome::ok) throw Error(ExitCode::source, failure_message(url, response));
  ++report.pages_fetched;
  return {std::move(response.body), response.validators, now};
}

void record(store::Catalog& catalog, const Manifest& manifest, std::int64_t now) {
  store::Database::Transaction transaction(catalog.database());
  for (const UpstreamBundle& bundle : manifest.bundles) catalog.upsert_patch(bundle.patch, now);
  for (const PatchRecord& note : manifest.notes) catalog.upsert_patch(note, now);
  transaction.commit();
}

std::vector<PlannedPatch> plan(const SyncSettings& settings, const Manifest& manifest, store::Catalog& catalog,
                               const DiskState& disk, std::int64_t now) {
  std::vector<PatchRecord> patches;
  for (const UpstreamBundle& bundle : manifest.bundles) patches.push_back(bundle.patch);
  std::vector<PlannedPatch> planned =
      plan_patches(plan_input(settings, std::move(patches), catalog.bundles(), disk, now));
  // Upstream's order: the version holding the directory first, so the copy and its links are as upstream's.
  for (PlannedPatch& p : planned) {
    const std::vector<std::string>& order = p.patch.versions;
    auto rank = [&](const std::string& v) { return std::find(order.begin(), order.end(), v) - order.begin(); };
    std::stable_sort(p.versions.begin(), p.versions.end(),
                     [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  }
  return planned;
}

std::uint64_t bytes_of(const UpstreamBundle& bundle) {
  std::uint64_t total = 0;
  for (const auto& file : bundle.files) total += file.size;
  return total;
}

int incomplete_count(const RunReport& report) {
  return report.count(PatchOutcome::failed) + report.count(PatchOutcome::deferred);
}

}  // namespace

ExitCode mirror_upstream(const SyncSettings& settings, const std::string& stored_url, store::Catalog& catalog,
                         RunReport& report, const util::Clock& clock, std::optional<net::Response> prefetched) {
  const std::int64_t now = util::to_unix(clock.now());
  const std::optional<std::string> found = source::mirror::manifest_url(stored_url);
  if (!found) throw Error(ExitCode::source, "not an absolute URL: " + util::mask_url(stored_url));
  const std::string& url = *found;
  if (prefetched && prefetched->outcome == net::Outcome::ok && !source::mirror::is_manifest(prefetched->body)) {
    // The kind was told from the mirror's index.html: counted, and its manifest beside it is read instead.
    report.requests += static_cast<std::uint64_t>(prefetched->attempts);
    prefetched.reset();
  }
  ManifestRead read = read_manifest(settings, catalog, url, std::move(prefetched), report, now);
  Manifest manifest;
  try {
    manifest = source::mirror::parse_manifest(read.body, url, util::mask_url(url));
  } catch (const source::mirror::FormatError& e) {
    throw Error(ExitCode::source, e.what());
  }
  record(catalog, manifest, now);

  std::map<std::string, const UpstreamBundle*> by_id;
  for (const UpstreamBundle& bundle : manifest.bundles) by_id[bundle.patch.id] = &bundle;
  const DiskState disk = reconcile_disk(settings, catalog, now);
  const std::vector<PlannedPatch> planned = plan(settings, manifest, catalog, disk, now);
  const int incomplete_before = incomplete_count(report);
  MirrorContext context{settings, catalog, report, clock, disk.placed_versions};
  warn_undated(planned, context, "no release date upstream");
  const std::vector<PlannedPatch> fetch_plan = apply_plan(
      planned, context,
      [&](const PlannedPatch& p) -> std::optional<std::uint64_t> { return bytes_of(*by_id.at(p.patch.id)); });
  std::vector<UpstreamWork> to_fetch;
  std::set<std::string> fetching;
  for (const PlannedPatch& p : fetch_plan) {
    to_fetch.push_back({p, by_id.at(p.patch.id)});
    fetching.insert(p.patch.id);
  }
  if (!settings.dry_run) {
    clean_upstream_staging(settings, catalog, fetching);
    fetch_upstream_bundles(to_fetch, context);
  }
  catalog.save_page({url, read.validators.etag, read.validators.last_modified, now, read.changed_at, read.body});
  return incomplete_count(report) > incomplete_before ? ExitCode::partial : ExitCode::ok;
}

}  // namespace esxmirror
