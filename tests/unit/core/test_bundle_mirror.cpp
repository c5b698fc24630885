// The bundle mirror's placement thread as the caller uses it while the crawl goes on: what the caller
// waits for there comes back, value or error, even when an earlier task failed (a full disk) and the
// rest of the queue was dropped.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <set>
#include <stdexcept>

#include "esxmirror/core/error.hpp"
#include "esxmirror/core/mirror.hpp"
#include "esxmirror/store/database.hpp"
#include "support/process.hpp"

using namespace esxmirror;

namespace {

struct World {
  testing::TempDir dir;
  SyncSettings settings;
  store::Database db{dir.path() / "state.db", store::Database::Mode::read_write};
  store::Catalog catalog{db};
  RunReport report;
  std::map<std::string, std::set<std::string>> placed_versions;
  MirrorContext context{settings, catalog, report, util::system_clock(), placed_versions};

  World() { settings.dest = dir.path() / "mirror"; }
};

}  // namespace

TEST_CASE("bundle mirror: call() runs its task after what was posted before it and rethrows what it throws",
          "[mirror]") {
  World w;
  BundleMirror mirror(w.context);
  std::atomic<int> order{0};
  int posted_at = -1, called_at = -1;
  mirror.post([&] { posted_at = order++; });
  mirror.call([&] { called_at = order++; });
  CHECK(posted_at == 0);
  CHECK(called_at == 1);
  CHECK_THROWS_WITH(mirror.call([] { throw std::runtime_error("cannot record the pages"); }),
                    "cannot record the pages");
  // A task's own error is the caller's: the thread goes on with the next one.
  bool ran = false;
  mirror.call([&] { ran = true; });
  CHECK(ran);
  mirror.finish();
}

TEST_CASE("bundle mirror: once a posted task failed, call() rethrows that error instead of waiting for ever",
          "[mirror]") {
  World w;
  BundleMirror mirror(w.context);
  mirror.post([] { throw Error(ExitCode::storage, "no space left on device"); });
  bool ran = false;
  CHECK_THROWS_WITH(mirror.call([&] { ran = true; }), "no space left on device");
  CHECK_FALSE(ran);
  CHECK_THROWS_WITH(mirror.finish(), "no space left on device");
}
