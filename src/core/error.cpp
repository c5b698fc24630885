#include "esxmirror/core/error.hpp"

#include <filesystem>
#include <string>

#include "esxmirror/util/storage_error.hpp"

namespace esxmirror {

std::string describe_unexpected(const std::exception& e) {
  const auto* fs_error = dynamic_cast<const std::filesystem::filesystem_error*>(&e);
  if (fs_error == nullptr) return std::string("unexpected failure: ") + e.what();
  // libstdc++ says "filesystem error: <operation>: <reason> [<path>]": reorder it to name the path first.
  std::string operation = fs_error->what();
  const std::string prefix = "filesystem error: ";
  if (operation.rfind(prefix, 0) == 0) operation.erase(0, prefix.size());
  const std::string reason = fs_error->code().message();
  const std::size_t cut = operation.find(": " + reason);
  if (cut != std::string::npos) operation.resize(cut);
  std::string paths = fs_error->path1().string();
  if (!fs_error->path2().empty()) paths += " -> " + fs_error->path2().string();
  return operation + " " + paths + ": " + reason + " (fix the permissions or the file named, then run again)";
}

Error run_error(const std::exception& e) {
  if (const auto* error = dynamic_cast<const Error*>(&e)) return *error;
  if (dynamic_cast<const util::StorageError*>(&e) != nullptr) return Error(ExitCode::storage, e.what());
  return Error(ExitCode::storage, describe_unexpected(e));
}

}  // namespace esxmirror
