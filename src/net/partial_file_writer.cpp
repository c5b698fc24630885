#include "net/partial_file_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "net/partial_file.hpp"

namespace esxmirror::net::detail {

namespace {
constexpr std::size_t kHashChunk = 1u << 20;  // reading a partial's prefix to hash it
}

PartialFileWriter::PartialFileWriter(std::filesystem::path file, util::StreamHasher::Algorithms digests, bool durable,
                                     util::SerialWorker* hash_lane)
    : file_(std::move(file)), part_(partial_path(file_)), hasher_(digests, hash_lane), durable_(durable) {}

PartialFileWriter::~PartialFileWriter() { close(); }

std::optional<PartialFileWriter::Resume> PartialFileWriter::resumable(const std::filesystem::path& file,
                                                                      const std::string& masked_url,
                                                                      std::optional<std::uint64_t> expected_size) {
  std::error_code ec;
  const auto part = partial_path(file);
  const std::uint64_t size = std::filesystem::is_regular_file(part, ec) ? std::filesystem::file_size(part, ec) : 0;
  const auto record = read_partial_record(file);
  const std::string if_range = record ? if_range_value(record->validators) : std::string();
  const bool too_long = expected_size && size >= *expected_size;  // complete or wrong: nothing to ask for
  if (!ec && size > 0 && record && record->url == masked_url && !if_range.empty() && !too_long) {
    return Resume{size, if_range};
  }
  discard_partial(file);
  return std::nullopt;
}

WriterResult PartialFileWriter::io_error(const std::string& what) const {
  return {WriterResult::Kind::io_error, what + " " + part_.string() + ": " + std::strerror(errno)};
}

WriterResult PartialFileWriter::open_partial(int flags) {
  close();
  fd_.reset(::open(part_.c_str(), flags | O_CLOEXEC, 0666));
  if (!fd_.valid()) return io_error(flags & O_TRUNC ? "cannot write" : "cannot open");
  return {};
}

WriterResult PartialFileWriter::resume(std::uint64_t offset) {
  if (auto opened = open_partial(O_RDWR); !opened.ok()) return opened;
  hasher_.reset();
  std::vector<char> chunk(kHashChunk);
  std::uint64_t left = offset;
  while (left > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
    const ssize_t got = ::read(fd_.get(), chunk.data(), want);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return io_error("cannot read");
    if (got == 0) break;
    hasher_.update(chunk.data(), static_cast<std::size_t>(got));
    left -= static_cast<std::uint64_t>(got);
  }
  if (left > 0) {
    close();
    return {WriterResult::Kind::restart, "the partial file " + part_.string() + " shrank while resuming"};
  }
  if (::lseek(fd_.get(), static_cast<off_t>(offset), SEEK_SET) < 0 ||
      ::ftruncate(fd_.get(), static_cast<off_t>(offset)) != 0) {
    return io_error("cannot write");
  }
  size_ = offset;
  resumed_ = true;
  return {};
}

WriterResult PartialFileWriter::start(const std::string& masked_url, const Validators& validators) {
  remove_partial_record(file_);
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path().empty() ? "." : file_.parent_path(), ec);
  if (auto opened = open_partial(O_WRONLY | O_CREAT | O_TRUNC); !opened.ok()) return opened;
  hasher_.reset();
  size_ = 0;
  resumed_ = false;
  if (!if_range_value(validators).empty()) {
    try {
      write_partial_record(file_, {masked_url, validators});
    } catch (const std::exception& e) {
      return {WriterResult::Kind::io_error, e.what()};
    }
  }
  return {};
}

WriterResult PartialFileWriter::append(const char* data, std::size_t size) {
  if (!fd_.valid()) return {WriterResult::Kind::io_error, "cannot write " + part_.string() + ": not open"};
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd_.get(), data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("cannot write");
    done += static_cast<std::size_t>(n);
  }
  hasher_.update(data, size);
  size_ += size;
  return {};
}

WriterResult PartialFileWriter::commit() {
  if (!fd_.valid()) return {WriterResult::Kind::io_error, "cannot write " + part_.string() + ": not open"};
  try {
    digests_ = hasher_.finish();  // waits for the hash lane
  } catch (const std::exception& e) {
    return {WriterResult::Kind::io_error, "cannot hash " + part_.string() + ": " + e.what()};
  }
  if (durable_ && ::fsync(fd_.get()) != 0) return io_error("cannot write");
  if (fd_.close() != 0) return io_error("cannot write");
  std::error_code ec;
  std::filesystem::rename(part_, file_, ec);
  if (ec) return {WriterResult::Kind::io_error, "cannot rename to " + file_.string() + ": " + ec.message()};
  remove_partial_record(file_);
  return {};
}

void PartialFileWriter::close() noexcept { fd_.reset(); }

void PartialFileWriter::discard() noexcept {
  close();
  discard_partial(file_);
}

}  // namespace esxmirror::net::detail
