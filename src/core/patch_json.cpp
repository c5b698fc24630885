#include "esxmirror/core/patch_json.hpp"

namespace esxmirror {

nlohmann::json to_json(const PatchRecord& patch) {
  nlohmann::json value = {{"id", patch.id},
                          {"versions", patch.versions},
                          {"classification", patch.classification},
                          {"supersedes", patch.supersedes},
                          {"download_url", patch.bundle_url()},
                          {"filename", patch.bundle_file()},
                          {"page_url", patch.page_url},
                          {"warnings", patch.warnings}};
  value["release_date"] = patch.release_date ? nlohmann::json(*patch.release_date) : nlohmann::json(nullptr);
  const std::optional<std::string> md5 = patch.md5();
  value["md5"] = md5 ? nlohmann::json(*md5) : nlohmann::json(nullptr);
  value["refused_download"] =
      patch.refused_download ? nlohmann::json(*patch.refused_download) : nlohmann::json(nullptr);
  return value;
}

PatchRecord patch_from_json(const nlohmann::json& value) {
  PatchRecord patch;
  patch.id = value.at("id").get<std::string>();
  patch.versions = value.at("versions").get<std::vector<std::string>>();
  patch.classification = value.at("classification").get<std::string>();
  patch.supersedes = value.at("supersedes").get<std::vector<std::string>>();
  std::optional<std::string> md5;
  if (!value.at("md5").is_null()) md5 = value.at("md5").get<std::string>();
  patch.set_bundle(value.at("download_url").get<std::string>(), value.at("filename").get<std::string>(), md5);
  patch.page_url = value.at("page_url").get<std::string>();
  patch.warnings = value.value("warnings", std::vector<std::string>{});
  if (!value.at("release_date").is_null()) patch.release_date = value.at("release_date").get<std::string>();
  if (value.contains("refused_download")) {
    if (!value.at("refused_download").is_null())
      patch.refused_download = value.at("refused_download").get<std::string>();
  } else {
    // Recorded before the field existed: the parser's warning is the only trace of a refused link.
    for (const std::string& warning : patch.warnings) {
      if (warning.rfind("download link ", 0) != 0) continue;
      patch.refused_download = warning;
      break;
    }
  }
  return patch;
}

}  // namespace esxmirror
