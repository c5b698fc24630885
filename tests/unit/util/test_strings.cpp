#include <catch2/catch.hpp>

#include "esxmirror/util/strings.hpp"

using namespace esxmirror::util;

TEST_CASE("trim removes blanks and CR/LF at both ends only", "[strings]") {
  CHECK(trim("  ESX-1000039 \r\n") == "ESX-1000039");
  CHECK(trim("\t3.0.1 a\t") == "3.0.1 a");
  CHECK(trim("   ") == "");
  CHECK(trim("") == "");
}

TEST_CASE("to_lower lowers ASCII and leaves other bytes alone", "[strings]") {
  CHECK(to_lower("5A5D1185ESX") == "5a5d1185esx");
  CHECK(to_lower("\xC3\x89t\xC3\xA9") == "\xC3\x89t\xC3\xA9");
}

TEST_CASE("decode_html_entities decodes named and numeric references", "[strings]") {
  CHECK(decode_html_entities("a.tgz?x=1&amp;y=2") == "a.tgz?x=1&y=2");
  CHECK(decode_html_entities("&lt;b&gt; &quot;q&quot; &apos;s&apos;") == "<b> \"q\" 's'");
  CHECK(decode_html_entities("ESX-1000039&#46;tgz") == "ESX-1000039.tgz");
  CHECK(decode_html_entities("ESX-1000039&#x2e;tgz") == "ESX-1000039.tgz");
  CHECK(decode_html_entities("ESX-1000039&#X2E;tgz") == "ESX-1000039.tgz");
  CHECK(decode_html_entities("&AMP;") == "&");
  CHECK(decode_html_entities("a&nbsp;b") ==
        "a\xC2\xA0"
        "b");
  CHECK(decode_html_entities("&#169;") == "\xC2\xA9");
}

TEST_CASE("decode_html_entities leaves what is not a reference as written", "[strings]") {
  CHECK(decode_html_entities("AT&T") == "AT&T");
  CHECK(decode_html_entities("a & b") == "a & b");
  CHECK(decode_html_entities("&bogus;") == "&bogus;");
  CHECK(decode_html_entities("&amp") == "&amp");
  CHECK(decode_html_entities("&#;") == "&#;");
  CHECK(decode_html_entities("&#0;") == "&#0;");
  CHECK(decode_html_entities("&#xD800;") == "&#xD800;");
  CHECK(decode_html_entities("&#99999999999;") == "&#99999999999;");
  CHECK(decode_html_entities("trailing &") == "trailing &");
  CHECK(decode_html_entities("&amp;amp;") == "&amp;");
}

TEST_CASE("collapse_whitespace joins runs of blanks and CR/LF into one space", "[strings]") {
  CHECK(collapse_whitespace("  Critical\r\n   fix \t ") == "Critical fix");
  CHECK(collapse_whitespace("ESX\nServer\r\n3.0.1") == "ESX Server 3.0.1");
  CHECK(collapse_whitespace(" \r\n ") == "");
}

TEST_CASE("split keeps empty fields and join reverses it", "[strings]") {
  CHECK(split("3.0.1,3.0.2", ',') == std::vector<std::string>{"3.0.1", "3.0.2"});
  CHECK(split("a,,b,", ',') == std::vector<std::string>{"a", "", "b", ""});
  CHECK(split("", ',') == std::vector<std::string>{""});
  CHECK(join({"3.0.1", "3.0.2"}, ", ") == "3.0.1, 3.0.2");
  CHECK(join({}, ", ") == "");
  CHECK(join(split("a,,b,", ','), ",") == "a,,b,");
}

TEST_CASE("human_bytes prints binary units with one decimal", "[strings]") {
  CHECK(human_bytes(0) == "0 B");
  CHECK(human_bytes(512) == "512 B");
  CHECK(human_bytes(1023) == "1023 B");
  CHECK(human_bytes(1024) == "1.0 KiB");
  CHECK(human_bytes(1536) == "1.5 KiB");
  CHECK(human_bytes(3ULL * 1024 * 1024) == "3.0 MiB");
  CHECK(human_bytes(1288490189ULL) == "1.2 GiB");
  CHECK(human_bytes(1024ULL * 1024 - 1) == "1.0 MiB");  // never "1024.0 KiB"
  CHECK(human_bytes(18446744073709551615ULL) == "16.0 EiB");
}
