// Issue 8 §4: the vendor's download token. Where it comes from (--token-file, stripped; ESXMIRROR_TOKEN;
// the file wins), what is refused before any request (no token, a file others can read), what 401 and
// 403 say, and that the token appears nowhere esxmirror writes: not in its output, report, metrics, log,
// state database (-wal and -shm included) or any file under the destination.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

// ESXMIRROR_TOKEN for the children started while it lives; the previous value is restored after.
class TokenEnvironment {
 public:
  explicit TokenEnvironment(const std::optional<std::string>& value) {
    if (const char* old = std::getenv("ESXMIRROR_TOKEN")) previous_ = old;
    if (value)
      ::setenv("ESXMIRROR_TOKEN", value->c_str(), 1);
    else
      ::unsetenv("ESXMIRROR_TOKEN");
  }
  ~TokenEnvironment() {
    if (previous_)
      ::setenv("ESXMIRROR_TOKEN", previous_->c_str(), 1);
    else
      ::unsetenv("ESXMIRROR_TOKEN");
  }
  TokenEnvironment(const TokenEnvironment&) = delete;
  TokenEnvironment& operator=(const TokenEnvironment&) = delete;

 private:
  std::optional<std::string> previous_;
};

std::vector<std::string> verdicts(const SiteServer& server) {
  std::vector<std::string> out;
  for (const Hit& hit : server.hits()) out.push_back(hit.token);
  return out;
}

bool all_valid(const SiteServer& server) {
  const std::vector<std::string> seen = verdicts(server);
  return !seen.empty() && std::all_of(seen.begin(), seen.end(), [](const std::string& v) { return v == "valid"; });
}

}  // namespace

TEST_CASE("depot token: the leak search finds the token whole or in part, in any file or text",
          "[depot][depot-token]") {
  // The secrets test trusts secret_leaks(); shown here to find what it must.
  TempDir tmp;
  fs::create_directories(tmp / "a" / "b");
  std::ofstream(tmp / "a" / "b" / "state.db-wal", std::ios::binary)
      << std::string(5000, '\0') << "x" << kDepotToken.substr(9, 12) << "y";
  std::ofstream(tmp / "clean.log") << "GET http://127.0.0.1/***/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml\n";
  CHECK(secret_leaks(kDepotToken, {tmp.path()}).size() == 1);
  CHECK(secret_leaks(kDepotToken, {tmp / "clean.log"}).empty());
  CHECK(secret_leaks(kDepotToken, {}, {{"stderr", "token " + kDepotToken}}).size() == 1);
  CHECK(secret_leaks(kDepotToken, {}, {{"stderr", kDepotToken.substr(0, 11)}}).empty());  // shorter than a piece
}

TEST_CASE("depot token: read from --token-file with surrounding whitespace stripped", "[depot][depot-token]") {
  TokenEnvironment none(std::nullopt);
  DepotFixture f;
  f.write_token("  \t" + kDepotToken + " \r\n\n");
  ProcessResult r = f.sync({"--esx-version", "8.0.3"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(all_valid(f.server));
  CHECK(mirror_differences(f.mirror(), f.server.depot(), {"8.0.3"}).empty());
}

TEST_CASE("depot token: ESXMIRROR_TOKEN is used without a file, and a --token-file wins over it",
          "[depot][depot-token]") {
  DepotFixture f;
  SECTION("the environment alone") {
    TokenEnvironment env(kDepotToken);
    ProcessResult r = f.sync_without_source({"--source", f.source(), "--esx-version", "8.0.3"});
    INFO(r.all());
    REQUIRE(r.exit_code == 0);
    CHECK(all_valid(f.server));
    CHECK(mirror_differences(f.mirror(), f.server.depot(), {"8.0.3"}).empty());
  }
  SECTION("the file wins over the environment") {
    TokenEnvironment env(std::string("NotTheRightTokenFromTheEnvironment"));
    ProcessResult r = f.sync({"--esx-version", "8.0.3"});
    INFO(r.all());
    REQUIRE(r.exit_code == 0);
    CHECK(all_valid(f.server));  // the environment's token was never sent
  }
}

TEST_CASE("depot token: a {token} URL with no token given exits 2 before any request", "[depot][depot-token]") {
  TokenEnvironment none(std::nullopt);
  DepotFixture f;
  ProcessResult r = f.sync_without_source({"--source", f.source(), "--esx-version", "8.0.3"});
  INFO(r.all());
  CHECK(r.exit_code == 2);
  CHECK(has(r.err, "token"));
  CHECK(f.server.hits().empty());
  CHECK_FALSE(fs::exists(f.mirror()));
}

TEST_CASE("depot token: a token file readable by group or others is refused with exit 2 before any request",
          "[depot][depot-token]") {
  TokenEnvironment none(std::nullopt);
  DepotFixture f;
  using fs::perms;
  perms mode = perms::owner_read | perms::owner_write;
  SECTION("group-readable") { mode |= perms::group_read; }
  SECTION("world-readable") { mode |= perms::others_read; }
  f.write_token(kDepotToken + "\n", mode);
  ProcessResult r = f.sync({"--esx-version", "8.0.3"});
  INFO(r.all());
  CHECK(r.exit_code == 2);
  CHECK(has(r.err, f.token_file.string()));  // names the file, so the operator knows what to chmod
  CHECK(f.server.hits().empty());
  CHECK(secret_leaks(kDepotToken, {}, {{"stdout", r.out}, {"stderr", r.err}}).empty());

  // The same file kept to its owner is accepted: the mode was the reason.
  fs::permissions(f.token_file, perms::owner_read | perms::owner_write, fs::perm_options::replace);
  ProcessResult fixed = f.sync({"--esx-version", "8.0.3"});
  INFO(fixed.all());
  CHECK(fixed.exit_code == 0);
}

TEST_CASE("depot token: 401 on the depot index exits 4 saying the token has expired, and is not retried",
          "[depot][depot-token]") {
  DepotFixture f;
  f.write_token(kExpiredToken + "\n");
  const fs::path report = f.tmp / "report.json";
  ProcessResult r = f.sync({"--esx-version", "8.0.3", "--report", report.string()});
  INFO(r.all());
  CHECK(r.exit_code == 4);
  CHECK(has(r.err, "expired"));
  CHECK(f.server.count(f.logged(SampleDepot::index_path())) == 1);
  CHECK(f.server.hits().size() == 1);
  CHECK(read_tree(f.mirror()).empty());
  CHECK(secret_leaks(kExpiredToken, {f.dest, report}, {{"stdout", r.out}, {"stderr", r.err}}).empty());
}

TEST_CASE(
    "depot token: 403 on the depot index exits 4 saying the token is invalid, missing or not entitled, and is "
    "not retried",
    "[depot][depot-token]") {
  DepotFixture f;
  const std::string wrong = "WrongT0kenNobodyIssuedZ4k8Pq2Lm";
  f.write_token(wrong + "\n");
  ProcessResult r = f.sync({"--esx-version", "8.0.3"});
  INFO(r.all());
  CHECK(r.exit_code == 4);
  CHECK(has(r.err, "not entitled"));
  CHECK(has(r.err, "invalid"));
  CHECK(f.server.hits().size() == 1);
  CHECK(verdicts(f.server) == std::vector<std::string>{"invalid"});
  CHECK(read_tree(f.mirror()).empty());
  CHECK(secret_leaks(wrong, {f.dest}, {{"stdout", r.out}, {"stderr", r.err}}).empty());
}

TEST_CASE(
    "depot token: the token appears nowhere esxmirror writes: output, report, metrics, log, state database "
    "with its -wal and -shm, partial downloads, the mirror",
    "[depot][depot-token][secrets]") {
  TokenEnvironment none(std::nullopt);
  DepotFixture f;
  f.configure("retries = 1\n");  // a cut VIB fails at once and stays as a partial download with its record
  const fs::path out = f.tmp / "out";
  fs::create_directories(out);
  const SampleDepot depot = f.server.depot();
  const std::vector<std::string> vibs = depot.release("8.0.3").new_vib_ids;
  REQUIRE(vibs.size() >= 2);
  Fault gone;
  gone.status = 404, gone.status_times = -1;
  f.server.set_fault(f.logged(depot.vib_path(vibs[0])), gone);
  Fault cut;
  cut.cut_after_bytes = 700, cut.cut_times = 1;
  f.server.set_fault(f.logged(depot.vib_path(vibs[1])), cut);

  std::map<std::string, std::string> texts;
  const auto keep = [&](const std::string& name, const ProcessResult& r) {
    texts[name + " stdout"] = r.out;
    texts[name + " stderr"] = r.err;
  };
  const std::vector<fs::path> written = {f.dest, out};
  const auto leaks = [&] { return secret_leaks(kDepotToken, written, texts); };

  // A run with errors (a 404, a cut) at the highest verbosity, writing every output there is.
  ProcessResult first =
      f.sync({"--esx-version", "8.0", "--report", (out / "report.json").string(), "--metrics",
              (out / "esxmirror.prom").string(), "--log-file", (out / "esxmirror.log").string(), "-vv"});
  INFO(first.all());
  CHECK(first.exit_code == 1);
  CHECK(all_valid(f.server));  // the token was used on every request
  keep("first sync", first);
  CHECK(leaks().empty());

  // A run killed mid-transfer: the state database's -wal and the partial download are left as they are.
  f.server.clear_faults();
  f.server.reset_hits();
  Fault slow;
  slow.drip_bytes_per_s = 8 * 1024;
  for (const std::string& id : depot.vibs_for({"7.0"})) f.server.set_fault(f.logged(depot.vib_path(id)), slow);
  Child child(binary_path(),
              f.sync_args({"--esx-version", "7.0", "--log-file", (out / "esxmirror.log").string(), "-vv"}, f.dest),
              out);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  const auto under_way = [&] {
    for (const Hit& hit : f.server.hits())
      if (is_vib_request(hit) && has(hit.path, "vib20") && hit.body_bytes >= 2048) return true;
    return false;
  };
  while (!under_way() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(under_way());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  child.signal(SIGKILL);
  ProcessResult killed = child.wait();
  CHECK(killed.signal == SIGKILL);
  keep("killed sync", killed);
  CHECK(leaks().empty());

  // The next runs complete it and refuse an expired token, each writing its report.
  f.server.clear_faults();
  ProcessResult second = f.sync({"--esx-version", "7.0", "--esx-version", "8.0", "--report", "-", "-v"});
  CHECK(second.exit_code == 0);
  keep("second sync", second);
  f.write_token(kExpiredToken);
  ProcessResult refused = f.sync({"--esx-version", "8.0", "--report", (out / "refused.json").string(), "--metrics",
                                  (out / "esxmirror.prom").string(), "--log-file", (out / "esxmirror.log").string()});
  CHECK(refused.exit_code == 4);
  keep("refused sync", refused);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"list"}, {"list", "--json"}, {"status"}, {"status", "--json"}}) {
    ProcessResult r = f.command(args[0], {args.begin() + 1, args.end()});
    keep(args[0] + (args.size() > 1 ? " --json" : ""), r);
  }
  CHECK(leaks().empty());
  CHECK(secret_leaks(kExpiredToken, written, texts).empty());
  // The searches looked at what they should: the state database and the outputs exist.
  CHECK(fs::is_regular_file(f.dest / ".esxmirror" / "state.db"));
  CHECK(fs::is_regular_file(out / "report.json"));
  CHECK(fs::is_regular_file(out / "esxmirror.prom"));
  CHECK(fs::is_regular_file(out / "esxmirror.log"));
}
