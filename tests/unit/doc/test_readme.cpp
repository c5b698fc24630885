// The README's option table and its list of config-only keys name every key the config file accepts
// (the key table in src/cli/config_keys.cpp), so an operator reading it sees every setting there is.
#include <catch2/catch.hpp>

#include "cli/config_file.hpp"
#include "esxmirror/util/fs.hpp"

TEST_CASE("README: every config key is named in the usage section", "[doc]") {
  const std::string text = esxmirror::util::read_file(std::string(ESXMIRROR_DOC_DIR) + "/../README.md");
  const std::size_t usage = text.find("## Usage");
  const std::size_t end = text.find("\n## ", usage + 1);
  REQUIRE(usage != std::string::npos);
  const std::string section = text.substr(usage, end - usage);
  for (const std::string& key : esxmirror::cli::config_keys()) {
    const bool table = key.rfind("rules.", 0) == 0 || key == "depot_names";
    const std::string name = table ? "[" + key.substr(0, key.find('.')) + "]" : key;
    INFO("config key " << key << ": add it to README.md's option table or its config-only keys");
    CHECK(section.find("`" + name + "`") != std::string::npos);
  }
}
