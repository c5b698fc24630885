#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include "esxmirror/core/error.hpp"
#include "esxmirror/source/legacy_html.hpp"

using namespace esxmirror;
using namespace esxmirror::source;

namespace {

// The message of the usage error that compiling `spec` throws ("" when it compiles).
std::string usage_error(const RuleSpec& spec) {
  try {
    Rules rules(spec);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  }
  return "";
}

RuleSpec with(const std::string& name, std::vector<std::string> patterns) {
  RuleSpec spec = RuleSpec::vi3();
  spec.patterns[name] = std::move(patterns);
  return spec;
}

}  // namespace

TEST_CASE("the vi3 profile has patterns for every rule name and compiles", "[rules]") {
  const RuleSpec spec = RuleSpec::vi3();
  for (const auto& name : RuleSpec::names()) {
    INFO(name);
    REQUIRE(spec.patterns.count(name) == 1);
    CHECK_FALSE(spec.patterns.at(name).empty());
  }
  CHECK(spec.patterns.size() == RuleSpec::names().size());
  CHECK_NOTHROW(Rules(spec));
}

TEST_CASE("rule names are the documented ten", "[rules]") {
  const auto& names = RuleSpec::names();
  for (const char* name : {"index_link", "patch_name", "version_block", "version", "release_date", "download_url",
                           "download_filename", "md5", "classification", "supersedes"}) {
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
  }
  CHECK(names.size() == 10);
}

TEST_CASE("a bad pattern is a usage error naming the rule and the pattern's position", "[rules]") {
  const std::string message = usage_error(with("md5", {R"(md5sum:\s*([0-9a-f]{32}))", "md5sum: ([0-9a-f"}));
  CHECK(message.rfind("rule 'md5' pattern 2: ", 0) == 0);
  CHECK(message.find("missing ]") != std::string::npos);
}

TEST_CASE("a pattern without exactly one capture group is refused", "[rules]") {
  CHECK(usage_error(with("release_date", {"Released [0-9/]+"})).rfind("rule 'release_date' pattern 1: ", 0) == 0);
  CHECK(usage_error(with("release_date", {"Released [0-9/]+"})).find("capture group") != std::string::npos);
  CHECK(usage_error(with("version", {R"((ESX) Server (\d+))"})).find("has 2") != std::string::npos);
  CHECK(usage_error(with("md5", {""})).rfind("rule 'md5' pattern 1: ", 0) == 0);
  CHECK(usage_error(with("version", {R"((?:ESX|ESXi) Server (\d+))"})) == "");
}

TEST_CASE("an unknown rule name is a usage error naming it", "[rules]") {
  const std::string message = usage_error(with("md5sum", {"(x)"}));
  CHECK(message.find("'md5sum'") != std::string::npos);
  CHECK(message.find("md5") != std::string::npos);
}

TEST_CASE("a spec that leaves a rule out keeps the built-in patterns for it", "[rules]") {
  RuleSpec spec;
  spec.patterns["md5"] = {R"(Checksum:\s*([0-9a-f]{32}))"};
  Rules rules(spec);
  const PatchRecord record =
      parse_detail_page(rules,
                        "<h2>Download Patch ESX-1 for VMware ESX Server 3.0.1</h2><p><b>Released 3/29/07</b></p>"
                        "<p>Checksum: 0123456789abcdef0123456789ABCDEF</p><p><a href=ESX-1.tgz>Download Now</a></p>",
                        "http://h/d/1-patch.html");
  CHECK(record.versions == std::vector<std::string>{"3.0.1"});
  CHECK(record.release_date == "2007-03-29");
  CHECK(record.md5() == "0123456789abcdef0123456789abcdef");
}

TEST_CASE("an empty pattern list switches a rule off", "[rules]") {
  Rules rules(with("md5", {}));
  const PatchRecord record = parse_detail_page(
      rules, "<p>md5sum: 0123456789abcdef0123456789abcdef</p><a href=x.tgz>Download Now</a>", "http://h/1-patch.html");
  CHECK_FALSE(record.md5());
}

TEST_CASE("rules match case-insensitively", "[rules]") {
  Rules rules(with("classification", {R"(severity:\s*(\w+))"}));
  const PatchRecord record = parse_detail_page(rules, "<P>SEVERITY: Important</P>", "http://h/1-patch.html");
  CHECK(record.classification == "Important");
}

TEST_CASE("for single-valued rules the first alternative that captures text wins", "[rules]") {
  Rules rules(with("classification", {R"(Class A:\s*(\w+))", R"(Class B:\s*(\w+))", R"(Class C:\s*(\w*))"}));
  CHECK(parse_detail_page(rules, "Class C: Third. Class B: Second.", "http://h/1-patch.html").classification ==
        "Second");
  // An alternative whose capture is blank does not count as found.
  Rules blank_first(with("classification", {R"(Class C:\s*(\w*))", R"(Class B:\s*(\w+))"}));
  CHECK(parse_detail_page(blank_first, "Class C: . Class B: Second.", "http://h/1-patch.html").classification ==
        "Second");
}

TEST_CASE("one compiled rule set parses pages from several threads at once", "[rules]") {
  const Rules rules(RuleSpec::vi3());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&rules, &good, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string page = "<h2>Download Patch ESX-" + std::to_string(t) + " for VMware ESX Server 3.0." +
                                 std::to_string(i) + "</h2><p><b>Released 3/29/07</b></p>";
        const PatchRecord record = parse_detail_page(rules, page, "http://h/1-patch.html");
        if (record.versions == std::vector<std::string>{"3.0." + std::to_string(i)} &&
            record.id == "ESX-" + std::to_string(t)) {
          ++good;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(good == 4 * 200);
}
