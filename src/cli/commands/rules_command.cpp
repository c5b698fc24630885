#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "cli/commands/commands.hpp"
#include "esxmirror/core/plan.hpp"
#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/util/fs.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror::cli {

namespace {

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

int run_rules_test(const Options& options) {
  source::Rules rules(options.sync.rules);
  std::string html = util::read_file(options.page_file);
  std::string base = options.sync.source_url.empty()
                         ? "file://" + std::filesystem::absolute(options.page_file).lexically_normal().string()
                         : options.sync.source_url;

  std::string out = fmt::format("page: {}\n", options.page_file);
  std::vector<std::string> links = source::extract_index_links(rules, html, base);
  out += fmt::format("index links ({}):\n", links.size());
  for (const std::string& link : links) out += fmt::format("  {}\n", link);

  PatchRecord patch = source::parse_detail_page(rules, html, base);
  out += "as a detail page:\n";
  out += fmt::format("  id:             {}\n", or_dash(patch.id));
  out += fmt::format("  versions:       {}\n", or_dash(util::join(patch.versions, ", ")));
  out += fmt::format("  release date:   {}\n", patch.release_date.value_or("- (stored as undated_<bundle>)"));
  out += fmt::format("  classification: {}\n", or_dash(patch.classification));
  out += fmt::format("  supersedes:     {}\n", or_dash(util::join(patch.supersedes, ", ")));
  out += fmt::format("  filename:       {}\n", or_dash(patch.bundle_file()));
  out += fmt::format("  download url:   {}\n", patch.has_bundle() ? patch.bundle().url : "- (no bundle: a KB note)");
  out += fmt::format("  md5:            {}\n", patch.md5().value_or("-"));
  for (const std::string& warning : patch.warnings) out += fmt::format("  warning:        {}\n", warning);
  for (const std::string& version : options.sync.versions) {
    bool match = !selected_versions(patch, {version}).empty();
    out += fmt::format("  for {}:{}{}\n", version, std::string(version.size() < 10 ? 10 - version.size() : 1, ' '),
                       match ? (patch.has_bundle() ? "yes, would be mirrored" : "listed, but no bundle") : "no");
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace esxmirror::cli
