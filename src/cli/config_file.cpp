#include "cli/config_file.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "esxmirror/core/error.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::cli {

namespace {

struct Context {
  const std::string& file;
  [[noreturn]] void fail(const toml::node& node, const std::string& key, const std::string& what) const {
    throw Error(ExitCode::usage, fmt::format("config {}:{}: '{}' {}", file, node.source().begin.line, key, what));
  }
};

std::string get_string(const Context& c, const toml::node& node, const std::string& key) {
  if (auto v = node.value<std::string>(); v && node.is_string()) return *v;
  c.fail(node, key, "must be a string");
}

bool get_bool(const Context& c, const toml::node& node, const std::string& key) {
  if (node.is_boolean()) return *node.value<bool>();
  c.fail(node, key, "must be true or false");
}

std::int64_t get_int(const Context& c, const toml::node& node, const std::string& key, std::int64_t min,
                     std::int64_t max) {
  if (!node.is_integer()) c.fail(node, key, fmt::format("must be an integer from {} to {}", min, max));
  std::int64_t v = *node.value<std::int64_t>();
  if (v < min || v > max) c.fail(node, key, fmt::format("must be an integer from {} to {}", min, max));
  return v;
}

double get_number(const Context& c, const toml::node& node, const std::string& key, double min) {
  if (!node.is_number()) c.fail(node, key, "must be a number");
  double v = *node.value<double>();
  if (v < min) c.fail(node, key, fmt::format("must be at least {}", min));
  return v;
}

// A string or an array of strings.
std::vector<std::string> get_strings(const Context& c, const toml::node& node, const std::string& key) {
  if (node.is_string()) return {*node.value<std::string>()};
  if (!node.is_array()) c.fail(node, key, "must be a string or an array of strings");
  std::vector<std::string> out;
  for (const toml::node& item : *node.as_array()) {
    if (!item.is_string()) c.fail(item, key, "must be a string or an array of strings");
    out.push_back(*item.value<std::string>());
  }
  return out;
}

unsigned long long get_bytes(const Context& c, const toml::node& node, const std::string& key) {
  if (node.is_integer() && *node.value<std::int64_t>() >= 0)
    return static_cast<unsigned long long>(*node.value<std::int64_t>());
  if (node.is_string()) {
    try {
      return parse_bytes(*node.value<std::string>());
    } catch (const std::exception&) {
    }
  }
  c.fail(node, key, "must be a byte count (integer, or a string like \"500K\", \"2M\")");
}

using Setter = std::function<void(const Context&, const toml::node&, const std::string&, Options&)>;

const std::map<std::string, Setter>& top_level_keys() {
  static const std::map<std::string, Setter> keys = {
      {"source", [](auto& c, auto& n, auto& k, Options& o) { o.sync.sources = get_strings(c, n, k); }},
      {"source_kind",
       [](auto& c, auto& n, auto& k, Options& o) {
         try {
           o.sync.source_kind = parse_source_kind(get_string(c, n, k));
         } catch (const std::invalid_argument&) {
           c.fail(n, k, "must be \"auto\", \"depot\", \"legacy-html\" or \"mirror\"");
         }
       }},
      {"token_file", [](auto& c, auto& n, auto& k, Options& o) { o.token_file = get_string(c, n, k); }},
      {"depot_products", [](auto& c, auto& n, auto& k, Options& o) { o.sync.depot_products = get_strings(c, n, k); }},
      {"depot_keep_unreferenced_days",
       [](auto& c, auto& n, auto& k, Options& o) {
         o.sync.depot_keep_unreferenced = std::chrono::hours(24 * get_int(c, n, k, 0, 3650));
       }},
      {"esx_version", [](auto& c, auto& n, auto& k, Options& o) { o.sync.versions = get_strings(c, n, k); }},
      {"classification", [](auto& c, auto& n, auto& k, Options& o) { o.sync.classifications = get_strings(c, n, k); }},
      {"dest", [](auto& c, auto& n, auto& k, Options& o) { o.sync.dest = get_string(c, n, k); }},
      {"state", [](auto& c, auto& n, auto& k, Options& o) { o.sync.state = get_string(c, n, k); }},
      {"jobs", [](auto& c, auto& n, auto& k, Options& o) { o.sync.jobs = static_cast<int>(get_int(c, n, k, 1, 64)); }},
      {"page_jobs",
       [](auto& c, auto& n, auto& k, Options& o) { o.sync.page_jobs = static_cast<int>(get_int(c, n, k, 1, 64)); }},
      {"dry_run", [](auto& c, auto& n, auto& k, Options& o) { o.sync.dry_run = get_bool(c, n, k); }},
      {"keep_archives", [](auto& c, auto& n, auto& k, Options& o) { o.sync.keep_archives = get_bool(c, n, k); }},
      {"report", [](auto& c, auto& n, auto& k, Options& o) { o.report_file = get_string(c, n, k); }},
      {"metrics", [](auto& c, auto& n, auto& k, Options& o) { o.metrics_file = get_string(c, n, k); }},
      {"log_file", [](auto& c, auto& n, auto& k, Options& o) { o.log_file = get_string(c, n, k); }},
      {"syslog", [](auto& c, auto& n, auto& k, Options& o) { o.syslog = get_bool(c, n, k); }},
      {"verbose", [](auto& c, auto& n, auto& k, Options& o) { o.verbose = static_cast<int>(get_int(c, n, k, 0, 2)); }},
      {"quiet", [](auto& c, auto& n, auto& k, Options& o) { o.quiet = get_bool(c, n, k); }},
      {"proxy", [](auto& c, auto& n, auto& k, Options& o) { o.sync.network.proxy = get_string(c, n, k); }},
      {"cacert", [](auto& c, auto& n, auto& k, Options& o) { o.sync.network.cacert = get_string(c, n, k); }},
      {"netrc", [](auto& c, auto& n, auto& k, Options& o) { o.sync.network.netrc = get_bool(c, n, k); }},
      {"netrc_file", [](auto& c, auto& n, auto& k, Options& o) { o.sync.network.netrc_file = get_string(c, n, k); }},
      {"limit_rate", [](auto& c, auto& n, auto& k, Options& o) { o.sync.network.limit_rate = get_bytes(c, n, k); }},
      {"connect_timeout",
       [](auto& c, auto& n, auto& k, Options& o) { o.sync.network.connect_timeout_s = get_int(c, n, k, 1, 3600); }},
      {"low_speed_limit",
       [](auto& c, auto& n, auto& k, Options& o) { o.sync.network.low_speed_limit = get_int(c, n, k, 0, 1 << 30); }},
      {"low_speed_time",
       [](auto& c, auto& n, auto& k, Options& o) { o.sync.network.low_speed_time_s = get_int(c, n, k, 1, 3600); }},
      {"retries", [](auto& c, auto& n, auto& k,
                     Options& o) { o.sync.retry.max_attempts = static_cast<int>(get_int(c, n, k, 1, 20)); }},
      {"retry_base_delay_ms",
       [](auto& c, auto& n, auto& k,
          Options& o) { o.sync.retry.base_delay = std::chrono::milliseconds(get_int(c, n, k, 0, 600000)); }},
      {"retry_max_delay_ms",
       [](auto& c, auto& n, auto& k,
          Options& o) { o.sync.retry.max_delay = std::chrono::milliseconds(get_int(c, n, k, 0, 3600000)); }},
      {"allow_host", [](auto& c, auto& n, auto& k, Options& o) { o.sync.allowed_hosts = get_strings(c, n, k); }},
      {"revalidate_window_runs",
       [](auto& c, auto& n, auto& k,
          Options& o) { o.sync.revalidate_window_runs = static_cast<int>(get_int(c, n, k, 1, 365)); }},
      {"revalidate_min_pages",
       [](auto& c, auto& n, auto& k,
          Options& o) { o.sync.revalidate_min_pages = static_cast<int>(get_int(c, n, k, 0, 1000000)); }},
      {"failures_before_backoff",
       [](auto& c, auto& n, auto& k,
          Options& o) { o.sync.failures_before_backoff = static_cast<int>(get_int(c, n, k, 0, 100)); }},
      {"failure_backoff_hours",
       [](auto& c, auto& n, auto& k,
          Options& o) { o.sync.failure_backoff = std::chrono::hours(get_int(c, n, k, 0, 24 * 365)); }},
      {"failure_backoff_max_hours",
       [](auto& c, auto& n, auto& k,
          Options& o) { o.sync.failure_backoff_max = std::chrono::hours(get_int(c, n, k, 0, 24 * 365)); }},
      {"max_page_bytes",
       [](auto& c, auto& n, auto& k, Options& o) { o.sync.network.max_page_bytes = get_bytes(c, n, k); }},
      {"max_unpack_bytes",
       [](auto& c, auto& n, auto& k, Options& o) { o.sync.limits.max_total_bytes = get_bytes(c, n, k); }},
      {"max_unpack_entries",
       [](auto& c, auto& n, auto& k,
          Options& o) { o.sync.limits.max_entries = static_cast<std::uint64_t>(get_int(c, n, k, 1, 100000000)); }},
      {"max_unpack_ratio",
       [](auto& c, auto& n, auto& k, Options& o) { o.sync.limits.max_ratio = get_number(c, n, k, 1.0); }},
      {"keep_superseded_days",
       [](auto& c, auto& n, auto& k,
          Options& o) { o.sync.retention.keep_superseded_days = static_cast<int>(get_int(c, n, k, 0, 36500)); }},
      {"prune_after_sync",
       [](auto& c, auto& n, auto& k, Options& o) { o.sync.retention.prune_after_sync = get_bool(c, n, k); }},
  };
  return keys;
}

void load_rules(const Context& c, const toml::table& rules, Options& o) {
  const auto& names = source::RuleSpec::names();
  for (const auto& [key, node] : rules) {
    std::string name(key.str());
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      c.fail(node, "rules." + name, fmt::format("is not a rule; rules are: {}", fmt::join(names, ", ")));
    }
    o.sync.rules.patterns[name] = get_strings(c, node, "rules." + name);
  }
}

// [depot_names]: "<source URL as written, or its default name>" = "<directory under dest>".
void load_depot_names(const Context& c, const toml::table& names, Options& o) {
  for (const auto& [key, node] : names) {
    const std::string from(key.str());
    const std::string where = "depot_names." + from;
    const std::string to = get_string(c, node, where);
    if (to.empty() || to.size() > 255 || to.front() == '.' || to.find_first_of("/\\") != std::string::npos) {
      c.fail(node, where, "must be one directory name (not empty, no '/', not starting with '.')");
    }
    o.sync.depot_names[from] = to;
  }
}

}  // namespace

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& entry : top_level_keys()) keys.push_back(entry.first);
  for (const auto& rule : source::RuleSpec::names()) keys.push_back("rules." + rule);
  keys.push_back("depot_names");
  std::sort(keys.begin(), keys.end());
  return keys;
}

void load_config_file(const std::string& file, Options& options) {
  toml::table table;
  try {
    table = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw Error(ExitCode::usage, fmt::format("config {}:{}: {}", file, e.source().begin.line, e.description()));
  }
  Context context{file};
  for (const auto& [key, node] : table) {
    std::string name(key.str());
    if (name == "rules") {
      if (!node.is_table()) context.fail(node, name, "must be a table of rule = [patterns]");
      load_rules(context, *node.as_table(), options);
      continue;
    }
    if (name == "depot_names") {
      if (!node.is_table()) context.fail(node, name, "must be a table of \"source URL or name\" = \"name\"");
      load_depot_names(context, *node.as_table(), options);
      continue;
    }
    auto setter = top_level_keys().find(name);
    if (setter == top_level_keys().end()) context.fail(node, name, "is not a known setting");
    setter->second(context, node, name, options);
  }
}

std::string render_config(const Options& o) {
  const SyncSettings& s = o.sync;
  toml::table t;
  auto strings = [](const std::vector<std::string>& values) {
    toml::array a;
    for (const auto& v : values) a.push_back(v);
    return a;
  };
  toml::array sources;
  for (const std::string& url : s.sources) sources.push_back(util::mask_url(s.network.secrets.stored(url)));
  t.insert("source", sources);
  t.insert("source_kind", to_string(s.source_kind));
  t.insert("token_file", o.token_file);
  t.insert("depot_products", strings(s.depot_products));
  t.insert("depot_keep_unreferenced_days", static_cast<std::int64_t>(s.depot_keep_unreferenced.count() / 86400));
  t.insert("esx_version", strings(s.versions));
  t.insert("classification", strings(s.classifications));
  t.insert("dest", s.dest.string());
  t.insert("state", s.state_path().string());
  t.insert("jobs", s.jobs);
  t.insert("page_jobs", s.page_jobs);
  t.insert("dry_run", s.dry_run);
  t.insert("keep_archives", s.keep_archives);
  t.insert("report", o.report_file);
  t.insert("metrics", o.metrics_file);
  t.insert("log_file", o.log_file);
  t.insert("syslog", o.syslog);
  t.insert("verbose", o.verbose);
  t.insert("quiet", o.quiet);
  t.insert("proxy", util::mask_url(s.network.proxy));
  t.insert("cacert", s.network.cacert);
  t.insert("netrc", s.network.netrc);
  t.insert("netrc_file", s.network.netrc_file);
  t.insert("limit_rate", static_cast<std::int64_t>(s.network.limit_rate));
  t.insert("connect_timeout", s.network.connect_timeout_s);
  t.insert("low_speed_limit", s.network.low_speed_limit);
  t.insert("low_speed_time", s.network.low_speed_time_s);
  t.insert("retries", s.retry.max_attempts);
  t.insert("retry_base_delay_ms", static_cast<std::int64_t>(s.retry.base_delay.count()));
  t.insert("retry_max_delay_ms", static_cast<std::int64_t>(s.retry.max_delay.count()));
  t.insert("allow_host", strings(s.allowed_hosts));
  t.insert("revalidate_window_runs", s.revalidate_window_runs);
  t.insert("revalidate_min_pages", s.revalidate_min_pages);
  t.insert("failures_before_backoff", s.failures_before_backoff);
  t.insert("failure_backoff_hours", static_cast<std::int64_t>(s.failure_backoff.count() / 3600));
  t.insert("failure_backoff_max_hours", static_cast<std::int64_t>(s.failure_backoff_max.count() / 3600));
  t.insert("max_page_bytes", static_cast<std::int64_t>(s.network.max_page_bytes));
  t.insert("max_unpack_bytes", static_cast<std::int64_t>(s.limits.max_total_bytes));
  t.insert("max_unpack_entries", static_cast<std::int64_t>(s.limits.max_entries));
  t.insert("max_unpack_ratio", s.limits.max_ratio);
  // Unset (kept for ever) has no TOML value: the key is left out, as in a file that does not set it.
  if (s.retention.keep_superseded_days) t.insert("keep_superseded_days", *s.retention.keep_superseded_days);
  t.insert("prune_after_sync", s.retention.prune_after_sync);
  toml::table rules;
  for (const auto& [name, patterns] : s.rules.patterns) rules.insert(name, strings(patterns));
  t.insert("rules", rules);
  toml::table names;
  for (const auto& [from, to] : s.depot_names) names.insert(util::mask_url(s.network.secrets.stored(from)), to);
  t.insert("depot_names", names);
  std::ostringstream out;
  out << t << "\n";
  return out.str();
}

}  // namespace esxmirror::cli
