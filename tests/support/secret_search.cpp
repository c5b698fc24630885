#include "support/secret_search.hpp"

#include <fstream>
#include <iterator>

namespace esxmirror::testing {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> regular_files(const std::vector<fs::path>& roots) {
  std::vector<fs::path> files;
  for (const fs::path& root : roots) {
    if (fs::is_regular_file(root)) files.push_back(root);
    if (!fs::is_directory(root)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  return files;
}

}  // namespace

std::vector<std::string> places_holding(const std::vector<std::string>& secrets, const std::vector<fs::path>& roots,
                                        const std::map<std::string, std::string>& texts) {
  std::vector<std::string> places;
  const auto search = [&](const std::string& where, const std::string& bytes) {
    for (const std::string& secret : secrets) {
      if (bytes.find(secret) != std::string::npos) places.push_back(where + ": " + secret);
    }
  };
  for (const fs::path& file : regular_files(roots)) {
    std::ifstream in(file, std::ios::binary);
    search(file.string(), std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  }
  for (const auto& [name, text] : texts) search(name, text);
  return places;
}

std::size_t files_under(const std::vector<fs::path>& roots) { return regular_files(roots).size(); }

}  // namespace esxmirror::testing
