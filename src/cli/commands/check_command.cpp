// `esxmirror check`: what a sync would mirror from each source, as text for an operator or JSON for monitoring.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "cli/token.hpp"
#include "esxmirror/core/check.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/interrupt.hpp"
#include "esxmirror/util/strings.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::cli {

namespace {

using nlohmann::json;

std::string plural(int n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

std::string bytes(std::uint64_t n) { return util::human_bytes(n); }

// "embeddedEsx 7.0.2, 8.0.3; esxio 8.0.3" from "embeddedEsx 7.0.2", ... (legacy versions: "3.0.1, 3.0.2").
std::string offers_text(const std::vector<std::string>& offered) {
  std::string out, product;
  for (const std::string& offer : offered) {
    std::size_t space = offer.find(' ');
    std::string mine = space == std::string::npos ? "" : offer.substr(0, space);
    std::string version = space == std::string::npos ? offer : offer.substr(space + 1);
    if (out.empty() || mine != product) {
      out += (out.empty() ? "" : "; ") + (mine.empty() ? "" : mine + " ") + version;
      product = mine;
    } else {
      out += ", " + version;
    }
  }
  return out.empty() ? "nothing" : out;
}

std::string depot_version_line(const VersionCheck& v) {
  std::string line = fmt::format("  {}: {}", v.version, plural(v.metadata, "metadata entry", "metadata entries"));
  if (v.metadata_unread) line += fmt::format(" ({} not read)", v.metadata_unread);
  line += fmt::format(", {}, {} ({}); in the mirror {} ({}); to fetch {} ({})",
                      plural(v.bulletins, "bulletin", "bulletins"), plural(v.files, "VIB", "VIBs"), bytes(v.bytes),
                      plural(v.mirrored, "VIB", "VIBs"), bytes(v.mirrored_bytes), plural(v.to_fetch, "VIB", "VIBs"),
                      bytes(v.fetch_bytes));
  if (v.waiting) line += fmt::format("; {} waiting out a backoff", v.waiting);
  if (v.metadata_unread) {
    line += fmt::format("; not counted: what the unread {} ({}) hold (--read-metadata reads them)",
                        v.metadata_unread == 1 ? "entry" : "entries", bytes(v.unread_bytes));
  }
  return line + "\n";
}

std::string legacy_version_line(const VersionCheck& v) {
  std::string line = fmt::format("  {}: {} ({}", v.version, plural(v.files, "bundle", "bundles"), bytes(v.bytes));
  if (v.sizes_unknown) line += fmt::format(", {} of unknown size", v.sizes_unknown);
  line += fmt::format("); in the mirror {} ({}); to fetch {} ({})", v.mirrored, bytes(v.mirrored_bytes), v.to_fetch,
                      bytes(v.fetch_bytes));
  if (v.to_link) line += fmt::format(", {} to link", v.to_link);
  if (v.waiting) line += fmt::format("; {} waiting out a backoff", v.waiting);
  return line + "\n";
}

std::string render_text(const CheckReport& report) {
  std::string out;
  int readable = 0;
  for (const SourceCheck& s : report.sources) {
    const SourceReport& r = s.source;
    const bool depot = r.kind == "depot";
    out += fmt::format("{}{} {}\n", r.kind.empty() ? "source" : r.kind, depot && !r.name.empty() ? " " + r.name : "",
                       r.url);
    if (r.exit_code == ExitCode::source) {
      out += "  unreadable: " + util::mask_secrets(r.message) + "\n";
      continue;
    }
    ++readable;
    out += fmt::format("  readable: {}", plural(static_cast<int>(r.requests), "request", "requests"));
    if (!r.failed_documents.empty())
      out += fmt::format(", {} could not be read",
                         plural(static_cast<int>(r.failed_documents.size()), "document", "documents"));
    if (!r.message.empty()) out += "; " + util::mask_secrets(r.message);
    out += "\n  offers: " + offers_text(s.offered) + "\n";
    for (const MetadataReport& zip : r.metadata) {
      std::string state = zip.state == "changed" || zip.state == "new" ? zip.state + ", not read" : zip.state;
      out += fmt::format("  metadata {} ({} {}): {}{}\n", zip.path, zip.product, zip.version, state,
                         zip.size ? ", " + bytes(*zip.size) : "");
    }
    for (const VersionCheck& v : s.versions) out += depot ? depot_version_line(v) : legacy_version_line(v);
  }
  out += fmt::format("esxmirror: check: {} readable of {}; {} in {:.1f} s; exit {}\n", readable,
                     plural(static_cast<int>(report.sources.size()), "source", "sources"),
                     plural(static_cast<int>(report.requests), "request", "requests"), report.seconds,
                     static_cast<int>(report.exit_code));
  return out;
}

std::string render_json(const CheckReport& report) {
  json sources = json::array();
  for (const SourceCheck& s : report.sources) {
    const SourceReport& r = s.source;
    json metadata = json::array();
    for (const MetadataReport& zip : r.metadata) {
      metadata.push_back({{"path", zip.path},
                          {"version", zip.version},
                          {"product", zip.product},
                          {"state", zip.state},
                          {"size", zip.size ? json(*zip.size) : json(nullptr)}});
    }
    json versions = json::array();
    for (const VersionCheck& v : s.versions) {
      versions.push_back({{"version", v.version},
                          {"metadata", v.metadata},
                          {"metadata_unread", v.metadata_unread},
                          {"unread_bytes", v.unread_bytes},
                          {"bulletins", v.bulletins},
                          {"files", v.files},
                          {"bytes", v.bytes},
                          {"sizes_unknown", v.sizes_unknown},
                          {"mirrored", v.mirrored},
                          {"mirrored_bytes", v.mirrored_bytes},
                          {"to_fetch", v.to_fetch},
                          {"fetch_bytes", v.fetch_bytes},
                          {"to_link", v.to_link},
                          {"waiting", v.waiting}});
    }
    sources.push_back({{"url", r.url},
                       {"kind", r.kind},
                       {"name", r.name},
                       {"readable", r.exit_code != ExitCode::source},
                       {"exit_code", static_cast<int>(r.exit_code)},
                       {"message", util::mask_secrets(r.message)},
                       {"requests", r.requests},
                       {"failed_documents", r.failed_documents},
                       {"offered", s.offered},
                       {"metadata", metadata},
                       {"versions", versions}});
  }
  json j = {{"exit_code", static_cast<int>(report.exit_code)},
            {"seconds", report.seconds},
            {"requests", report.requests},
            {"warnings", report.warnings},
            {"sources", sources}};
  return j.dump(2) + "\n";
}

}  // namespace

int run_check(Options& options) {
  if (options.sync.sources.empty()) {
    throw Error(ExitCode::usage,
                "check needs --source URL (the vendor's patch index page, or a depot's "
                "vmw-depot-index.xml)");
  }
  load_token(options);
  options.sync.network.stop_flag = &stop_requested();
  options.sync.probe_metadata = !options.read_metadata;
  CheckReport report = check(options.sync);
  // check collects its notices in the report (the probes run in a dry run's memory) and tells them here.
  const auto tell = notice_printer();
  for (const SourceCheck& s : report.sources) {
    if (s.source.exit_code == ExitCode::source) print_error(s.source.message);
    for (const std::string& problem : s.source.failed_documents) tell(Notice::failure, s.source.name + ": " + problem);
  }
  for (const std::string& warning : report.warnings) tell(Notice::warning, warning);
  std::string out = options.json ? render_json(report) : options.quiet ? "" : render_text(report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return static_cast<int>(report.exit_code);
}

}  // namespace esxmirror::cli
