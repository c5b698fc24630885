// Planning is pure: these tests feed it values and a `now`, and read back the actions. The failure
// backoff is checked by moving `now` (an injected clock), never by sleeping.
#include <catch2/catch.hpp>

#include <cstdint>

#include "esxmirror/core/plan.hpp"

using namespace esxmirror;

namespace {

constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kNow = 1'700'000'000;

PatchRecord patch(const std::string& id, std::vector<std::string> versions, std::string md5 = "",
                  std::string classification = "General") {
  PatchRecord p;
  p.id = id;
  p.versions = std::move(versions);
  p.release_date = "2007-03-29";
  p.classification = std::move(classification);
  p.set_bundle("http://vendor.example/software/vi/" + id + ".tgz", id + ".tgz",
               md5.empty() ? std::nullopt : std::optional<std::string>(md5));
  p.page_url = "http://vendor.example/download/vi/" + id.substr(4) + "-patch.html";
  return p;
}

store::BundleRow placed_row(const std::string& id, const std::string& md5) {
  store::BundleRow row;
  row.patch_id = id;
  row.state = store::BundleState::placed;
  row.md5 = md5;
  row.verified_md5_expected = md5;
  row.path = "3.0.1/2007-03-29_" + id;
  return row;
}

store::BundleRow failed_row(const std::string& id, int failures, std::int64_t next_retry_at) {
  store::BundleRow row;
  row.patch_id = id;
  row.state = store::BundleState::failed;
  row.failures = failures;
  row.last_error = "download failed: 404 Not Found";
  row.next_retry_at = next_retry_at;
  return row;
}

PlannedPatch only(const std::vector<PlannedPatch>& plan) {
  REQUIRE(plan.size() == 1);
  return plan.front();
}

}  // namespace

TEST_CASE("next_retry_at: the first failures are due on the very next run", "[plan][backoff]") {
  CHECK(next_retry_at(1, kNow, 2, 23 * kHour, 7 * kDay) == kNow);
  CHECK(next_retry_at(2, kNow, 2, 23 * kHour, 7 * kDay) == kNow);
}

TEST_CASE("next_retry_at: after that the delay doubles from the base and stops at the cap", "[plan][backoff]") {
  const std::int64_t base = 23 * kHour, cap = 7 * kDay;
  CHECK(next_retry_at(3, kNow, 2, base, cap) == kNow + base);
  CHECK(next_retry_at(4, kNow, 2, base, cap) == kNow + 2 * base);
  CHECK(next_retry_at(5, kNow, 2, base, cap) == kNow + 4 * base);
  CHECK(next_retry_at(6, kNow, 2, base, cap) == kNow + cap);  // 8 * 23 h = 184 h > 168 h
  CHECK(next_retry_at(7, kNow, 2, base, cap) == kNow + cap);
  // A patch failing for years neither overflows nor goes past the cap.
  CHECK(next_retry_at(100000, kNow, 2, base, cap) == kNow + cap);
  // The delays never shrink as failures grow.
  std::int64_t previous = kNow;
  for (int failures = 1; failures < 40; ++failures) {
    std::int64_t due = next_retry_at(failures, kNow, 2, base, cap);
    CHECK(due >= previous);
    CHECK(due <= kNow + cap);
    previous = due;
  }
}

TEST_CASE("next_retry_at: failures_before_backoff = 0 defers from the first failure", "[plan][backoff]") {
  CHECK(next_retry_at(1, kNow, 0, kHour, kDay) == kNow + kHour);
  CHECK(next_retry_at(2, kNow, 0, kHour, kDay) == kNow + 2 * kHour);
  CHECK(next_retry_at(0, kNow, 0, kHour, kDay) == kNow);
}

TEST_CASE("selected_versions matches exactly, in selection order, without duplicates", "[plan]") {
  PatchRecord p = patch("ESX-1", {"3.0.2", "ESX Server 3.0.1"});
  CHECK(selected_versions(p, {"3.0.1", "3.0.2"}) == std::vector<std::string>{"3.0.1", "3.0.2"});
  CHECK(selected_versions(p, {"3.0.2", "3.0.1", "3.0.2"}) == std::vector<std::string>{"3.0.2", "3.0.1"});
  CHECK(selected_versions(patch("ESX-2", {"3.0.10"}), {"3.0.1"}).empty());
  CHECK(selected_versions(patch("ESX-3", {"3.0.1a"}), {"3.0.1"}).empty());
  CHECK(selected_versions(patch("ESX-4", {"3.0"}), {"3.0.1"}).empty());
  CHECK(selected_versions(patch("ESX-5", {"3.0.1"}), {"3.0"}).empty());
  CHECK(selected_versions(patch("ESX-6", {"3.0.1"}), {}).empty());
}

TEST_CASE("plan: a patch never seen is fetched, and one for other versions or without a bundle is not planned",
          "[plan]") {
  PlanInput input;
  input.versions = {"3.0.1"};
  input.now = kNow;
  PatchRecord kb = patch("ESX-1003176", {"3.0.1"});
  kb.artifacts.clear();
  input.patches = {patch("ESX-1000039", {"3.0.1"}), patch("ESX-1000100", {"3.0.10"}), kb,
                   patch("ESX-1001724", {"3.0.1", "3.0.2"})};
  std::vector<PlannedPatch> plan = plan_patches(input);
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].patch.id == "ESX-1000039");
  CHECK(plan[0].action == Action::fetch);
  CHECK(plan[0].versions == std::vector<std::string>{"3.0.1"});
  CHECK(plan[1].patch.id == "ESX-1001724");
  CHECK(plan[1].action == Action::fetch);
  CHECK(plan[1].versions == std::vector<std::string>{"3.0.1"});
}

TEST_CASE("plan: the classification filter keeps only the listed classes, case-insensitively", "[plan]") {
  PlanInput input;
  input.versions = {"3.0.1"};
  input.classifications = {"security", " Critical "};
  input.patches = {patch("ESX-1", {"3.0.1"}, "", "General"), patch("ESX-2", {"3.0.1"}, "", "Security"),
                   patch("ESX-3", {"3.0.1"}, "", "Critical"), patch("ESX-4", {"3.0.1"}, "", "")};
  std::vector<PlannedPatch> plan = plan_patches(input);
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].patch.id == "ESX-2");
  CHECK(plan[1].patch.id == "ESX-3");

  input.classifications.clear();
  CHECK(plan_patches(input).size() == 4);
}

TEST_CASE("plan: placed and unchanged is skipped, and a newly selected version is linked", "[plan]") {
  const std::string md5 = "5a5d1185a283150ed7485d1fd90e1b02";
  PlanInput input;
  input.now = kNow;
  input.patches = {patch("ESX-1001724", {"3.0.1", "3.0.2"}, md5)};
  input.bundles["ESX-1001724"] = placed_row("ESX-1001724", md5);
  input.placed_versions["ESX-1001724"] = {"3.0.1"};

  input.versions = {"3.0.1"};
  CHECK(only(plan_patches(input)).action == Action::skip);

  input.versions = {"3.0.1", "3.0.2"};
  const PlannedPatch planned = only(plan_patches(input));
  CHECK(planned.action == Action::link);
  CHECK(planned.versions == std::vector<std::string>{"3.0.1", "3.0.2"});

  input.placed_versions["ESX-1001724"] = {"3.0.1", "3.0.2"};
  CHECK(only(plan_patches(input)).action == Action::skip);
}

TEST_CASE("plan: a placed bundle whose page now shows another md5 is replaced, saying why", "[plan]") {
  PlanInput input;
  input.versions = {"3.0.1"};
  input.now = kNow;
  input.patches = {patch("ESX-1000039", {"3.0.1"}, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")};
  input.bundles["ESX-1000039"] = placed_row("ESX-1000039", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  input.placed_versions["ESX-1000039"] = {"3.0.1"};
  const PlannedPatch planned = only(plan_patches(input));
  CHECK(planned.action == Action::replace);
  CHECK(planned.reason.find("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") != std::string::npos);
  CHECK(planned.reason.find("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb") != std::string::npos);

  // A page that lost its md5 is no reason to fetch again.
  input.patches = {patch("ESX-1000039", {"3.0.1"})};
  CHECK(only(plan_patches(input)).action == Action::skip);
}

TEST_CASE("plan: a placed bundle whose directory was removed by hand is fetched again", "[plan]") {
  PlanInput input;
  input.versions = {"3.0.1"};
  input.now = kNow;
  input.patches = {patch("ESX-1000039", {"3.0.1"}, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")};
  input.bundles["ESX-1000039"] = placed_row("ESX-1000039", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  input.placed_versions["ESX-1000039"] = {"3.0.1"};
  input.missing_on_disk = {"ESX-1000039"};
  CHECK(only(plan_patches(input)).action == Action::fetch);
}

TEST_CASE("plan: a failed patch is deferred until now passes its next retry time, then fetched", "[plan][backoff]") {
  PlanInput input;
  input.versions = {"3.0.1"};
  input.patches = {patch("ESX-1000039", {"3.0.1"})};
  const std::int64_t due = kNow + 23 * kHour;
  input.bundles["ESX-1000039"] = failed_row("ESX-1000039", 3, due);

  input.now = kNow;
  const PlannedPatch deferred = only(plan_patches(input));
  CHECK(deferred.action == Action::defer);
  CHECK(deferred.reason.find("404") != std::string::npos);

  input.now = due - 1;
  CHECK(only(plan_patches(input)).action == Action::defer);
  input.now = due;
  CHECK(only(plan_patches(input)).action == Action::fetch);
  input.now = due + kDay;
  CHECK(only(plan_patches(input)).action == Action::fetch);

  // `retry` clears the time: due at once.
  input.now = kNow;
  input.bundles["ESX-1000039"].next_retry_at.reset();
  CHECK(only(plan_patches(input)).action == Action::fetch);
}

TEST_CASE("plan: a download cut by a crash (state downloading) is fetched again", "[plan]") {
  PlanInput input;
  input.versions = {"3.0.1"};
  input.now = kNow;
  input.patches = {patch("ESX-1000039", {"3.0.1"})};
  store::BundleRow row;
  row.patch_id = "ESX-1000039";
  row.state = store::BundleState::downloading;
  input.bundles["ESX-1000039"] = row;
  CHECK(only(plan_patches(input)).action == Action::fetch);
}

TEST_CASE("plan: a placed bundle whose replacement keeps failing waits out its backoff too", "[plan][backoff]") {
  // The page shows a new md5, fetching it failed (the old copy stays placed) and the failure set a
  // retry time: the next runs must not fetch it again every night before that time.
  PlanInput input;
  input.versions = {"3.0.1"};
  input.patches = {patch("ESX-1000039", {"3.0.1"}, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")};
  store::BundleRow row = placed_row("ESX-1000039", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  row.failures = 3;
  row.last_error = "md5 mismatch: the page says bbbb..., the download has aaaa...";
  row.next_retry_at = kNow + 23 * kHour;
  input.bundles["ESX-1000039"] = row;
  input.placed_versions["ESX-1000039"] = {"3.0.1"};

  input.now = kNow;
  const PlannedPatch planned = only(plan_patches(input));
  CHECK(planned.action == Action::defer);
  CHECK(planned.reason.find("md5 mismatch") != std::string::npos);
  input.now = kNow + 23 * kHour;
  CHECK(only(plan_patches(input)).action == Action::replace);
}
