// bundle/layout: which directory of an unpacked archive becomes the bundle directory, and how the layout
// of releases before schema 2 is recognised.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "esxmirror/bundle/layout.hpp"
#include "support/process.hpp"

namespace fs = std::filesystem;
using namespace esxmirror::bundle;
using esxmirror::testing::TempDir;

namespace {

void touch(const fs::path& file) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "x";
}

std::vector<std::string> relpaths(const std::vector<UnpackedFile>& files) {
  std::vector<std::string> out;
  for (const UnpackedFile& f : files) out.push_back(f.relpath);
  return out;
}

}  // namespace

TEST_CASE("bundle_tree: the archive's single top directory named like the bundle is the bundle directory", "[layout]") {
  TempDir tmp;
  const fs::path unpack = tmp / "ESX-1.unpack";
  touch(unpack / "ESX-1" / "contents.xml");
  touch(unpack / "ESX-1" / "rpms" / "a.rpm");
  BundleTree tree = bundle_tree(unpack, "ESX-1", {{"ESX-1/contents.xml", 1, "h1"}, {"ESX-1/rpms/a.rpm", 1, "h2"}});
  CHECK(tree.dir == unpack / "ESX-1");
  CHECK(relpaths(tree.files) == std::vector<std::string>{"contents.xml", "rpms/a.rpm"});
  CHECK(tree.files[1].sha256 == "h2");
}

TEST_CASE("bundle_tree: several top-level entries, another name, a file or a link on top: the unpack directory itself",
          "[layout]") {
  TempDir tmp;
  const fs::path unpack = tmp / "ESX-1.unpack";
  std::vector<UnpackedFile> files;
  SECTION("several entries") {
    touch(unpack / "ESX-1" / "contents.xml");
    touch(unpack / "README");
    files = {{"ESX-1/contents.xml", 1, ""}, {"README", 1, ""}};
  }
  SECTION("one directory named otherwise") {
    touch(unpack / "patch" / "contents.xml");
    files = {{"patch/contents.xml", 1, ""}};
  }
  SECTION("a file named like the bundle") {
    touch(unpack / "ESX-1");
    files = {{"ESX-1", 1, ""}};
  }
  SECTION("a link named like the bundle") {
    touch(unpack / "real" / "contents.xml");
    fs::remove_all(unpack / "real");
    fs::create_directories(unpack);
    fs::create_directory_symlink("/", unpack / "ESX-1");
    files = {};
  }
  std::vector<std::string> before = relpaths(files);
  BundleTree tree = bundle_tree(unpack, "ESX-1", files);
  CHECK(tree.dir == unpack);
  CHECK(relpaths(tree.files) == before);
}

TEST_CASE("holds_nested_tree: the top directory, and at most the kept archive beside it", "[layout]") {
  TempDir tmp;
  const fs::path dir = tmp / "2007-03-29_ESX-1";
  touch(dir / "ESX-1" / "contents.xml");
  CHECK(holds_nested_tree(dir, "ESX-1", "ESX-1.tgz"));
  touch(dir / "ESX-1.tgz");
  CHECK(holds_nested_tree(dir, "ESX-1", "ESX-1.tgz"));
  touch(dir / "README");
  CHECK_FALSE(holds_nested_tree(dir, "ESX-1", "ESX-1.tgz"));
  CHECK_FALSE(holds_nested_tree(tmp / "flat", "ESX-1", "ESX-1.tgz"));  // missing
  touch(tmp / "flat" / "contents.xml");
  CHECK_FALSE(holds_nested_tree(tmp / "flat", "ESX-1", "ESX-1.tgz"));
}
