#include "esxmirror/core/notices.hpp"

#include <utility>

namespace esxmirror {

void warn(const SyncSettings& settings, RunReport& report, std::string text) {
  warn(settings, text);
  report.warnings.push_back(std::move(text));
}

void warn(const SyncSettings& settings, const std::string& text) {
  if (settings.on_notice) settings.on_notice(Notice::warning, text);
}

void tell_failure(const SyncSettings& settings, const std::string& text) {
  if (settings.on_notice) settings.on_notice(Notice::failure, text);
}

}  // namespace esxmirror
