#include "cli/options.hpp"

#include <stdexcept>

#include "cli/config_keys.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror::cli {

unsigned long long parse_bytes(const std::string& text) {
  std::string value = util::trim(text);
  if (value.empty()) throw std::invalid_argument("empty size");
  unsigned long long multiplier = 1;
  char suffix = static_cast<char>(std::toupper(static_cast<unsigned char>(value.back())));
  if (suffix == 'K' || suffix == 'M' || suffix == 'G') {
    multiplier = suffix == 'K' ? 1ull << 10 : suffix == 'M' ? 1ull << 20 : 1ull << 30;
    value.pop_back();
  }
  std::size_t used = 0;
  unsigned long long number = std::stoull(value, &used);
  if (used != value.size()) throw std::invalid_argument("not a size: " + text);
  return number * multiplier;
}

SourceKind parse_source_kind(const std::string& name) {
  if (name == "depot") return SourceKind::depot;
  if (name == "legacy-html") return SourceKind::legacy_html;
  if (name == "mirror") return SourceKind::mirror;
  if (name == "auto") return SourceKind::detect;
  throw std::invalid_argument("not a source kind: " + name + " (auto, depot, legacy-html or mirror)");
}

namespace {

// The range an option shares with its config key (one table: config_keys.cpp).
CLI::Range config_check(const std::string& key) {
  const IntRange r = config_range(key);
  return CLI::Range(r.min, r.max);
}

// Options every command shares: where the mirror and its state are, and how to talk.
void add_common(CLI::App* command, Options& o) {
  command->add_option("--dest", o.sync.dest, "Mirror directory (default ./esx-mirror)")->group("Common");
  command->add_option("--state", o.sync.state, "State database (default <dest>/.esxmirror/state.db)")->group("Common");
  command->add_option("--config", o.config_file, "TOML config file; the command line wins")->group("Common");
  command->add_option("--log-file", o.log_file, "Also log to FILE (rotated at 10 MiB, 5 kept)")->group("Common");
  command->add_flag("--syslog", o.syslog, "Also log to syslog/journald")->group("Common");
  command->add_flag("-v,--verbose", o.verbose, "More detail (repeat for debug, with the time each pass took)")
      ->group("Common");
  command->add_flag("-q,--quiet", o.quiet, "Errors only")->group("Common");
}

void add_network(CLI::App* command, Options& o) {
  net::NetworkSettings& n = o.sync.network;
  command->add_option("--proxy", n.proxy, "HTTP(S) proxy URL (default: https_proxy/http_proxy, no_proxy)")
      ->group("Network");
  command->add_option("--cacert", n.cacert, "CA bundle to verify TLS with")->check(CLI::ExistingFile)->group("Network");
  command->add_flag("--netrc", n.netrc, "Read credentials from ~/.netrc")->group("Network");
  command->add_option("--netrc-file", n.netrc_file, "Read credentials from FILE (implies --netrc)")
      ->check(CLI::ExistingFile)
      ->group("Network");
  command
      ->add_option_function<std::string>(
          "--limit-rate", [&n](const std::string& v) { n.limit_rate = parse_bytes(v); },
          "Total download rate limit in bytes/s (suffix K, M, G)")
      ->group("Network");
  command->add_option("--connect-timeout", n.connect_timeout_s, "Seconds to wait for a connection (default 30)")
      ->check(config_check("connect_timeout"))
      ->group("Network");
  command->add_option("--low-speed-limit", n.low_speed_limit, "Abort a transfer slower than this many bytes/s...")
      ->check(config_check("low_speed_limit"))
      ->group("Network");
  command->add_option("--low-speed-time", n.low_speed_time_s, "...for this many seconds (default 60), then retry")
      ->check(config_check("low_speed_time"))
      ->group("Network");
  command->add_option("--retries", o.sync.retry.max_attempts, "Attempts per request for timeouts, 429, 5xx (default 4)")
      ->check(config_check("retries"))
      ->group("Network");
  command->add_option("--allow-host", o.sync.allowed_hosts, "Also follow patch-page links to HOST (repeatable)")
      ->group("Network");
}

// What to read and select: sync's and check's.
void add_selection(CLI::App* command, Options& o) {
  command
      ->add_option("--source", o.sync.sources,
                   "The vendor's patch index page, an online depot's vmw-depot-index.xml, or another "
                   "esxmirror's manifest.json (repeatable; user:password@, ?token= and {token} in it are sent "
                   "to its host, never stored)")
      ->group("Selection");
  command
      ->add_option_function<std::string>(
          "--source-kind", [&o](const std::string& v) { o.sync.source_kind = parse_source_kind(v); },
          "auto (default: told from the index document), depot, legacy-html or mirror (another "
          "esxmirror's manifest.json)")
      ->check(CLI::IsMember({"auto", "depot", "legacy-html", "mirror"}))
      ->group("Selection");
  command
      ->add_option("--token-file", o.token_file,
                   "File holding the depot download token that fills {token} in --source (else ESXMIRROR_TOKEN); "
                   "must not be readable by group or others")
      ->group("Selection");
  command->add_option("--esx-version", o.sync.versions, "ESX version to mirror (repeatable)")->group("Selection");
  command
      ->add_option("--classification", o.sync.classifications,
                   "Only these classifications (comma-separated, e.g. Security,Critical)")
      ->delimiter(',')
      ->group("Selection");
}

void add_sync_options(CLI::App* command, Options& o) {
  add_common(command, o);
  add_selection(command, o);
  command->add_option("-j,--jobs", o.sync.jobs, "Bundle downloads at once (default 4)")->check(config_check("jobs"));
  command->add_flag("--dry-run", o.sync.dry_run,
                    "Print each bundle that would be fetched, replaced or linked (id, versions, date, size, URL); "
                    "download no bundle, change nothing");
  command->add_flag("--keep-archives", o.sync.keep_archives,
                    "Keep each archive as <date>_<bundle>/<bundle>.tgz, beside its contents");
  command->add_option("--report", o.report_file, "Write a JSON run report to FILE (- for stdout)");
  command->add_option("--metrics", o.metrics_file, "Write Prometheus textfile metrics to FILE (atomically)");
  add_network(command, o);
}

}  // namespace

Commands build_commands(CLI::App& app, Options& o) {
  Commands c;
  c.sync = app.add_subcommand("sync", "Mirror the selected versions' patches: discover, fetch, verify, unpack, place");
  add_sync_options(c.sync, o);

  c.check = app.add_subcommand("check",
                               "Probe each source cheaply (index documents conditionally, metadata zips and "
                               "new bundles by HEAD): what a sync would mirror per version and how much "
                               "is already mirrored; changes nothing, takes no lock");
  add_common(c.check, o);
  add_selection(c.check, o);
  c.check->add_flag("--read-metadata", o.read_metadata,
                    "Also download the metadata zips that changed or were never read (into a temporary directory) "
                    "to count their bulletins, VIBs and bytes");
  c.check->add_flag("--json", o.json, "JSON instead of text (for monitoring)");
  add_network(c.check, o);

  c.list = app.add_subcommand("list",
                              "What the catalog knows: id, versions, date, class, state, path (KB notes: "
                              "state no-bundle)");
  add_common(c.list, o);
  c.list->add_option("--esx-version", o.sync.versions, "Only patches for this version (repeatable)");
  c.list->add_option("--state-filter", o.state_filter,
                     "Only this state: discovered, downloading, verified, placed, failed, pruning, pruned (removed by "
                     "prune), no-bundle (KB notes)");
  c.list->add_flag("--json", o.json, "JSON instead of a table");

  c.status = app.add_subcommand("status",
                                "Last runs, failed patches with their errors and next retry, the "
                                "mirror's size per source and version, what prune would free");
  add_common(c.status, o);
  c.status->add_flag("--json", o.json, "JSON instead of text");
  CLI::Option* new_items =
      c.status->add_flag("--new", o.new_items,
                         "Instead: what was placed or replaced (bundles, depot bulletins), critical and security "
                         "first, as the nightly mail lists it");
  c.status
      ->add_option("--since", o.since,
                   "With --new: since this UTC date or time (2026-11-22, 2026-11-22T02:30); default: the start "
                   "of the last run")
      ->needs(new_items);

  c.verify =
      app.add_subcommand("verify", "Re-hash the mirror against the catalog; exit 1 if anything changed or is missing");
  add_common(c.verify, o);
  c.verify->add_flag("--repair", o.repair, "Fetch damaged or missing bundles again and replace them");
  add_network(c.verify, o);

  c.retry = app.add_subcommand("retry",
                               "Make failed patches due now (their backoff is cleared); a patch that has not "
                               "failed is named and left alone, an unknown id is an error");
  add_common(c.retry, o);
  c.retry->add_option("ids", o.ids, "Patch ids, e.g. ESX-1000039");
  c.retry->add_flag("--all-failed", o.all_failed, "Every failed patch");

  c.prune = app.add_subcommand("prune",
                               "Remove what retention no longer keeps: legacy bundles superseded by newer "
                               "placed bundles (keep_superseded_days; default: kept for ever); prints each "
                               "and the bytes freed");
  add_common(c.prune, o);
  c.prune->add_flag("--dry-run", o.sync.dry_run,
                    "Print what would be removed and the bytes it would free; change "
                    "nothing, take no lock");
  c.prune
      ->add_option_function<int>(
          "--keep-superseded-days", [&o](const int& days) { o.sync.retention.keep_superseded_days = days; },
          "Remove a superseded bundle once the newer bundles superseding it have been placed this many days")
      ->check(config_check("keep_superseded_days"));
  c.prune->add_option("--esx-version", o.sync.versions,
                      "A selected version (repeatable; default: the config's esx_version): a bundle whose page lists "
                      "it stays unless a newer bundle supersedes it there too");

  CLI::App* rules = app.add_subcommand("rules", "Page-extraction rules");
  rules->require_subcommand(1);
  c.rules_test = rules->add_subcommand("test", "Show what the rules extract from a saved page");
  c.rules_test->add_option("page", o.page_file, "Saved HTML page (index or detail)")
      ->required()
      ->check(CLI::ExistingFile);
  c.rules_test->add_option("--esx-version", o.sync.versions, "Also say whether the page matches this version");
  c.rules_test->add_option("--config", o.config_file, "TOML config whose [rules] override the built-in vi3 profile");
  c.rules_test->add_option("--base-url", o.sync.source_url, "URL the page was saved from (to resolve relative links)");

  CLI::App* config = app.add_subcommand("config", "Configuration");
  config->require_subcommand(1);
  c.config_show =
      config->add_subcommand("show", "Print the effective configuration (secrets masked); takes sync's options");
  add_sync_options(c.config_show, o);
  return c;
}

}  // namespace esxmirror::cli
