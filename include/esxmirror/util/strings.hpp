#pragma once
// Generic string helpers.
#include <string>
#include <string_view>
#include <vector>

namespace esxmirror::util {

std::string trim(std::string_view s);
std::string to_lower(std::string_view s);
// Decodes HTML character references: named (&amp; &lt; &gt; &quot; &apos; &nbsp;) and numeric (&#38; &#x26;).
std::string decode_html_entities(std::string_view s);
// Collapses runs of whitespace (incl. CR/LF) into one space and trims.
std::string collapse_whitespace(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// Human-readable byte count: "1.5 MiB".
std::string human_bytes(unsigned long long bytes);

}  // namespace esxmirror::util
