#pragma once
// Every top-level config key once: its name, the range of an integer, how it is read from TOML and how
// `config show` writes it back. The config reader, `config show`, the CLI's range checks and the man
// page's test all take keys from here, so they cannot disagree.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "cli/options.hpp"

namespace esxmirror::cli {

// Where a value is read from: throws Error(usage) naming the file, line and key.
struct ConfigSite {
  const std::string& file;
  const toml::node& node;
  const std::string& key;
  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void fail_at(const toml::node& at, const std::string& what) const;
};

struct IntRange {
  std::int64_t min = 0, max = 0;
};

struct ConfigKey {
  std::string name;
  std::function<void(const ConfigSite&, Options&)> read;
  std::function<void(const Options&, toml::table&)> write;  // leaves the key out when it has no value
  std::optional<IntRange> range = std::nullopt;             // integers only
};

// The top-level keys ([rules] and [depot_names] are tables of their own, read by config_file.cpp).
const std::vector<ConfigKey>& config_key_table();

// The range of integer key `name` ("jobs" -> 1..64); throws std::logic_error for any other key.
IntRange config_range(const std::string& name);

// Values of the common TOML shapes, checked; each fails through `site`.
std::string read_string(const ConfigSite& site);
std::vector<std::string> read_strings(const ConfigSite& site);  // a string or an array of strings

}  // namespace esxmirror::cli
