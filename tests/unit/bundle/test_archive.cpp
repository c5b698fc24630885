// bundle/archive: unpacking real archives (tar.gz, tar, zip), and refusing hostile ones by name without
// writing anything outside the target directory.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "esxmirror/bundle/archive.hpp"
#include "support/archive_builder.hpp"

namespace fs = std::filesystem;
using esxmirror::bundle::ArchiveError;
using esxmirror::bundle::unpack_archive;
using esxmirror::bundle::UnpackLimits;
using esxmirror::bundle::UnpackResult;
using esxmirror::testing::ArchiveEntry;
using esxmirror::testing::ArchiveFormat;
using esxmirror::testing::build_archive;
using esxmirror::testing::bundle_entries;
using Type = ArchiveEntry::Type;

namespace {

std::string unique_token() {
  std::random_device seed;
  return std::to_string(seed()) + std::to_string(seed());
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const char* extension(ArchiveFormat format) {
  switch (format) {
    case ArchiveFormat::tar_gz:
      return ".tgz";
    case ArchiveFormat::tar:
      return ".tar";
    case ArchiveFormat::zip:
      return ".zip";
  }
  return "";
}

// tmp/ESX-1.tgz (the archive), tmp/work/sentinel/ (must never change), tmp/work/ESX-1/ (the target).
// "../x" from the target lands in tmp/work, "../../x" in tmp: both are watched by snapshot().
class Sandbox {
 public:
  explicit Sandbox(ArchiveFormat format = ArchiveFormat::tar_gz)
      : root_(fs::temp_directory_path() / ("esxmirror-test-archive-" + unique_token())),
        archive_(root_ / (std::string("ESX-1") + extension(format))),
        target_(root_ / "work" / "ESX-1"),
        format_(format) {
    fs::create_directories(root_ / "work" / "sentinel");
    std::ofstream(root_ / "work" / "sentinel" / "keep.txt") << "sentinel";
  }
  ~Sandbox() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const fs::path& root() const { return root_; }
  const fs::path& archive() const { return archive_; }
  const fs::path& target() const { return target_; }

  void write_archive(const std::string& bytes) const { std::ofstream(archive_, std::ios::binary) << bytes; }
  void write_archive(const std::vector<ArchiveEntry>& entries) const { write_archive(build_archive(entries, format_)); }

  UnpackResult unpack(const UnpackLimits& limits = {}) const { return unpack_archive(archive_, target_, limits); }

  // Everything under the sandbox except the target directory and the archive: type, size, content.
  std::string snapshot() const {
    std::string out;
    for (auto it = fs::recursive_directory_iterator(root_); it != fs::recursive_directory_iterator(); ++it) {
      const fs::path& p = it->path();
      if (p == target_) {
        it.disable_recursion_pending();
        continue;
      }
      if (p == archive_) continue;
      out += p.lexically_relative(root_).string();
      const auto status = it->symlink_status();
      if (fs::is_symlink(status)) out += " -> " + fs::read_symlink(p).string();
      if (fs::is_regular_file(status)) out += " = " + slurp(p);
      out += "\n";
    }
    return out;
  }

  // Unpacks expecting a refusal; checks nothing changed outside the target and returns the message.
  std::string refusal(const std::vector<ArchiveEntry>& entries, const UnpackLimits& limits = {}) const {
    write_archive(entries);
    return refusal_of_written(limits);
  }
  std::string refusal_of_written(const UnpackLimits& limits = {}) const {
    const std::string before = snapshot();
    std::string message = "<no error>";
    try {
      unpack(limits);
    } catch (const ArchiveError& e) {
      message = e.what();
    }
    CHECK(snapshot() == before);
    return message;
  }
  // What the caller does after a refusal.
  void remove_target() const {
    std::error_code ignored;
    fs::remove_all(target_, ignored);
  }

 private:
  fs::path root_;
  fs::path archive_;
  fs::path target_;
  ArchiveFormat format_;
};

ArchiveEntry file(const std::string& path, const std::string& content = "data", int mode = 0644) {
  return {path, Type::file, content, "", mode};
}
ArchiveEntry dir(const std::string& path) { return {path, Type::directory, "", "", 0755}; }
ArchiveEntry symlink_entry(const std::string& path, const std::string& target) {
  return {path, Type::symlink, "", target, 0777};
}
ArchiveEntry hardlink_entry(const std::string& path, const std::string& target) {
  return {path, Type::hardlink, "", target, 0644};
}

std::uint64_t bytes_under(const fs::path& dir) {
  std::uint64_t total = 0;
  if (!fs::exists(dir)) return 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

std::string refused(const std::string& entry, const std::string& archive = "ESX-1.tgz") {
  return "archive " + archive + ": refused entry '" + entry + "': ";
}

}  // namespace

TEST_CASE("a bundle unpacks to exactly its files and bytes", "[bundle][archive]") {
  const auto format = GENERATE(ArchiveFormat::tar_gz, ArchiveFormat::tar, ArchiveFormat::zip);
  CAPTURE(extension(format));
  Sandbox box(format);
  const auto entries = bundle_entries("ESX-1000039", 300000, 7);
  box.write_archive(entries);
  const std::string before = box.snapshot();

  const UnpackResult result = box.unpack();

  CHECK(result.entries == entries.size());
  CHECK(result.notes.empty());
  std::uint64_t expected_bytes = 0;
  std::vector<std::string> expected_files;
  for (const auto& entry : entries) {
    const fs::path on_disk = box.target() / entry.path;
    if (entry.type == Type::directory) {
      CHECK(fs::is_directory(on_disk));
      continue;
    }
    expected_files.push_back(entry.path);
    expected_bytes += entry.content.size();
    REQUIRE(fs::is_regular_file(fs::symlink_status(on_disk)));
    CHECK(slurp(on_disk) == entry.content);
    CHECK((fs::status(on_disk).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read));
  }
  CHECK(result.bytes_written == expected_bytes);

  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(box.target())) {
    if (!entry.is_directory()) found.push_back(entry.path().lexically_relative(box.target()).string());
  }
  std::sort(found.begin(), found.end());
  std::sort(expected_files.begin(), expected_files.end());
  CHECK(found == expected_files);
  CHECK(box.snapshot() == before);
}

TEST_CASE("modification times of the archive are kept", "[bundle][archive]") {
  Sandbox box;
  box.write_archive({dir("ESX-1/"), file("ESX-1/a.rpm")});
  box.unpack();
  struct stat info {};
  REQUIRE(::stat((box.target() / "ESX-1/a.rpm").c_str(), &info) == 0);
  CHECK(info.st_mtime == 1175126400);  // what archive_builder stores
}

TEST_CASE("harmless names unpack: ./ prefixes, doubled slashes, links inside the bundle", "[bundle][archive]") {
  Sandbox box;
  box.write_archive({dir("./"), dir("./ESX-1/"), file("./ESX-1//a.rpm", "AAA"), dir("ESX-1/sub"),
                     file("ESX-1/sub/b.xml", "BBB"), symlink_entry("ESX-1/sub/up", "../a.rpm"),
                     symlink_entry("ESX-1/same", "sub/b.xml"), hardlink_entry("ESX-1/again.rpm", "ESX-1/a.rpm"),
                     hardlink_entry("ESX-1/again2.rpm", "./ESX-1/again.rpm")});
  const UnpackResult result = box.unpack();
  CHECK(result.entries == 9);
  CHECK(slurp(box.target() / "ESX-1/sub/up") == "AAA");
  CHECK(fs::read_symlink(box.target() / "ESX-1/sub/up") == "../a.rpm");
  CHECK(slurp(box.target() / "ESX-1/same") == "BBB");
  CHECK(fs::equivalent(box.target() / "ESX-1/again.rpm", box.target() / "ESX-1/a.rpm"));
  CHECK(fs::equivalent(box.target() / "ESX-1/again2.rpm", box.target() / "ESX-1/a.rpm"));
}

TEST_CASE("entries whose path leaves the bundle are refused by name", "[bundle][archive]") {
  const auto format = GENERATE(ArchiveFormat::tar_gz, ArchiveFormat::tar, ArchiveFormat::zip);
  CAPTURE(extension(format));
  const std::string name = std::string("ESX-1") + extension(format);
  Sandbox box(format);

  SECTION("../evil") {
    const auto message = box.refusal({file("ok.txt"), file("../evil", "pwned")});
    CHECK(message == refused("../evil", name) + "path leaves the bundle directory");
  }
  SECTION("a/../../evil") {
    const auto message = box.refusal({dir("a/"), file("a/../../evil", "pwned")});
    CHECK(message == refused("a/../../evil", name) + "path leaves the bundle directory");
  }
  SECTION("a '..' that stays inside is refused too") {
    const auto message = box.refusal({dir("a/"), file("a/../b", "x")});
    CHECK(message == refused("a/../b", name) + "path has a '..' component");
  }
  SECTION("../../evil beside the sandbox") {
    const auto message = box.refusal({file("../../evil", "pwned")});
    CHECK_THAT(message, Catch::StartsWith(refused("../../evil", name)));
  }
}

TEST_CASE("absolute entry paths are refused and nothing is written there", "[bundle][archive]") {
  const auto format = GENERATE(ArchiveFormat::tar_gz, ArchiveFormat::zip);
  Sandbox box(format);
  const fs::path evil = fs::temp_directory_path() / ("abs-evil-" + unique_token());
  const auto message = box.refusal({file(evil.string(), "pwned")});
  CHECK(message == refused(evil.string(), std::string("ESX-1") + extension(format)) + "absolute path");
  CHECK_FALSE(fs::exists(fs::symlink_status(evil)));
}

TEST_CASE("an empty entry name is refused", "[bundle][archive]") {
  Sandbox box(ArchiveFormat::tar);
  CHECK(box.refusal({file("", "x")}) == refused("", "ESX-1.tar") + "empty name");
  box.remove_target();
  // A name of only "." components normalises to nothing: for a file that is an empty name.
  CHECK(box.refusal({file(".", "x")}) == refused(".", "ESX-1.tar") + "empty name");
  box.remove_target();
  CHECK(box.refusal({symlink_entry("./.", "x")}) == refused("./.", "ESX-1.tar") + "empty name");
}

TEST_CASE("symlinks leading out of the bundle are refused", "[bundle][archive]") {
  Sandbox box;

  SECTION("link -> .. then link/evil: the link itself is refused") {
    const auto message = box.refusal({symlink_entry("link", ".."), file("link/evil", "pwned")});
    CHECK(message == refused("link") + "symlink target '..' leaves the bundle directory");
  }
  SECTION("deeper link climbing one level too many") {
    const auto message = box.refusal({dir("a/"), dir("a/b/"), symlink_entry("a/b/up", "../../..")});
    CHECK(message == refused("a/b/up") + "symlink target '../../..' leaves the bundle directory");
  }
  SECTION("absolute target") {
    const auto message = box.refusal({symlink_entry("etc", "/etc"), file("etc/evil", "pwned")});
    CHECK(message == refused("etc") + "symlink target '/etc' is absolute");
  }
  SECTION("two links that are harmless alone but escape together") {
    // p/q/s -> ../.. is the bundle root; p/q/t -> s/../.. would be root/../.. for the kernel.
    const auto message =
        box.refusal({dir("p/"), dir("p/q/"), symlink_entry("p/q/s", "../.."), symlink_entry("p/q/t", "s/../..")});
    CHECK(message == refused("p/q/t") + "symlink target 's/../..' has '..' after a name");
  }
  SECTION("zip with a symlink escape") {
    Sandbox zip(ArchiveFormat::zip);
    const auto message = zip.refusal({symlink_entry("link", "../../outside")});
    CHECK(message == refused("link", "ESX-1.zip") + "symlink target '../../outside' leaves the bundle directory");
  }
}

TEST_CASE("writing through an extracted symlink is refused", "[bundle][archive]") {
  Sandbox box;
  const auto message = box.refusal({dir("real/"), symlink_entry("link", "real"), file("link/evil", "x")});
  CHECK(message == refused("link/evil") + "it would be written through the symlink 'link'");
  CHECK_FALSE(fs::exists(box.target() / "real" / "evil"));
}

TEST_CASE("a symlink replaced by a file is fine", "[bundle][archive]") {
  Sandbox box;
  box.write_archive({file("target.txt", "T"), symlink_entry("name", "target.txt"), file("name", "own")});
  box.unpack();
  CHECK(fs::is_regular_file(fs::symlink_status(box.target() / "name")));
  CHECK(slurp(box.target() / "name") == "own");
  CHECK(slurp(box.target() / "target.txt") == "T");
}

TEST_CASE("hardlinks must name a file extracted earlier inside the bundle", "[bundle][archive]") {
  Sandbox box;

  SECTION("absolute target") {
    const auto message = box.refusal({hardlink_entry("passwd", "/etc/passwd")});
    CHECK(message == refused("passwd") + "hardlink target '/etc/passwd' is absolute");
  }
  SECTION("target outside") {
    std::ofstream(box.root() / "work" / "outside") << "secret";
    const auto message = box.refusal({hardlink_entry("h", "../outside")});
    CHECK(message == refused("h") + "hardlink target '../outside' leaves the bundle directory");
  }
  SECTION("target not extracted") {
    const auto message = box.refusal({hardlink_entry("h", "nothing-here")});
    CHECK(message == refused("h") + "hardlink target 'nothing-here' is not a file extracted before it");
  }
  SECTION("target that is a symlink now") {
    // Linking to a symlink would copy the link to another directory, where it could point elsewhere.
    const auto message = box.refusal({dir("d/"), file("d/f"), symlink_entry("d/f", ".."), hardlink_entry("h", "d/f")});
    CHECK(message == refused("h") + "hardlink target 'd/f' is not a file extracted before it");
  }
  SECTION("target that is a directory") {
    const auto message = box.refusal({dir("d/"), hardlink_entry("h", "d")});
    CHECK(message == refused("h") + "hardlink target 'd' is not a file extracted before it");
  }
}

TEST_CASE("devices and fifos are refused", "[bundle][archive]") {
  Sandbox box;
  SECTION("character device") {
    CHECK(box.refusal({file("ok"), {"dev/null", Type::char_device, "", "", 0666}}) ==
          refused("dev/null") + "character device");
    CHECK_FALSE(fs::exists(box.target() / "dev" / "null"));
  }
  SECTION("fifo") {
    CHECK(box.refusal({{"pipe", Type::fifo, "", "", 0644}}) == refused("pipe") + "fifo");
    CHECK_FALSE(fs::exists(box.target() / "pipe"));
  }
}

TEST_CASE("setuid, setgid and sticky bits are stripped and noted", "[bundle][archive]") {
  Sandbox box;
  box.write_archive({dir("ESX-1/"),
                     file("ESX-1/su", "#!/bin/sh\n", 04755),
                     file("ESX-1/sg", "x", 06711),
                     {"ESX-1/tmp", Type::directory, "", "", 01777},
                     file("ESX-1/ro", "r", 0444)});
  const UnpackResult result = box.unpack();

  auto mode_of = [&](const char* name) {
    struct stat info {};
    REQUIRE(::lstat((box.target() / name).c_str(), &info) == 0);
    return info.st_mode & 07777;
  };
  CHECK(mode_of("ESX-1/su") == 0755);
  CHECK(mode_of("ESX-1/sg") == 0711);
  CHECK(mode_of("ESX-1/tmp") == 0777);
  CHECK(mode_of("ESX-1/ro") == 0644);  // kept readable and removable by the mirror's owner
  CHECK(result.notes == std::vector<std::string>{"stripped setuid bit from ESX-1/su",
                                                 "stripped setuid and setgid bits from ESX-1/sg",
                                                 "stripped sticky bit from ESX-1/tmp"});
}

TEST_CASE("limits stop decompression bombs while they are written", "[bundle][archive]") {
  SECTION("ratio of written bytes to archive size") {
    Sandbox box;
    box.write_archive({dir("ESX-1/"), file("ESX-1/zeros.rpm", std::string(200u << 20, '\0'))});
    const auto archive_size = fs::file_size(box.archive());
    REQUIRE(archive_size < (2u << 20));
    UnpackLimits limits;
    limits.max_ratio = 100;
    const auto message = box.refusal_of_written(limits);
    CHECK_THAT(message, Catch::StartsWith(refused("ESX-1/zeros.rpm")) &&
                            Catch::Contains("more than 100 times the archive size"));
    CHECK(bytes_under(box.target()) <= archive_size * 100);
  }
  SECTION("total bytes written") {
    Sandbox box(ArchiveFormat::zip);
    box.write_archive({file("a.rpm", std::string(3u << 20, 'a')), file("b.rpm", std::string(3u << 20, 'b'))});
    UnpackLimits limits;
    limits.max_total_bytes = 5u << 20;
    limits.max_ratio = 1e9;
    const auto message = box.refusal_of_written(limits);
    CHECK(message == refused("b.rpm", "ESX-1.zip") + "unpacks to more than the limit of 5242880 bytes");
    CHECK(bytes_under(box.target()) <= limits.max_total_bytes);
  }
  SECTION("number of entries") {
    Sandbox box;
    std::vector<ArchiveEntry> entries;
    for (int i = 0; i < 1000; ++i) entries.push_back(file("f" + std::to_string(i), "x"));
    UnpackLimits limits;
    limits.max_entries = 100;
    const auto message = box.refusal(entries, limits);
    CHECK(message == refused("f100") + "the archive has more than 100 entries");
    CHECK(std::distance(fs::directory_iterator(box.target()), fs::directory_iterator()) == 100);
  }
  SECTION("just under the limits is fine") {
    Sandbox box;
    box.write_archive({file("a", std::string(1000, 'a'))});
    UnpackLimits limits;
    limits.max_total_bytes = 1000;
    limits.max_entries = 1;
    const UnpackResult result = box.unpack(limits);
    CHECK(result.bytes_written == 1000);
    CHECK(result.entries == 1);
  }
}

TEST_CASE("damaged archives and other files are reported as damaged", "[bundle][archive]") {
  Sandbox box;
  SECTION("truncated gzip") {
    const std::string whole = build_archive(bundle_entries("ESX-1", 200000, 3), ArchiveFormat::tar_gz);
    box.write_archive(whole.substr(0, whole.size() / 2));
    CHECK_THAT(box.refusal_of_written(), Catch::StartsWith("archive ESX-1.tgz is damaged: "));
  }
  SECTION("truncated zip") {
    Sandbox zip(ArchiveFormat::zip);
    const std::string whole = build_archive(bundle_entries("ESX-1", 200000, 3), ArchiveFormat::zip);
    zip.write_archive(whole.substr(0, whole.size() / 2));
    CHECK_THAT(zip.refusal_of_written(), Catch::StartsWith("archive ESX-1.zip is damaged: "));
  }
  SECTION("empty file") {
    box.write_archive(std::string());
    CHECK(box.refusal_of_written() == "archive ESX-1.tgz is damaged: the file is empty");
  }
  SECTION("an HTML page served instead of the archive") {
    box.write_archive(
        "<!DOCTYPE html>\n<html><head><title>Login</title></head>\n<body><p>Please log in.</p></body></html>\n");
    CHECK_THAT(box.refusal_of_written(), Catch::StartsWith("archive ESX-1.tgz is damaged: "));
  }
  SECTION("random bytes") {
    std::string noise(5000, '\0');
    std::mt19937 generator(1);
    for (char& c : noise) c = static_cast<char>(generator());
    box.write_archive(noise);
    CHECK_THAT(box.refusal_of_written(), Catch::StartsWith("archive ESX-1.tgz is damaged: "));
  }
  SECTION("an archive without entries") {
    box.write_archive(std::vector<ArchiveEntry>{});
    CHECK(box.refusal_of_written() == "archive ESX-1.tgz is damaged: it holds no entries");
  }
  SECTION("a missing file") {
    CHECK_THROWS_AS(box.unpack(), ArchiveError);
    CHECK_THROWS_WITH(box.unpack(), Catch::StartsWith("archive ESX-1.tgz cannot be read: "));
  }
}

TEST_CASE("the target directory must not exist yet", "[bundle][archive]") {
  Sandbox box;
  box.write_archive(bundle_entries("ESX-1", 1000, 1));
  fs::create_directories(box.target());
  try {
    box.unpack();
    FAIL("no error");
  } catch (const esxmirror::util::StorageError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("cannot unpack ESX-1.tgz into " + box.target().string() + ": "));
  }
}

TEST_CASE("entry names in messages stay on one line", "[bundle][archive]") {
  Sandbox box;
  const auto message = box.refusal({file("../evil\nsecond line", "x")});
  CHECK(message == refused("../evil\\x0asecond line") + "path leaves the bundle directory");
}

TEST_CASE("paths longer than PATH_MAX are refused", "[bundle][archive]") {
  Sandbox box;
  std::string name;
  for (int i = 0; i < 25; ++i) name += std::string(200, 'd') + "/";
  name += "file";
  CHECK(box.refusal({file(name, "x")}) == refused(name) + "path is too long");
}
