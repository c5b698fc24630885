#pragma once
// Reading the hand-written depot documents of tests/fixtures/depot/ in the depot unit tests.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace depot_test {

inline std::filesystem::path fixture_path(const std::string& name) {
  return std::filesystem::path(ESXMIRROR_FIXTURES) / "depot" / name;
}

inline std::string fixture(const std::string& name) {
  std::ifstream in(fixture_path(name), std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The members of the hand-written 8.0.3 metadata zip, in the order VMware's zips list them.
inline std::vector<std::pair<std::string, std::string>> metadata_members() {
  const auto root = fixture_path("metadata-8.0.3");
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
    if (entry.is_regular_file()) names.push_back(std::filesystem::relative(entry.path(), root).generic_string());
  std::sort(names.begin(), names.end());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& name : names) out.emplace_back(name, fixture("metadata-8.0.3/" + name));
  return out;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace depot_test
