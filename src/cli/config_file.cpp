#include "cli/config_file.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "cli/config_keys.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::cli {

namespace {

void load_rules(const std::string& file, const toml::table& rules, Options& o) {
  const auto& names = source::RuleSpec::names();
  for (const auto& [key, node] : rules) {
    const std::string name(key.str());
    const std::string where = "rules." + name;
    const ConfigSite site{file, node, where};
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      site.fail(fmt::format("is not a rule; rules are: {}", fmt::join(names, ", ")));
    }
    o.sync.rules.patterns[name] = read_strings(site);
  }
}

// [depot_names]: "<source URL as written, or its default name>" = "<directory under dest>".
void load_depot_names(const std::string& file, const toml::table& names, Options& o) {
  for (const auto& [key, node] : names) {
    const std::string from(key.str());
    const std::string where = "depot_names." + from;
    const ConfigSite site{file, node, where};
    const std::string to = read_string(site);
    if (to.empty() || to.size() > 255 || to.front() == '.' || to.find_first_of("/\\") != std::string::npos) {
      site.fail("must be one directory name (not empty, no '/', not starting with '.')");
    }
    o.sync.depot_names[from] = to;
  }
}

}  // namespace

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const ConfigKey& key : config_key_table()) keys.push_back(key.name);
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
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    const ConfigSite site{file, node, name};
    if (name == "rules") {
      if (!node.is_table()) site.fail("must be a table of rule = [patterns]");
      load_rules(file, *node.as_table(), options);
      continue;
    }
    if (name == "depot_names") {
      if (!node.is_table()) site.fail("must be a table of \"source URL or name\" = \"name\"");
      load_depot_names(file, *node.as_table(), options);
      continue;
    }
    const auto& keys = config_key_table();
    auto entry = std::find_if(keys.begin(), keys.end(), [&](const ConfigKey& k) { return k.name == name; });
    if (entry == keys.end()) site.fail("is not a known setting");
    entry->read(site, options);
  }
}

std::string render_config(const Options& o) {
  const SyncSettings& s = o.sync;
  toml::table t;
  for (const ConfigKey& key : config_key_table()) key.write(o, t);
  auto strings = [](const std::vector<std::string>& values) {
    toml::array a;
    for (const auto& v : values) a.push_back(v);
    return a;
  };
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
