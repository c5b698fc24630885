// The TOML config file: every setting is applied, and every mistake is refused with exit 2 naming
// the key and the line, so an operator editing /etc/esxmirror.toml at night knows what to fix.
#include <catch2/catch.hpp>

#include <fstream>

#include "cli/config_file.hpp"
#include "esxmirror/core/error.hpp"
#include "support/process.hpp"

using namespace esxmirror;
using namespace esxmirror::cli;
using esxmirror::testing::TempDir;

namespace {

struct ConfigFile {
  TempDir tmp;
  std::string path = (tmp / "esxmirror.toml").string();
  explicit ConfigFile(const std::string& text) { std::ofstream(path) << text; }
};

// The error loading `text` gives: its exit code must be usage (2); returns the message.
std::string config_error(const std::string& text) {
  ConfigFile file(text);
  Options options;
  try {
    load_config_file(file.path, options);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    std::string message = e.what();
    CHECK(message.find(file.path) != std::string::npos);
    return message;
  }
  FAIL("no error for:\n" << text);
  return {};
}

Options load(const std::string& text) {
  ConfigFile file(text);
  Options options;
  load_config_file(file.path, options);
  return options;
}

}  // namespace

TEST_CASE("config: an unknown key is refused naming the key and its line", "[config]") {
  std::string message = config_error("jobs = 4\n\n# a comment\nparallel_downloads = 8\n");
  CHECK(message.find(":4:") != std::string::npos);
  CHECK(message.find("'parallel_downloads'") != std::string::npos);
  CHECK(message.find("not a known setting") != std::string::npos);
}

TEST_CASE("config: a value of the wrong type is refused naming the key and its line", "[config]") {
  std::string message = config_error("dest = \"/srv/esx-mirror\"\njobs = \"four\"\n");
  CHECK(message.find(":2:") != std::string::npos);
  CHECK(message.find("'jobs'") != std::string::npos);
  CHECK(message.find("integer") != std::string::npos);

  message = config_error("dry_run = \"yes\"\n");
  CHECK(message.find(":1:") != std::string::npos);
  CHECK(message.find("'dry_run'") != std::string::npos);

  message = config_error("source = 42\n");
  CHECK(message.find("'source'") != std::string::npos);
  CHECK(message.find("string") != std::string::npos);

  message = config_error("jobs = 2\nesx_version = [\"3.0.1\",\n  3]\n");
  CHECK(message.find("'esx_version'") != std::string::npos);
  CHECK(message.find(":3:") != std::string::npos);  // the offending item's line

  message = config_error("[proxy]\nurl = \"http://proxy:3128\"\n");
  CHECK(message.find("'proxy'") != std::string::npos);
  CHECK(message.find(":1:") != std::string::npos);
}

TEST_CASE("config: an out-of-range or malformed value is refused naming the key and its line", "[config]") {
  std::string message = config_error("jobs = 0\n");
  CHECK(message.find("'jobs'") != std::string::npos);
  CHECK(message.find("1 to 64") != std::string::npos);
  CHECK(message.find(":1:") != std::string::npos);

  message = config_error("source = \"x\"\n\njobs = 65\n");
  CHECK(message.find(":3:") != std::string::npos);

  message = config_error("limit_rate = \"5X\"\n");
  CHECK(message.find("'limit_rate'") != std::string::npos);

  message = config_error("limit_rate = -1\n");
  CHECK(message.find("'limit_rate'") != std::string::npos);

  message = config_error("max_unpack_ratio = 0.5\n");
  CHECK(message.find("'max_unpack_ratio'") != std::string::npos);

  message = config_error("failures_before_backoff = -1\n");
  CHECK(message.find("'failures_before_backoff'") != std::string::npos);
}

TEST_CASE("config: [rules] takes only known rule names, each a pattern or a list of them", "[config]") {
  std::string message = config_error("[rules]\nrelease_date = ['x(.*)']\nreleased = ['x(.*)']\n");
  CHECK(message.find("'rules.released'") != std::string::npos);
  CHECK(message.find(":3:") != std::string::npos);
  CHECK(message.find("release_date") != std::string::npos);  // says which names exist

  message = config_error("[rules]\nmd5 = 5\n");
  CHECK(message.find("'rules.md5'") != std::string::npos);

  message = config_error("rules = \"vi3\"\n");
  CHECK(message.find("'rules'") != std::string::npos);

  Options o =
      load("[rules]\nrelease_date = '(?i)Released\\s+on\\s+([^<]+)'\nmd5 = ['a([0-9a-f]{32})', 'b([0-9a-f]{32})']\n");
  CHECK(o.sync.rules.patterns.at("release_date") == std::vector<std::string>{"(?i)Released\\s+on\\s+([^<]+)"});
  CHECK(o.sync.rules.patterns.at("md5").size() == 2);
}

TEST_CASE("config: a TOML syntax error is refused with its line", "[config]") {
  std::string message = config_error("jobs = 4\nsource = \"unterminated\n");
  CHECK(message.find(":2:") != std::string::npos);
}

TEST_CASE("config: a missing config file is a usage error naming the file", "[config]") {
  Options options;
  TempDir tmp;
  std::string missing = (tmp / "nope.toml").string();
  try {
    load_config_file(missing, options);
    FAIL("no error for a missing file");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK(std::string(e.what()).find(missing) != std::string::npos);
  }
}

TEST_CASE("config: every kind of value is applied to the settings", "[config]") {
  Options o = load(R"(
source = "http://vendor.example/download/vi/vi3_patches.html"
esx_version = ["3.0.1", "3.0.2"]
classification = "Security"
dest = "/srv/esx-mirror"
jobs = 7
page_jobs = 3
keep_archives = true
proxy = "http://proxy.internal:3128"
limit_rate = "5M"
max_page_bytes = 1024
connect_timeout = 12
retries = 2
retry_base_delay_ms = 20
failures_before_backoff = 0
failure_backoff_hours = 1
failure_backoff_max_hours = 48
max_unpack_ratio = 50
report = "-"
metrics = "/tmp/esxmirror.prom"
verbose = 2
)");
  CHECK(o.sync.sources == std::vector<std::string>{"http://vendor.example/download/vi/vi3_patches.html"});
  CHECK(o.sync.versions == std::vector<std::string>{"3.0.1", "3.0.2"});
  CHECK(o.sync.classifications == std::vector<std::string>{"Security"});
  CHECK(o.sync.dest == "/srv/esx-mirror");
  CHECK(o.sync.state_path() == "/srv/esx-mirror/.esxmirror/state.db");
  CHECK(o.sync.jobs == 7);
  CHECK(o.sync.page_jobs == 3);
  CHECK(o.sync.keep_archives);
  CHECK(o.sync.network.proxy == "http://proxy.internal:3128");
  CHECK(o.sync.network.limit_rate == 5ull * 1024 * 1024);
  CHECK(o.sync.network.max_page_bytes == 1024);
  CHECK(o.sync.network.connect_timeout_s == 12);
  CHECK(o.sync.retry.max_attempts == 2);
  CHECK(o.sync.retry.base_delay == std::chrono::milliseconds(20));
  CHECK(o.sync.failures_before_backoff == 0);
  CHECK(o.sync.failure_backoff == std::chrono::hours(1));
  CHECK(o.sync.failure_backoff_max == std::chrono::hours(48));
  CHECK(o.sync.limits.max_ratio == Approx(50.0));
  CHECK(o.report_file == "-");
  CHECK(o.metrics_file == "/tmp/esxmirror.prom");
  CHECK(o.verbose == 2);
}

TEST_CASE("config show masks the proxy password and URL tokens", "[config]") {
  Options o = load(
      "source = \"https://vendor.example/dl/vi3_patches.html?token=abc123secret&lang=en\"\n"
      "proxy = \"http://user:s3cretpw@proxy.internal:3128\"\n");
  std::string shown = render_config(o);
  CHECK(shown.find("s3cretpw") == std::string::npos);
  CHECK(shown.find("abc123secret") == std::string::npos);
  CHECK(shown.find("proxy.internal:3128") != std::string::npos);
  CHECK(shown.find("vendor.example") != std::string::npos);
}

TEST_CASE("config show prints a config that loads back to the same settings", "[config]") {
  Options o = load(R"(
source = "http://vendor.example/download/vi/vi3_patches.html"
esx_version = ["3.0.1"]
jobs = 3
limit_rate = "1M"
failure_backoff_hours = 5
max_unpack_ratio = 20.5
[rules]
md5 = ['md5:\s*([0-9a-f]{32})']
)");
  std::string first = render_config(o);
  ConfigFile again(first);
  Options reloaded;
  REQUIRE_NOTHROW(load_config_file(again.path, reloaded));
  CHECK(render_config(reloaded) == first);
  CHECK(reloaded.sync.jobs == 3);
  CHECK(reloaded.sync.network.limit_rate == 1024 * 1024);
  CHECK(reloaded.sync.failure_backoff == std::chrono::hours(5));
}
