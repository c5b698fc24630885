#include "cli/config_keys.hpp"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

#include "esxmirror/core/error.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::cli {

void ConfigSite::fail(const std::string& what) const { fail_at(node, what); }

void ConfigSite::fail_at(const toml::node& at, const std::string& what) const {
  throw Error(ExitCode::usage, fmt::format("config {}:{}: '{}' {}", file, at.source().begin.line, key, what));
}

std::string read_string(const ConfigSite& site) {
  if (site.node.is_string()) return *site.node.value<std::string>();
  site.fail("must be a string");
}

std::vector<std::string> read_strings(const ConfigSite& site) {
  if (site.node.is_string()) return {*site.node.value<std::string>()};
  if (!site.node.is_array()) site.fail("must be a string or an array of strings");
  std::vector<std::string> out;
  for (const toml::node& item : *site.node.as_array()) {
    if (!item.is_string()) site.fail_at(item, "must be a string or an array of strings");
    out.push_back(*item.value<std::string>());
  }
  return out;
}

namespace {

bool read_bool(const ConfigSite& site) {
  if (site.node.is_boolean()) return *site.node.value<bool>();
  site.fail("must be true or false");
}

std::int64_t read_int(const ConfigSite& site, IntRange r) {
  const std::string what = fmt::format("must be an integer from {} to {}", r.min, r.max);
  if (!site.node.is_integer()) site.fail(what);
  const std::int64_t v = *site.node.value<std::int64_t>();
  if (v < r.min || v > r.max) site.fail(what);
  return v;
}

unsigned long long read_bytes(const ConfigSite& site) {
  if (site.node.is_integer() && *site.node.value<std::int64_t>() >= 0) {
    return static_cast<unsigned long long>(*site.node.value<std::int64_t>());
  }
  if (site.node.is_string()) {
    try {
      return parse_bytes(*site.node.value<std::string>());
    } catch (const std::exception&) {
    }
  }
  site.fail("must be a byte count (integer, or a string like \"500K\", \"2M\")");
}

toml::array to_array(const std::vector<std::string>& values) {
  toml::array a;
  for (const std::string& v : values) a.push_back(v);
  return a;
}

// `field` is a generic lambda giving the option's storage: `[](auto& o) -> auto& { return o.x; }`, so
// one accessor serves reading (Options&) and writing (const Options&).
template <typename Field>
ConfigKey text(std::string name, Field field) {
  return {name, [field](const ConfigSite& s, Options& o) { field(o) = read_string(s); },
          [name, field](const Options& o, toml::table& t) { t.insert(name, std::string(field(o))); }};
}

template <typename Field>
ConfigKey texts(std::string name, Field field) {
  return {name, [field](const ConfigSite& s, Options& o) { field(o) = read_strings(s); },
          [name, field](const Options& o, toml::table& t) { t.insert(name, to_array(field(o))); }};
}

template <typename Field>
ConfigKey flag(std::string name, Field field) {
  return {name, [field](const ConfigSite& s, Options& o) { field(o) = read_bool(s); },
          [name, field](const Options& o, toml::table& t) { t.insert(name, field(o)); }};
}

template <typename Field>
ConfigKey integer(std::string name, IntRange range, Field field) {
  using T = std::remove_cvref_t<decltype(field(std::declval<Options&>()))>;
  return {name, [field, range](const ConfigSite& s, Options& o) { field(o) = static_cast<T>(read_int(s, range)); },
          [name, field](const Options& o, toml::table& t) { t.insert(name, static_cast<std::int64_t>(field(o))); },
          range};
}

// A std::chrono duration set in whole `Unit`s (hours, days as 24 h, milliseconds).
template <typename Unit, typename Field>
ConfigKey duration(std::string name, IntRange range, Field field) {
  using Duration = std::remove_cvref_t<decltype(field(std::declval<Options&>()))>;
  return {name,
          [field, range](const ConfigSite& s, Options& o) {
            field(o) = std::chrono::duration_cast<Duration>(Unit(read_int(s, range)));
          },
          [name, field](const Options& o, toml::table& t) {
            t.insert(name, static_cast<std::int64_t>(std::chrono::duration_cast<Unit>(field(o)).count()));
          },
          range};
}

template <typename Field>
ConfigKey byte_count(std::string name, Field field) {
  return {name, [field](const ConfigSite& s, Options& o) { field(o) = read_bytes(s); },
          [name, field](const Options& o, toml::table& t) { t.insert(name, static_cast<std::int64_t>(field(o))); }};
}

using Days = std::chrono::duration<std::int64_t, std::ratio<86400>>;

std::vector<ConfigKey> make_table() {
  std::vector<ConfigKey> keys = {
      // What to mirror.
      {"source", [](const ConfigSite& s, Options& o) { o.sync.sources = read_strings(s); },
       [](const Options& o, toml::table& t) {
         toml::array masked;
         for (const std::string& url : o.sync.sources) {
           masked.push_back(util::mask_url(o.sync.network.secrets.stored(url)));
         }
         t.insert("source", masked);
       }},
      {"source_kind",
       [](const ConfigSite& s, Options& o) {
         try {
           o.sync.source_kind = parse_source_kind(read_string(s));
         } catch (const std::invalid_argument&) {
           s.fail("must be \"auto\", \"depot\", \"legacy-html\" or \"mirror\"");
         }
       },
       [](const Options& o, toml::table& t) { t.insert("source_kind", to_string(o.sync.source_kind)); }},
      text(
          "token_file", [](auto& o) -> auto& { return o.token_file; }),
      texts(
          "depot_products", [](auto& o) -> auto& { return o.sync.depot_products; }),
      duration<Days>(
          "depot_keep_unreferenced_days", {0, 3650}, [](auto& o) -> auto& { return o.sync.depot_keep_unreferenced; }),
      texts(
          "esx_version", [](auto& o) -> auto& { return o.sync.versions; }),
      texts(
          "classification", [](auto& o) -> auto& { return o.sync.classifications; }),
      // Where it goes, and how the run reports.
      {"dest", [](const ConfigSite& s, Options& o) { o.sync.dest = read_string(s); },
       [](const Options& o, toml::table& t) { t.insert("dest", o.sync.dest.string()); }},
      {"state", [](const ConfigSite& s, Options& o) { o.sync.state = read_string(s); },
       [](const Options& o, toml::table& t) { t.insert("state", o.sync.state_path().string()); }},
      integer(
          "jobs", {1, 64}, [](auto& o) -> auto& { return o.sync.jobs; }),
      integer(
          "page_jobs", {1, 64}, [](auto& o) -> auto& { return o.sync.page_jobs; }),
      flag(
          "dry_run", [](auto& o) -> auto& { return o.sync.dry_run; }),
      flag(
          "keep_archives", [](auto& o) -> auto& { return o.sync.keep_archives; }),
      text(
          "report", [](auto& o) -> auto& { return o.report_file; }),
      text(
          "metrics", [](auto& o) -> auto& { return o.metrics_file; }),
      text(
          "log_file", [](auto& o) -> auto& { return o.log_file; }),
      flag(
          "syslog", [](auto& o) -> auto& { return o.syslog; }),
      integer(
          "verbose", {0, 2}, [](auto& o) -> auto& { return o.verbose; }),
      flag(
          "quiet", [](auto& o) -> auto& { return o.quiet; }),
      // Network.
      {"proxy", [](const ConfigSite& s, Options& o) { o.sync.network.proxy = read_string(s); },
       [](const Options& o, toml::table& t) { t.insert("proxy", util::mask_url(o.sync.network.proxy)); }},
      text(
          "cacert", [](auto& o) -> auto& { return o.sync.network.cacert; }),
      flag(
          "netrc", [](auto& o) -> auto& { return o.sync.network.netrc; }),
      text(
          "netrc_file", [](auto& o) -> auto& { return o.sync.network.netrc_file; }),
      byte_count(
          "limit_rate", [](auto& o) -> auto& { return o.sync.network.limit_rate; }),
      integer(
          "connect_timeout", {1, 3600}, [](auto& o) -> auto& { return o.sync.network.connect_timeout_s; }),
      integer(
          "low_speed_limit", {0, 1 << 30}, [](auto& o) -> auto& { return o.sync.network.low_speed_limit; }),
      integer(
          "low_speed_time", {1, 3600}, [](auto& o) -> auto& { return o.sync.network.low_speed_time_s; }),
      integer(
          "retries", {1, 20}, [](auto& o) -> auto& { return o.sync.retry.max_attempts; }),
      duration<std::chrono::milliseconds>(
          "retry_base_delay_ms", {0, 600000}, [](auto& o) -> auto& { return o.sync.retry.base_delay; }),
      duration<std::chrono::milliseconds>(
          "retry_max_delay_ms", {0, 3600000}, [](auto& o) -> auto& { return o.sync.retry.max_delay; }),
      texts(
          "allow_host", [](auto& o) -> auto& { return o.sync.allowed_hosts; }),
      // How much of the site is read again, and how failures back off.
      integer(
          "revalidate_window_runs", {1, 365}, [](auto& o) -> auto& { return o.sync.revalidate_window_runs; }),
      integer(
          "revalidate_min_pages", {0, 1000000}, [](auto& o) -> auto& { return o.sync.revalidate_min_pages; }),
      integer(
          "failures_before_backoff", {0, 100}, [](auto& o) -> auto& { return o.sync.failures_before_backoff; }),
      duration<std::chrono::hours>(
          "failure_backoff_hours", {0, 24 * 365}, [](auto& o) -> auto& { return o.sync.failure_backoff; }),
      duration<std::chrono::hours>(
          "failure_backoff_max_hours", {0, 24 * 365}, [](auto& o) -> auto& { return o.sync.failure_backoff_max; }),
      // Limits on what the vendor may send.
      byte_count(
          "max_page_bytes", [](auto& o) -> auto& { return o.sync.network.max_page_bytes; }),
      byte_count(
          "max_unpack_bytes", [](auto& o) -> auto& { return o.sync.limits.max_total_bytes; }),
      integer(
          "max_unpack_entries", {1, 100000000}, [](auto& o) -> auto& { return o.sync.limits.max_entries; }),
      {"max_unpack_ratio",
       [](const ConfigSite& s, Options& o) {
         if (!s.node.is_number()) s.fail("must be a number");
         const double v = *s.node.value<double>();
         if (v < 1.0) s.fail("must be at least 1");
         o.sync.limits.max_ratio = v;
       },
       [](const Options& o, toml::table& t) { t.insert("max_unpack_ratio", o.sync.limits.max_ratio); }},
      // Retention.
      {"keep_superseded_days",
       [](const ConfigSite& s, Options& o) {
         o.sync.retention.keep_superseded_days = static_cast<int>(read_int(s, {0, 36500}));
       },
       // Unset (kept for ever) has no TOML value: the key is left out, as in a file that does not set it.
       [](const Options& o, toml::table& t) {
         if (o.sync.retention.keep_superseded_days) {
           t.insert("keep_superseded_days", *o.sync.retention.keep_superseded_days);
         }
       },
       IntRange{0, 36500}},
      flag(
          "prune_after_sync", [](auto& o) -> auto& { return o.sync.retention.prune_after_sync; }),
  };
  return keys;
}

}  // namespace

const std::vector<ConfigKey>& config_key_table() {
  static const std::vector<ConfigKey> table = make_table();
  return table;
}

IntRange config_range(const std::string& name) {
  for (const ConfigKey& key : config_key_table()) {
    if (key.name == name && key.range) return *key.range;
  }
  throw std::logic_error("no integer config key " + name);
}

}  // namespace esxmirror::cli
