// Planning a depot run is pure: zips' VIB lists and the catalog's VIB rows in, what to fetch out.
#include <catch2/catch.hpp>

#include "esxmirror/core/depot_plan.hpp"

using namespace esxmirror;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;

store::VibRef vib(const std::string& name, std::int64_t size = 1000, char digest = 'a') {
  std::string relpath = "esx/vmw/vib20/" + name + "/VMware_bootbank_" + name + "_1.0.vib";
  return {relpath, "VMware_bootbank_" + name + "_1.0", "http://depot.example/main/" + relpath, size,
          std::string(64, digest)};
}

MetadataSnapshot zip(const std::string& version, std::vector<store::VibRef> vibs) {
  MetadataSnapshot m;
  m.relpath = "esx/vmw/vmw-ESXi-" + version + "-metadata.zip";
  m.version = version;
  m.product = "embeddedEsx";
  m.sha256 = std::string(64, 'f');
  m.contents.vibs = std::move(vibs);
  return m;
}

store::VibRow row(const store::VibRef& ref, store::VibState state) {
  store::VibRow r;
  r.relpath = ref.relpath;
  r.vib_id = ref.vib_id;
  r.url = ref.url;
  r.size = ref.size;
  r.sha256 = ref.sha256;
  r.state = state;
  return r;
}

}  // namespace

TEST_CASE("depot plan: a VIB named by two zips is fetched once, and placed ones are left alone") {
  store::VibRef base = vib("esx-base"), tools = vib("tools"), nic = vib("nic");
  DepotPlanInput input;
  input.metadata = {zip("8.0.2", {base, tools}), zip("8.0.3", {base, nic})};
  input.vibs[tools.relpath] = row(tools, store::VibState::placed);
  input.now = kNow;
  DepotPlan plan = plan_vibs(input);
  REQUIRE(plan.fetch.size() == 2);
  CHECK(plan.fetch[0].relpath == base.relpath);
  CHECK(plan.fetch[1].relpath == nic.relpath);
  CHECK(plan.in_place == std::set<std::string>{tools.relpath});
  CHECK(plan.conflicts.empty());
}

TEST_CASE("depot plan: a placed VIB removed by hand, or changed upstream, is fetched again") {
  store::VibRef base = vib("esx-base"), tools = vib("tools");
  DepotPlanInput input;
  input.metadata = {zip("8.0.3", {base, tools})};
  input.vibs[base.relpath] = row(base, store::VibState::placed);
  store::VibRow old_tools = row(tools, store::VibState::placed);
  old_tools.sha256 = std::string(64, 'b');
  input.vibs[tools.relpath] = old_tools;
  input.missing_on_disk = {base.relpath};
  DepotPlan plan = plan_vibs(input);
  CHECK(plan.fetch.size() == 2);
  CHECK(plan.in_place.empty());
}

TEST_CASE("depot plan: a failed VIB waits out its backoff, then is fetched") {
  store::VibRef base = vib("esx-base");
  DepotPlanInput input;
  input.metadata = {zip("8.0.3", {base})};
  store::VibRow failed = row(base, store::VibState::failed);
  failed.next_retry_at = kNow + 3600;
  failed.last_error = "VIB x: sha-256 mismatch";
  input.vibs[base.relpath] = failed;
  input.now = kNow;
  DepotPlan plan = plan_vibs(input);
  REQUIRE(plan.deferred.size() == 1);
  CHECK(plan.deferred[0].reason == "VIB x: sha-256 mismatch");
  CHECK(plan.fetch.empty());

  input.now = kNow + 3600;
  plan = plan_vibs(input);
  CHECK(plan.deferred.empty());
  CHECK(plan.fetch.size() == 1);
}

TEST_CASE("depot plan: two zips describing one VIB differently block the later zip") {
  store::VibRef base = vib("esx-base", 1000, 'a');
  store::VibRef other = vib("esx-base", 2000, 'c');
  DepotPlanInput input;
  input.metadata = {zip("8.0.2", {base}), zip("8.0.3", {other})};
  DepotPlan plan = plan_vibs(input);
  CHECK(plan.fetch.size() == 1);
  CHECK(plan.fetch[0].size == 1000);
  REQUIRE(plan.conflicts.size() == 1);
  CHECK(plan.conflicts[0].find("vmw-ESXi-8.0.3-metadata.zip is not published") != std::string::npos);
  CHECK(plan.blocked == std::set<std::string>{"esx/vmw/vmw-ESXi-8.0.3-metadata.zip"});
}

TEST_CASE("depot plan: a zip is publishable only when every VIB it references is in place") {
  store::VibRef base = vib("esx-base"), tools = vib("tools");
  MetadataSnapshot m = zip("8.0.3", {base, tools});
  CHECK_FALSE(publishable(m, {base.relpath}, {}));
  CHECK(publishable(m, {base.relpath, tools.relpath}, {}));
  CHECK_FALSE(publishable(m, {base.relpath, tools.relpath}, {m.relpath}));
  CHECK(publishable(zip("8.0.3", {}), {}, {}));
}
