// libFuzzer target: secure bundle unpacking (bundle::unpack_archive, DESIGN §6).
//
// Each input is written to a temp file, checked by verify_gzip (the CRC check a bundle without an md5
// gets), then unpacked with small limits into a fresh directory twice: from the file (unpack_archive)
// and streamed in odd-sized chunks as a download delivers it (unpack_stream). Refusals (PatchError) and
// run-level errors (Error) are fine; anything else thrown, a crash, or a trace of the unpack outside its
// target directory is a finding:
//   - the work area holds exactly what we put there (the archive, the target's parent, the target);
//   - a path the seeds use as an absolute entry name does not appear;
//   - after a successful unpack, the tree holds only files, directories and symlinks, no
//     setuid/setgid/sticky bit, every symlink resolves inside the target, and every hard-linked file's
//     links are all inside the target (no link to a file elsewhere);
//   - after a successful unpack, the files it reports (what the catalog records and `verify` checks)
//     are exactly the regular files on disk, with their sizes and sha256.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>

#include "esxmirror/bundle/archive.hpp"
#include "esxmirror/bundle/gzip_check.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/util/hash.hpp"

namespace fs = std::filesystem;

namespace {

// Seeds name this absolute path in entries, hardlinks and symlinks; it must never appear.
constexpr const char* kEscapeCanary = "/tmp/esxmirror-fuzz-escape";

struct WorkArea {
  fs::path base;           // $TMPDIR/esxmirror-fuzz-unpack.XXXXXX
  fs::path in;             // base/in: holds only the archive
  fs::path archive;        // base/in/ESX-1000039.tgz
  fs::path out;            // base/out: holds only the target, if anything
  fs::path target;         // base/out/ESX-1000039
  fs::path stream_target;  // base/out/ESX-1000039.stream

  WorkArea() {
    const char* tmp = std::getenv("TMPDIR");
    std::string name = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/esxmirror-fuzz-unpack.XXXXXX";
    if (::mkdtemp(name.data()) == nullptr) {
      std::perror("fuzz_unpack: mkdtemp");
      std::abort();
    }
    base = fs::canonical(name);
    in = base / "in";
    out = base / "out";
    archive = in / "ESX-1000039.tgz";
    target = out / "ESX-1000039";
    stream_target = out / "ESX-1000039.stream";
    fs::create_directory(in);
    fs::create_directory(out);
  }
  ~WorkArea() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
};

WorkArea& work() {
  static WorkArea area;
  return area;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_unpack: %s\n", what.c_str());
  std::abort();
}

// The names directly inside `dir`.
std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.insert(it->path().filename().string());
  }
  if (ec) fail("cannot list " + dir.string() + ": " + ec.message());
  return names;
}

bool inside(const fs::path& root, const fs::path& path) {
  const auto rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

// What a successful unpack left in the target, and what it says it left.
void check_tree(const fs::path& target, const esxmirror::bundle::UnpackResult& result) {
  std::map<ino_t, std::pair<nlink_t, nlink_t>> hardlinks;  // inode -> (st_nlink, links seen inside)
  std::set<std::string> on_disk;                           // regular files, relative to target
  std::error_code ec;
  for (fs::recursive_directory_iterator it(target, fs::directory_options::none, ec), end; !ec && it != end;
       it.increment(ec)) {
    const fs::path& p = it->path();
    struct stat info {};
    if (::lstat(p.c_str(), &info) != 0) fail("cannot lstat " + p.string() + ": " + std::strerror(errno));
    if (info.st_mode & (S_ISUID | S_ISGID | S_ISVTX)) fail("special mode bit kept on " + p.string());
    if (S_ISLNK(info.st_mode)) {
      std::error_code canon_ec;
      const fs::path resolved = fs::weakly_canonical(p, canon_ec);
      // A link loop cannot be resolved; it cannot lead out either.
      if (!canon_ec && resolved != target && !inside(target, resolved)) {
        fail("symlink " + p.string() + " resolves outside the target: " + resolved.string());
      }
    } else if (S_ISREG(info.st_mode)) {
      on_disk.insert(p.lexically_relative(target).generic_string());
      if (info.st_nlink > 1) {
        auto& [total, seen] = hardlinks[info.st_ino];
        total = info.st_nlink;
        ++seen;
      }
    } else if (!S_ISDIR(info.st_mode)) {
      fail("unexpected file type at " + p.string());
    }
  }
  if (ec) fail("cannot walk " + target.string() + ": " + ec.message());
  for (const auto& [inode, counts] : hardlinks) {
    if (counts.first != counts.second) {
      fail("a file in the target is hard-linked from outside it (inode " + std::to_string(inode) + ")");
    }
  }

  std::set<std::string> reported;
  for (const auto& file : result.files) {
    if (!reported.insert(file.relpath).second) fail("file reported twice: " + file.relpath);
    const fs::path p = target / file.relpath;
    if (!on_disk.count(file.relpath)) fail("reported file is not a regular file in the target: " + file.relpath);
    const auto size = fs::file_size(p);
    if (size != file.size) {
      fail("reported size of " + file.relpath + " is " + std::to_string(file.size) + ", on disk " +
           std::to_string(size));
    }
    const std::string sha256 = esxmirror::util::hash_file(p).sha256;
    if (sha256 != file.sha256) fail("reported sha256 of " + file.relpath + " differs from the file on disk");
  }
  for (const auto& path : on_disk) {
    if (!reported.count(path)) fail("regular file not reported: " + path);
  }
}

// One unpack and every check after it.
template <typename Unpack>
void unpack_and_check(WorkArea& w, const fs::path& target, Unpack&& unpack) {
  std::optional<esxmirror::bundle::UnpackResult> result;
  try {
    result = unpack(target);
  } catch (const esxmirror::PatchError&) {
  } catch (const esxmirror::Error&) {
  }

  if (listing(w.base) != std::set<std::string>{"in", "out"}) fail("something was written beside in/ and out/");
  if (listing(w.in) != std::set<std::string>{w.archive.filename().string()}) {
    fail("something was written beside the archive");
  }
  const auto out = listing(w.out);
  if (!out.empty() && out != std::set<std::string>{target.filename().string()}) {
    fail("something was written beside the target directory");
  }
  struct stat info {};
  if (::lstat(kEscapeCanary, &info) == 0) fail(std::string("an entry escaped to ") + kEscapeCanary);
  if (result) check_tree(target, *result);

  std::error_code ec;
  fs::remove_all(target, ec);
  if (ec) fail("cannot remove the target: " + ec.message());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  WorkArea& w = work();
  {
    std::ofstream file(w.archive, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!file) fail("cannot write " + w.archive.string());
  }

  try {
    esxmirror::bundle::verify_gzip(w.archive, w.archive.filename().string());
  } catch (const esxmirror::PatchError&) {
  }

  esxmirror::bundle::UnpackLimits limits;
  limits.max_total_bytes = 1 << 20;
  limits.max_entries = 64;
  limits.max_ratio = 200.0;

  unpack_and_check(w, w.target, [&](const fs::path& target) {
    return esxmirror::bundle::unpack_archive(w.archive, target, limits);
  });

  // The same bytes as a download delivers them: in chunks that straddle every block boundary.
  std::size_t offset = 0;
  const esxmirror::bundle::ArchiveSource source = [&](void* buffer, std::size_t capacity) -> std::size_t {
    const std::size_t n = std::min({capacity, size - offset, std::size_t{509}});
    if (n > 0) std::memcpy(buffer, data + offset, n);
    offset += n;
    return n;
  };
  unpack_and_check(w, w.stream_target, [&](const fs::path& target) {
    return esxmirror::bundle::unpack_stream(source, w.archive.filename().string(), size, target, limits);
  });
  return 0;
}
