#include "net/partial_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace esxmirror::net {

std::filesystem::path partial_path(const std::filesystem::path& file) {
  std::filesystem::path p = file;
  p += ".part";
  return p;
}

std::filesystem::path partial_meta_path(const std::filesystem::path& file) {
  std::filesystem::path p = file;
  p += ".part.meta";
  return p;
}

void discard_partial(const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::remove(partial_meta_path(file), ec);
  std::filesystem::remove(partial_path(file), ec);
}

namespace detail {

namespace {
constexpr const char* kMagic = "esxmirror-partial 1";
}

std::string header_safe(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
  }
  return out;
}

std::optional<PartialRecord> read_partial_record(const std::filesystem::path& file) {
  std::ifstream in(partial_meta_path(file), std::ios::binary);
  if (!in) return std::nullopt;
  std::string line;
  if (!std::getline(in, line) || line != kMagic) return std::nullopt;
  PartialRecord record;
  bool have_url = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto space = line.find(' ');
    const std::string key = line.substr(0, space);
    const std::string value = space == std::string::npos ? std::string() : line.substr(space + 1);
    if (key == "url") {
      record.url = value;
      have_url = true;
    } else if (key == "etag") {
      record.validators.etag = value;
    } else if (key == "last_modified") {
      record.validators.last_modified = value;
    }
  }
  if (!have_url) return std::nullopt;
  return record;
}

void write_partial_record(const std::filesystem::path& file, const PartialRecord& record) {
  const auto target = partial_meta_path(file);
  auto temporary = target;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << kMagic << '\n'
        << "url " << header_safe(record.url) << '\n'
        << "etag " << header_safe(record.validators.etag) << '\n'
        << "last_modified " << header_safe(record.validators.last_modified) << '\n';
    out.flush();
    if (!out) {
      const int err = errno;
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw std::runtime_error("cannot write " + target.string() + ": " + std::strerror(err));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, target, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw std::runtime_error("cannot write " + target.string() + ": " + ec.message());
  }
}

void remove_partial_record(const std::filesystem::path& file) noexcept {
  std::error_code ec;
  std::filesystem::remove(partial_meta_path(file), ec);
}

std::string if_range_value(const Validators& validators) {
  const std::string& etag = validators.etag;
  if (!etag.empty() && etag.rfind("W/", 0) != 0) return etag;
  return validators.last_modified;
}

}  // namespace detail
}  // namespace esxmirror::net
